"""The packages import only downwards along the flow of data (data -> curves -> train -> forecast -> plan -> report;
demo and cli on top): a module imports from its own package and from packages of a strictly lower level, so there is
no import cycle among packages and no arrow back up the flow."""

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "samplecast"
#: Each package's level (packages of one level may not import each other). The curves table is the contract the
#: trainer writes and the forecaster reads, so it sits below both.
LEVELS = {
    "__init__": 0, "errors": 1, "files": 2, "versions": 2, "outputs": 2, "schema": 3,
    "data": 3, "curves": 4, "train": 5, "forecast": 6, "plan": 7, "report": 8, "demo": 9, "cli": 10,
}


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path) -> list[tuple[int, str]]:
    """The samplecast modules a file imports, with their line numbers (lazy imports inside functions included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return [(line, name) for line, name in found if name == "samplecast" or name.startswith("samplecast.")]


def modules() -> list[Path]:
    return sorted(SOURCE.rglob("*.py"))


def test_every_package_has_a_level():
    packages = {p.relative_to(SOURCE).parts[0].removesuffix(".py") for p in modules()}
    assert packages <= set(LEVELS), f"packages without a level: {sorted(packages - set(LEVELS))}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SOURCE)))
def test_a_module_imports_only_its_package_and_those_below(path):
    relative = path.relative_to(SOURCE)
    own = relative.parts[0].removesuffix(".py")
    upward = [f"{relative}:{line} imports {name} ({package_of(name)} is not below {own})"
              for line, name in imports(path) if package_of(name) != own and LEVELS[package_of(name)] >= LEVELS[own]]
    assert not upward, "\n".join(upward)


def test_the_report_renders_without_the_forecasters():
    report = [f"{p.relative_to(SOURCE)}:{line} imports {name}" for p in (SOURCE / "report").rglob("*.py")
              for line, name in imports(p) if package_of(name) == "forecast"]
    assert not report, "\n".join(report)
