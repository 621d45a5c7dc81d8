"""Every command's options against the settings they fill: each option names a field of those settings (or is listed
below with the reason it fills none), its default is the field's default (or is listed with the reason it differs),
and every field a user should control has an option (or is listed with the reason it has none). Adding a field
without an option, or changing a default in one place only, fails here."""

import dataclasses
import inspect

import click
import pytest

from samplecast.cli import cli
from samplecast.demo import DemoSettings
from samplecast.forecast.methods import DEFAULT_METHOD, METHOD_NAMES
from samplecast.plan import PlanOptions
from samplecast.train.config import SubmititOptions, SweepConfig, TrainSettings

#: Options of ``forecast`` and ``report`` that fill no PlanOptions field, with where their value goes.
FORECAST_ELSEWHERE = {
    "method": "the forecaster, by name (checked below against the library's names and default)",
    "average_seeds": "load_curves(average_seeds=...) (checked below against its default)",
    "depths_together": "plan_curves(depths_together=...) (checked below against its default)",
    "forecaster": "the forecaster folder to open; none opens the shipped one",
}

COMMANDS = {
    "sweep": {
        "settings": (SweepConfig, TrainSettings, SubmititOptions),
        "no_field": {},
        "no_option": {
            "weight_decay": "part of the training protocol held fixed so that curves of different sweeps compare",
            "warmup": "part of the training protocol held fixed so that curves of different sweeps compare",
            "flip_prob": "augmentation strength, held fixed so that curves of different sweeps compare",
            "brightness": "augmentation strength, held fixed so that curves of different sweeps compare",
            "contrast": "augmentation strength, held fixed so that curves of different sweeps compare",
            "split_seed": "the fixed test split of a dataset; changing it would make every earlier run incomparable",
            "threads": "set by the command line from the free cores (or OMP_NUM_THREADS), not asked for",
            "train": "the TrainSettings object, whose fields have their own options",
            "submitit": "the SubmititOptions object, whose fields have their own options",
        },
        "other_default": {
            "min_epochs": "the command line asks for RECOMMENDED_MIN_EPOCHS; library callers get a fixed budget",
            "check_convergence": "the command line checks by default; library callers opt in",
            "engine": "fused where a CUDA GPU is present, else local (decided when the command runs)",
        },
    },
    "forecast": {
        "settings": (PlanOptions,),
        "no_field": {**FORECAST_ELSEWHERE, "curves": "the input file", "at": "the sizes to forecast, passed to plan_curves(at=...)",
                     "json_path": "a file to write"},
        "no_option": {"horizon": "derived: 20x the largest observed size unless --pool-size bounds the search"},
        "other_default": {},
    },
    "report": {
        "settings": (PlanOptions,),
        "no_field": {**FORECAST_ELSEWHERE, "curves": "the input file", "plan_path": "the input file instead",
                     "output": "the file to write", "title": "render_report(title=...) (checked below)"},
        "no_option": {"horizon": "derived: 20x the largest observed size unless --pool-size bounds the search"},
        "other_default": {},
    },
    "demo": {
        "settings": (DemoSettings,),
        "no_field": {"out": "the folder everything is written to"},
        "no_option": {name: "fixed so the demo runs in under a minute and shows the same story every time"
                      for name in ("image_size", "fractions", "depths", "batch_size", "lr", "seed", "target_dice",
                                   "pool_size", "cost_per_case", "method")}
        | {"threads": "set by the command line from the free cores, not asked for"},
        "other_default": {},
    },
}


def _fields(settings: tuple[type, ...]) -> dict[str, dataclasses.Field]:
    return {f.name: f for cls in settings for f in dataclasses.fields(cls)}


def _field_name(param: click.Parameter) -> str:
    """The field an option fills: its long flag (``--format`` fills ``format`` whatever the variable is called)."""
    if isinstance(param, click.Option):
        return max(param.opts, key=len).lstrip("-").replace("-", "_")
    return param.name


def _field_default(field: dataclasses.Field):
    value = field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default
    return list(value) if isinstance(value, tuple) else value


def _option_defaults(name: str) -> dict:
    """The value of every parameter of the command ``name`` when no option is given, as the command receives it."""
    return cli.commands[name].make_context(name, [], resilient_parsing=True).params


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_fills_a_field_of_its_settings(name):
    spec, command = COMMANDS[name], cli.commands[name]
    fields = _fields(spec["settings"])
    orphans = [p.name for p in command.params if p.name not in spec["no_field"] and _field_name(p) not in fields]
    assert not orphans, f"{name}: options that fill no field of {[c.__name__ for c in spec['settings']]}: {orphans}"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_field_a_user_controls_has_an_option(name):
    spec, command = COMMANDS[name], cli.commands[name]
    given = {_field_name(p) for p in command.params}
    missing = [f for f in _fields(spec["settings"]) if f not in given and f not in spec["no_option"]]
    assert not missing, f"{name}: fields without an option (add one, or list the reason in no_option): {missing}"
    stale = [f for f in spec["no_option"] if f in given or f not in _fields(spec["settings"])]
    assert not stale, f"{name}: exceptions that no longer apply: {stale}"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_defaults_to_its_field_default(name):
    spec, command = COMMANDS[name], cli.commands[name]
    fields = _fields(spec["settings"])
    differ, defaults = {}, _option_defaults(name)
    for param in command.params:
        field = fields.get(_field_name(param))
        if field is None or field.name in spec["other_default"] or param.required:
            continue
        option, library = defaults[param.name], _field_default(field)
        if option != library:
            differ[param.name] = (option, library)
    assert not differ, f"{name}: option defaults unlike their fields' (option, field): {differ}"
    assert set(spec["other_default"]) <= set(fields)


@pytest.mark.parametrize("name", ["forecast", "report"])
def test_the_forecast_options_filling_no_plan_field_default_as_the_library(name):
    from samplecast.curves import load_curves
    from samplecast.plan import plan_curves
    from samplecast.report import render_report

    method = next(p for p in cli.commands[name].params if p.name == "method")
    defaults = _option_defaults(name)
    assert defaults["method"] == DEFAULT_METHOD and list(method.type.choices) == list(METHOD_NAMES)
    assert defaults["average_seeds"] is inspect.signature(load_curves).parameters["average_seeds"].default
    assert defaults["depths_together"] is inspect.signature(plan_curves).parameters["depths_together"].default
    if name == "report":
        assert defaults["title"] is inspect.signature(render_report).parameters["title"].default


def test_a_field_without_an_option_or_a_default_changed_in_one_place_fails(monkeypatch):
    changed = dataclasses.make_dataclass(
        "TrainSettings", [("steps", int, dataclasses.field(default=TrainSettings.steps + 1)),
                          ("momentum", float, dataclasses.field(default=0.9))], bases=(TrainSettings,), frozen=True)
    monkeypatch.setitem(COMMANDS["sweep"], "settings", (SweepConfig, changed, SubmititOptions))
    with pytest.raises(AssertionError, match="momentum"):
        test_every_field_a_user_controls_has_an_option("sweep")
    with pytest.raises(AssertionError, match="steps"):
        test_every_option_defaults_to_its_field_default("sweep")
