"""The inputs of the bad-input audit (:mod:`input_audit`): small curves tables, a valid plan document and the
shipped forecaster folder, and the seeded mutations of each (a JSON field dropped, retyped, NaN, huge or nested
deep; a ``.npz`` member truncated, retyped, NaN or declaring 10^14 elements), each a :class:`Case` of the CLI."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "src" / "samplecast" / "assets"
CLI = [sys.executable, "-c", "import sys; from samplecast.cli import main; sys.exit(main())"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src"),
       "COLUMNS": "100", "NO_COLOR": "1"}
Check = Callable[[Any], "str | None"]  # a reason the answer is wrong, or None


@dataclass
class Case:
    """One invocation of the CLI: the kind of input, what was done to it, the arguments, and what an answer must
    satisfy."""

    kind: str
    name: str
    args: list[str]
    check: Check | None = None
    inputs: list[Path] = field(default_factory=list)  # files that must be unchanged afterwards
    output: Path | None = None  # a PDF or JSON the case must write when it succeeds


SIZES = (10, 20, 40, 80, 160)


def curves_csv(path: Path, rows: list[dict] | None = None, label: str = "polyps") -> Path:
    """Write ``rows`` (default: one rising curve named ``label``) as a curves table at ``path``."""
    rows = rows if rows is not None else [{"dataset": label, "n_train": n, "dice": round(0.8 - 1.2 * n ** -0.5, 4)}
                                          for n in SIZES]
    import pandas as pd

    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def pdf_text(path: Path) -> str:
    """The text of the PDF at ``path``."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def plan_document(work: Path) -> dict:
    """A valid plan document of two curves (``forecast --json``), the seed of the plan fuzz."""
    rows = [{"dataset": "polyps", "depth": d, "n_train": n, "dice": round(a - 1.2 * n ** -0.5, 4)}
            for d, a in ((3, 0.8), (4, 0.85)) for n in SIZES]
    table = curves_csv(work / "plan_seed.csv", rows)
    subprocess.run([*CLI, "forecast", str(table), "--method", "pow2", "--target-dice", "0.7", "--pool-size", "2000",
                    "--cost-per-case", "3", "--json", str(work / "plan_seed.json")], check=True, env=ENV,
                   capture_output=True)
    return json.loads((work / "plan_seed.json").read_text())


def _paths(value, prefix=()):
    """Every path into nested JSON values (keys and list indices)."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:4]):
            yield from _paths(v, (*prefix, i))


DEEP = "__DEEP__"
MUTATIONS = ("drop", "str", "list", "object", "null", "bool", "int", "nan", "inf", "huge", "negative", "long",
             "deep", "empty")


def mutate(document, rng: random.Random) -> tuple[str, str]:
    """Apply one random mutation to ``document`` in place; returns its name and the JSON text to write."""
    paths = [p for p in _paths(document) if p]
    path = rng.choice(paths)
    kind = rng.choice(MUTATIONS)
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    key = path[-1]
    new = {"str": "x", "list": [1, 2], "object": {"a": 1}, "null": None, "bool": True, "int": 7,
           "nan": float("nan"), "inf": float("inf"), "huge": 1e308, "negative": -5, "long": "y" * 1_000_000,
           "deep": DEEP, "empty": []}.get(kind)
    if kind == "drop" and isinstance(parent, dict):
        del parent[key]
    elif kind == "drop":
        parent.pop(key)
    else:
        parent[key] = new
    text = json.dumps(document, allow_nan=True)
    if kind == "deep":
        text = text.replace(json.dumps(DEEP), "[" * 100_000 + "]" * 100_000)
    return f"{kind} {'.'.join(map(str, path))}", text


def _rows(document) -> list[dict]:
    """Every object in the backtest summary that looks like a table row (has a ``method``)."""
    found = []

    def walk(value):
        if isinstance(value, dict):
            if "method" in value:
                found.append(value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
    walk(document)
    return found


def drop_in_rows(document, key) -> None:
    """Remove ``key`` from every row of a backtest summary."""
    for row in _rows(document):
        row.pop(key, None)


def set_in_rows(document, key, value) -> None:
    """Set ``key`` to ``value`` in every row of a backtest summary that has it."""
    for row in _rows(document):
        if key in row:
            row[key] = value


def seal(folder: Path, build_id: str | None = None) -> None:
    """Record the folder's current files in its ``build.json`` (a tampered folder that looks intact)."""
    path = folder / "build.json"
    record = json.loads(path.read_text())
    for name in record["files"]:
        if (folder / name).is_file():
            record["files"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    if build_id:
        record["build_id"] = build_id
    path.write_text(json.dumps(record))


def _rewrite_npz(path: Path, change) -> None:
    """Rewrite the ``.npz`` archive ``path`` with its members (raw ``.npy`` bytes by name) as ``change`` leaves them."""
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    members = change(members) or members
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def huge_member(path: Path) -> None:
    """Make the first member of the ``.npz`` at ``path`` declare 10^14 float32 elements in its header."""

    def change(members):
        name = sorted(members)[0]
        header = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000000,), }"
        header = header + " " * (63 - (len(header) + 10) % 64) + "\n"
        members[name] = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + b"\0" * 64
    _rewrite_npz(path, change)


