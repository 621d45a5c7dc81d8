"""Typed JSON for frozen dataclasses, the one schema of every JSON file samplecast reads (plan documents, the files of
a forecaster folder): :func:`dump` writes one as plain JSON values and :func:`load` reads one back, checking every
field against its type hint and limits, with one problem per line naming the field's path
(``curves[0].observed.n: expected a list of numbers, got str``).

Limits ride on a field's metadata: ``UNIT`` (a Dice or a share, in [0, 1]), ``SIZE`` (not negative), ``POSITIVE``,
``FRACTION`` (in (0, 1]), ``NON_EMPTY`` (a list of at least one item), ``max_length`` (strings; default
:data:`MAX_STRING`), ``required`` (a field with a default for code that a file must still give). A field marked
``OMIT_EMPTY`` (an optional part added to the layout later) is left out of the JSON while it is ``None`` or empty, so
files without that part are written as before it existed. A class lists in ``SAME_LENGTH`` the fields that are
columns of one table and must be as long as each other. A bare ``dict`` field is carried as it is (any JSON object).
:func:`read_json` reads a JSON file safely (a regular file of bounded size, any decoding problem one line).
"""

from __future__ import annotations

import functools
import json
import math
import types
import typing
from dataclasses import MISSING, fields, is_dataclass
from pathlib import Path
from typing import Any

from samplecast.errors import InputError, raise_if_any
from samplecast.files import check_input_file

#: The longest string a field holds unless its metadata says otherwise.
MAX_STRING = 5000
#: The largest JSON file read (a plan document or a forecaster's summary is well under a megabyte).
MAX_JSON_BYTES = 64 << 20
#: Most problems listed; more are counted in one last line.
MAX_PROBLEMS = 20
UNIT = {"range": (0.0, 1.0)}
SIZE = {"range": (0.0, math.inf)}
FRACTION = {"range": (0.0, 1.0), "open_low": True}
POSITIVE = {"range": (0.0, math.inf), "open_low": True}
NON_EMPTY = {"min_items": 1}
OMIT_EMPTY = {"omit_empty": True}

_NAMES = {float: "a number", int: "a whole number", str: "a string", bool: "true or false", type(None): "null"}
_PLURALS = {float: "numbers", int: "whole numbers", str: "strings", bool: "booleans", type(None): "nulls"}


def dump(value: Any) -> Any:
    """A dataclass (and the tuples and dicts in it) as plain JSON values: objects, lists, numbers, strings, null."""
    if is_dataclass(value):
        return {f.name: dump(getattr(value, f.name)) for f in fields(value)
                if not (f.metadata.get("omit_empty") and getattr(value, f.name) in (None, ()))}
    if isinstance(value, (tuple, list)):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {k: dump(v) for k, v in value.items()}
    return value


