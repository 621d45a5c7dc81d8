"""The PDF takes any label a curves table holds and any number of points: very long labels and hundreds of sizes are
cut with a note (fpdf2 cannot draw a row taller than a page), and labels in scripts the font lacks are transliterated,
which the report says."""

import re

import numpy as np
import pandas as pd
from click.testing import CliRunner
from pypdf import PdfReader

from samplecast.cli import cli
from samplecast.report.document import CUT_NOTE, in_font


def _report(tmp_path, rows):
    table = tmp_path / "curves.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    pdf = tmp_path / "report.pdf"
    result = CliRunner().invoke(cli, ["report", str(table), "-o", str(pdf), "--method", "pow3",
                                      "--target-dice", "0.7"])
    assert result.exit_code == 0, result.output
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(pdf).pages))


def test_a_long_label_and_hundreds_of_sizes_are_cut_with_a_note(tmp_path):
    n = np.unique(np.geomspace(10, 50_000, 500).astype(int))
    text = _report(tmp_path, {"dataset": "x" * 300, "n_train": n, "dice": 0.85 - 1.2 * n**-0.5})
    assert CUT_NOTE.strip() in text


def test_labels_in_any_script_are_shown_transliterated_with_a_note(tmp_path):
    names = ["息肉", "पॉलीप", "โพลิป", "پولیپ", "Ωmega ж"]
    text = _report(tmp_path, [{"dataset": name, "n_train": k, "dice": 0.8 - 1.2 * k**-0.5}
                              for name in names for k in (20, 50, 100, 200)])
    for name in names:
        assert in_font(name) in text
    assert in_font("息肉") == "XiRou" and in_font("Ωmega ж") == "Ωmega ж"  # Greek and Cyrillic have glyphs
    assert "transliterated to Latin letters" in text


def test_labels_holding_markdown_show_as_written_in_the_best_configuration(tmp_path):
    labels = ["a**b**c --u--", "[x](https://example.com) \\**y"]
    text = _report(tmp_path, [{"dataset": name, "n_train": k, "dice": top - 1.2 * k**-0.5}
                              for name, top in zip(labels, (0.85, 0.8)) for k in (20, 50, 100, 200)])
    assert "configurations, a**b**c --u-- reaches" in text
    assert text.count("[x](https://example.com) \\**y") >= 2  # its heading and the provenance table, as written