def scale_member(path: Path, factor: float) -> None:
    """Multiply every float member of the ``.npz`` at ``path`` by ``factor`` (finite nonsense weights)."""
    import numpy as np

    data = dict(np.load(path))
    data = {k: v * factor if v.dtype.kind == "f" else v for k, v in data.items()}
    np.savez(path, **data)


def npz_mutation(path: Path, rng: random.Random) -> str:
    """Apply one random mutation to the ``.npz`` at ``path``; returns its name."""
    import numpy as np

    kind = rng.choice(("truncate", "dtype", "nan", "drop", "shape", "huge", "garbage", "empty"))
    if kind == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: rng.randrange(len(data))])
    elif kind == "garbage":
        path.write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "huge":
        huge_member(path)
    else:
        data = dict(np.load(path))
        name = rng.choice(sorted(data))
        if kind == "dtype":
            data[name] = data[name].astype(rng.choice(("int64", "float64", "complex64", "U3")))
        elif kind == "nan":
            data[name] = data[name].copy()
            data[name].flat[0] = np.nan
        elif kind == "drop":
            del data[name]
        else:
            data[name] = data[name].reshape(-1)[:-1] if data[name].size > 1 else data[name][:0]
        buffer = io.BytesIO()
        np.savez(buffer, **data)
        path.write_bytes(buffer.getvalue())
        kind = f"{kind} {name}"
    return f"surrogate.npz {kind}"


def fuzz_plans(work: Path, plan: dict, rng: random.Random, count: int) -> list[Case]:
    """``count`` plan documents, each ``plan`` with one mutation, for ``report --plan``."""
    cases = []
    pdf = work / "fuzz.pdf"
    for i in range(count):
        doc = copy.deepcopy(plan)
        name, text = mutate(doc, rng)
        path = work / f"fuzz_plan_{i}.json"
        path.write_text(text)
        cases.append(Case("plan (fuzz)", name, ["report", "--plan", str(path), "-o", str(pdf)], output=pdf))
    return cases