def read_json(path: str | Path, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The JSON values in the regular file ``path`` (checked to be one, and no larger than ``max_bytes``, before it is
    read: a FIFO or a device would hang or never end).

    Raises:
        InputError: one line naming ``path``: missing, not a regular file, too large, not UTF-8 JSON, nested too deep.
    """
    path = check_input_file(path, "a JSON file", max_bytes)
    try:
        return json.loads(path.read_bytes().decode())
    except ValueError as exc:  # not JSON, not UTF-8, an integer of more digits than Python reads
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise InputError(f"{path}: not valid JSON (nested too deep)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None


def load(cls: type, value: Any, origin: str) -> Any:
    """Read an instance of the dataclass ``cls`` from JSON values.

    Raises:
        InputError: one line per problem, each ``<origin>: <field path>: <what is wrong>``.
    """
    problems: list[str] = []
    result = _read(cls, value, "", {}, problems)
    lines = [f"{origin}: {p}" for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        lines.append(f"{origin}: and {len(problems) - MAX_PROBLEMS:,} more problems")
    raise_if_any(lines)
    return result


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _describe(tp: Any, plural: bool = False) -> str:
    args = typing.get_args(tp)
    if _is_union(tp):
        return " or ".join(_describe(a, plural) for a in args)
    if typing.get_origin(tp) is tuple and args[-1:] == (Ellipsis,):
        return ("lists" if plural else "a list") + f" of {_describe(args[0], True)}"
    if typing.get_origin(tp) is tuple:
        return ("lists" if plural else "a list") + f" of {len(args)}"
    if is_dataclass(tp) or tp is dict or typing.get_origin(tp) is dict:
        return "objects" if plural else "an object"
    return (_PLURALS if plural else _NAMES)[tp]


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _got(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _read(tp: Any, value: Any, path: str, meta: dict, problems: list[str]) -> Any:
    """``value`` as type ``tp``; on a problem, appends it and returns ``None``."""
    where = path or "document"
    if _is_union(tp):
        if value is None:
            if type(None) in typing.get_args(tp):
                return None
            problems.append(f"{where}: expected {_describe(tp)}, got null")
            return None
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(options) == 1:  # a wrong type is named with its alternative: "expected a number or null"
            trial = []
            result = _read(options[0], value, path, meta, trial)
            wrong = f"{where}: expected {_describe(options[0])}, got "
            problems.extend(f"{where}: expected {_describe(tp)}, got {p[len(wrong):]}" if p.startswith(wrong) else p
                            for p in trial)
            return result
        for option in options:
            trial: list[str] = []
            result = _read(option, value, path, meta, trial)
            if not trial:
                return result
        problems.append(f"{where}: expected {_describe(tp)}, got {_got(value)}")
        return None
    if is_dataclass(tp):
        return _read_object(tp, value, path, problems)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple:
        return _read_list(tp, args, value, path, meta, problems)
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{where}: expected an object, got {_got(value)}")
            return None
        if tp is dict:
            return value
        return {k: _read(args[1], v, f"{where}.{k}", {}, problems) for k, v in value.items()}
    return _read_scalar(tp, value, where, meta, problems)


def _read_list(tp: Any, args: tuple, value: Any, path: str, meta: dict, problems: list[str]) -> tuple | None:
    where = path or "document"
    if not isinstance(value, list):
        problems.append(f"{where}: expected {_describe(tp)}, got {_got(value)}")
        return None
    if args[-1:] == (Ellipsis,):
        if len(value) < meta.get("min_items", 0):
            problems.append(f"{where}: expected at least {meta['min_items']} item, got none")
        return tuple(_read(args[0], v, f"{where}[{i}]", meta, problems) for i, v in enumerate(value))
    if len(value) != len(args):
        problems.append(f"{where}: expected {_describe(tp)}, got a list of {len(value)}")
        return None
    return tuple(_read(a, v, f"{where}[{i}]", meta, problems) for i, (a, v) in enumerate(zip(args, value)))


def _read_scalar(tp: type, value: Any, where: str, meta: dict, problems: list[str]) -> Any:
    numeric = tp in (int, float)
    if isinstance(value, bool) != (tp is bool) or not isinstance(value, (int, float) if tp is float else tp):
        problems.append(f"{where}: expected {_describe(tp)}, got {_got(value)}")
        return None
    if numeric and isinstance(value, int) and abs(value) > 2**1000:  # beyond what a float holds
        problems.append(f"{where}: expected a finite number, got a whole number of {value.bit_length()} bits")
        return None
    if numeric and not math.isfinite(value):
        problems.append(f"{where}: expected a finite number, got {value}")
        return None
    low, high = meta.get("range", (-math.inf, math.inf))
    if numeric and not ((low < value if meta.get("open_low") else low <= value) and value <= high):
        if high < math.inf:
            bounds = f"is outside {'(' if meta.get('open_low') else '['}{low:g}, {high:g}]"
        else:
            bounds = "must be positive" if meta.get("open_low") else "must not be negative"
        problems.append(f"{where}: {value:g} {bounds}")
        return None
    if tp is str and len(value) > meta.get("max_length", MAX_STRING):
        problems.append(f"{where}: {len(value):,} characters, more than the {meta.get('max_length', MAX_STRING):,} "
                        "allowed")
        return None
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The type hints of a dataclass, resolved once (resolving them for every object read was most of the time)."""
    return typing.get_type_hints(cls)


def _read_object(cls: type, value: Any, path: str, problems: list[str]) -> Any:
    where = path or "document"
    if not isinstance(value, dict):
        problems.append(f"{where}: expected an object, got {_got(value)}")
        return None
    hints = _hints(cls)
    before = len(problems)
    values = {}
    for f in fields(cls):
        if f.name in value:
            values[f.name] = _read(hints[f.name], value[f.name], _join(path, f.name), dict(f.metadata), problems)
        elif (f.default is MISSING and f.default_factory is MISSING) or f.metadata.get("required"):
            problems.append(f"{_join(path, f.name)}: missing")
    known = {f.name for f in fields(cls)}
    problems.extend(f"{_join(path, str(k))}: not a field of this file" for k in value if k not in known)
    lengths = {name: len(values[name]) for name in getattr(cls, "SAME_LENGTH", ()) if values.get(name) is not None}
    if len(set(lengths.values())) > 1:
        problems.append(f"{where}: {', '.join(lengths)} must be as long as each other (got "
                        f"{', '.join(str(n) for n in lengths.values())})")
    if len(problems) > before:
        return None
    try:
        return cls(**values)
    except InputError as exc:
        problems.extend(f"{path}: {line}" if path else line for line in exc.problems)
        return None
