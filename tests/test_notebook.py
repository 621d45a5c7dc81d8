"""The walkthrough notebook: the committed file is what its build script writes, and it runs top to bottom today.
The README's library example runs verbatim from the repository root."""

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "forecast_walkthrough.ipynb"


def _builder():
    spec = importlib.util.spec_from_file_location("build_walkthrough", ROOT / "notebooks" / "build_walkthrough.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_notebook_is_the_build_scripts_output():
    committed = nbformat.read(NOTEBOOK, as_version=4)
    built = _builder().build()
    assert [(c.cell_type, c.source) for c in committed.cells] == [(c.cell_type, c.source) for c in built.cells]
    assert all(c.get("outputs") for c in committed.cells if c.cell_type == "code"), "committed without outputs"


@pytest.mark.slow
def test_notebook_runs_top_to_bottom_and_names_the_default_method():
    from samplecast.forecast.methods import DEFAULT_METHOD

    builder = _builder()
    notebook = builder.execute(builder.build())  # a cell that raises fails here (nbclient's CellExecutionError)
    printed = "\n".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                        for output in cell.outputs)
    assert f"| default: {DEFAULT_METHOD}" in printed
    assert "pages" in printed  # the last cell rendered the report


def _readme_python() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert len(blocks) == 1, "the README has one library example"
    return blocks[0]


def test_readme_library_example_uses_the_default_method_and_shipped_paths():
    from samplecast.forecast.methods import DEFAULT_METHOD

    code = _readme_python()
    assert re.findall(r'make_forecaster\("(\w+)"', code) and set(re.findall(r'make_forecaster\("(\w+)"', code)) == {
        DEFAULT_METHOD}
    for path in re.findall(r'"((?:data|src)/[^"]+)"', code):
        assert (ROOT / path).is_file(), path


@pytest.mark.slow
def test_readme_library_example_runs_verbatim_from_the_repository_root(tmp_path, monkeypatch):
    """In a folder that holds the repository's ``data/`` (linked), so the forecaster it builds lands in tmp_path."""
    (tmp_path / "data").symlink_to(ROOT / "data", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    code = _readme_python()
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the README's own example, verbatim
    (built,) = re.findall(r'build_forecaster\(corpus, "([^"]+)"', code)
    assert (tmp_path / built / "build.json").is_file()