def fuzz_folders(work: Path, table: Path, rng: random.Random, count: int) -> list[Case]:
    """``count`` copies of the shipped forecaster with one file mutated (most resealed in ``build.json``, so the
    schema checks rather than the checksums must catch them), for ``forecast --forecaster``."""
    cases = []
    files = ("ensemble.json", "surrogate.json", "backtest_summary.json", "build.json", "surrogate.npz")
    for i in range(count):
        folder = work / f"fuzz_forecaster_{i}"
        shutil.copytree(ASSETS, folder)
        target = rng.choice(files)
        reseal = target != "build.json" and rng.random() < 0.7
        if target == "surrogate.npz":
            name = npz_mutation(folder / target, rng)
        elif rng.random() < 0.1:
            (folder / target).unlink()
            name = f"{target} deleted"
        else:
            doc = json.loads((folder / target).read_text())
            name, text = mutate(doc, rng)
            (folder / target).write_text(text)
            name = f"{target} {name}"
        if reseal:
            seal(folder)
        method = rng.choice(("pow2", "lstm", "ensemble"))
        cases.append(Case("forecaster (fuzz)", f"{name}{' (resealed)' if reseal else ''}, --method {method}",
                          ["forecast", str(table), "--method", method, "--forecaster", str(folder)]))
    return cases


def fuzz_tables(work: Path, rng: random.Random, count: int) -> list[Case]:
    """``count`` curves tables (two configurations, two seeds) with one or two mutations of cells, columns, rows or
    bytes, for ``forecast``, ``report`` or ``backtest``."""
    import pandas as pd

    base = pd.DataFrame([{"dataset": "polyps", "depth": d, "seed": s, "n_train": n,
                          "dice": round(a - 1.2 * n ** -0.5 + 0.003 * s, 4)}
                         for d, a in ((3, 0.8), (4, 0.85)) for s in (0, 1) for n in SIZES])
    cases = []
    for i in range(count):
        frame = base.copy().astype(object)
        kinds = rng.sample(("drop", "cell", "duplicate", "rows", "shuffle", "encoding", "separator", "garbage",
                            "bom", "crlf", "nul", "quote"), k=rng.choice((1, 1, 2)))
        text_changes, names = [], []
        for kind in kinds:
            names.append(kind)
            if kind == "drop":
                column = rng.choice(list(frame.columns))
                frame = frame.drop(columns=column)
                names[-1] = f"no {column} column"
            elif kind == "cell":
                column = rng.choice(list(frame.columns))
                value = rng.choice(("nan", "inf", "-inf", "abc", "", "-3", "0", "1.5", "1e400", "10.5",
                                    "99999999999999999999", "[/]", "1e-300", "\u202e", "None", "True"))
                frame.loc[rng.randrange(len(frame)), column] = value
                names[-1] = f"{column}={value!r}"
            elif kind == "duplicate":
                frame = pd.concat([frame, frame.iloc[:3]])
            elif kind == "rows":
                frame = frame.iloc[: rng.choice((0, 1, 2))]
                names[-1] = f"{len(frame)} rows"
            elif kind == "shuffle":
                frame = frame.sample(frac=1, random_state=i)
            else:
                text_changes.append(kind)
        text = frame.to_csv(index=False)
        data = text.encode()
        for kind in text_changes:
            if kind == "encoding":
                data = data.replace(b"polyps", "p\xf6lyps".encode("latin-1"))
            elif kind == "separator":
                data = data.replace(b",", b";")
            elif kind == "garbage":
                data = bytes(rng.randrange(256) for _ in range(2000))
            elif kind == "bom":
                data = b"\xef\xbb\xbf" + data
            elif kind == "crlf":
                data = data.replace(b"\n", b"\r\n")
            elif kind == "nul":
                data = data[:40] + b"\0" + data[40:]
            elif kind == "quote":
                data = data.replace(b"polyps", b'"polyps', 1)
        path = work / f"fuzz_table_{i}.csv"
        path.write_bytes(data)
        command = rng.choice(("forecast", "forecast", "report", "backtest"))
        args = {"forecast": ["forecast", str(path), "--method", "pow2", "--target-dice", "0.75", "--pool-size",
                             "3000"],
                "report": ["report", str(path), "--method", "pow2", "-o", str(work / "fuzz_table.pdf")],
                "backtest": ["backtest", str(path), "--methods", "pow2"]}[command]
        cases.append(Case("curves table (fuzz)", f"{command}: {', '.join(names)}", args, inputs=[path]))
    return cases
