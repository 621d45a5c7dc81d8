"""Option types of the command line: each converts and checks one value before any work starts."""

from __future__ import annotations

import math
import os
from pathlib import Path

import click

from samplecast.errors import InputError
from samplecast.files import output_file_problem


def refuse_overwriting_inputs(output: Path | None, *inputs: Path | None) -> None:
    """Refuse, before any work, an output file that is one of the inputs (the same path, or another name of the same
    file): writing it would destroy what the command reads."""
    if output is None:
        return
    for given in (path for path in inputs if path is not None):
        same = (os.path.samefile(output, given) if output.exists() and given.exists()
                else output.resolve() == given.resolve())
        if same:
            raise InputError(f"{output}: is also an input of this command ({given}); write the result elsewhere")


class CommaList(click.ParamType):
    """A comma-separated list of at least one item, e.g. ``0.1,0.2,0.5``; ``kind`` converts each item (a Python type,
    or a :class:`click.Choice` of the names allowed), and with ``minimum`` each must be at least that (other range
    checks belong to the library that uses the values)."""

    def __init__(self, kind: type | click.Choice = float, minimum: float | None = None):
        self.kind = kind
        self.minimum = minimum
        item = "name" if isinstance(kind, click.Choice) else kind.__name__
        self.name = f"{item}[,{item}...]"

    def convert(self, value, param, ctx):
        if isinstance(value, (list, tuple)):
            return list(value)
        texts = [item.strip() for item in str(value).split(",") if item.strip()]
        if isinstance(self.kind, click.Choice):
            items = [self.kind.convert(text, param, ctx) for text in texts]
        else:
            try:
                items = [self.kind(text) for text in texts]
            except ValueError:
                self.fail(f"{value!r} is not a comma-separated list of {self.kind.__name__} values", param, ctx)
        if not items:
            self.fail(f"{value!r} holds no item; expected e.g. 1,2,3", param, ctx)
        if self.minimum is not None and not all(x >= self.minimum for x in items):  # NaN fails too
            self.fail(f"{value!r}: every value must be a number of at least {self.minimum:g}", param, ctx)
        return items


class FiniteRange(click.FloatRange):
    """A float range that also refuses ``nan`` and ``inf`` (which compare false with every bound)."""

    def convert(self, value, param, ctx):
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


class ShortfallCost(click.ParamType):
    """What missing the target costs: an amount (``50000``) or a multiple of the pool's annotation cost (``3x``),
    checked by the planner's own rule."""

    name = "AMOUNT|Nx"

    def convert(self, value, param, ctx):
        from samplecast.forecast.rounds import shortfall_multiple, shortfall_problem

        text = str(value).strip()
        problem = shortfall_problem(text)
        if problem:
            self.fail(problem.replace("shortfall_cost ", ""), param, ctx)
        return text if shortfall_multiple(text) is not None else float(text)


class OutputFile(click.Path):
    """A file to write, checked before any work starts: not a folder, and writable where it is (or will be)."""

    def __init__(self):
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value, param, ctx):
        path = super().convert(value, param, ctx)
        problem = output_file_problem(path)
        if problem:
            self.fail(problem, param, ctx)
        return path
