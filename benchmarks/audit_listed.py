"""The inputs issue 22 lists (what the audit found, answers the checks let through, labels, big or odd inputs), as
cases of the bad-input audit (:mod:`input_audit`), each with the check that tells a wrong answer."""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path

from audit_inputs import (
    ASSETS,
    SIZES,
    Case,
    Check,
    drop_in_rows,
    set_in_rows,
    curves_csv,
    huge_member,
    pdf_text,
    scale_member,
    seal,
)


def concrete_cases(work: Path, plan: dict) -> list[Case]:
    """Every concrete input issue 22 lists under what the audit found, answers let through and big or odd inputs."""
    cases: list[Case] = []
    small = curves_csv(work / "small.csv")
    pdf = work / "out.pdf"

    def plan_case(name: str, text: str) -> None:
        path = work / f"plan_{len(cases)}.json"
        path.write_text(text)
        cases.append(Case("plan (listed)", name, ["report", "--plan", str(path), "-o", str(pdf)], output=pdf))

    def edited(edit) -> str:
        doc = copy.deepcopy(plan)
        edit(doc)
        return json.dumps(doc, allow_nan=True)

    plan_case("curves as an object", edited(lambda d: d.update(curves={"a": 1})))
    plan_case("curves as a list of ints", edited(lambda d: d.update(curves=[1, 2, 3])))
    for key in ("observed", "band", "targets", "marginal_now"):
        plan_case(f"curve without {key}", edited(lambda d, k=key: d["curves"][0].pop(k, None)))
    plan_case("a string where a number belongs", edited(lambda d: d["options"].update(target_dice="0.7")))
    plan_case("options as a list", edited(lambda d: d.update(options=[1, 2])))
    plan_case("created as an int", edited(lambda d: d.update(created=20261207)))
    plan_case("NaN literals", edited(lambda d: d["curves"][0]["observed"].update(
        dice=[float("nan")] * len(d["curves"][0]["observed"]["dice"]))))
    plan_case("quantiles NaN", edited(lambda d: d.update(quantiles=[float("nan")] * len(d["quantiles"]))))
    plan_case("deep nesting", "[" * 200_000 + "]" * 200_000)
    plan_case("1 MB title", edited(lambda d: d.update(title="t" * 1_000_000)))
    fifo = work / "plan.fifo"
    os.mkfifo(fifo)
    cases.append(Case("plan (listed)", "a FIFO", ["report", "--plan", str(fifo), "-o", str(pdf)]))

    def folder_case(name: str, edit, method: str = "pow2", reseal: bool = True) -> None:
        folder = work / f"forecaster_{len(cases)}"
        shutil.copytree(ASSETS, folder)
        edit(folder)
        if reseal:
            seal(folder)
        cases.append(Case("forecaster (listed)", name, ["forecast", str(small), "--method", method, "--forecaster",
                                                        str(folder)]))

    def json_edit(name, change):
        def edit(folder):
            path = folder / name
            doc = json.loads(path.read_text())
            doc = change(doc) or doc
            path.write_text(json.dumps(doc, allow_nan=True))
        return edit

    folder_case("ensemble.json a list", json_edit("ensemble.json", lambda d: [d]))
    folder_case("backtest_summary.json a list", json_edit("backtest_summary.json", lambda d: [d]))
    folder_case("unknown member", json_edit("ensemble.json", lambda d: d["members"].__setitem__(0, "nosuch")))
    folder_case("duplicated members", json_edit("ensemble.json", lambda d: d.update(members=[d["members"][1]] * 3)))
    folder_case("row without held_out", json_edit("backtest_summary.json", lambda d: drop_in_rows(d, "held_out")))
    folder_case("a cutoff of 0", json_edit("backtest_summary.json", lambda d: set_in_rows(d, "cutoff", 0)))
    folder_case("NaN weights", json_edit("ensemble.json", lambda d: d.update(weights=[float("nan")] * 3)))
    folder_case("npz member declaring 10^14 elements", lambda f: huge_member(f / "surrogate.npz"))
    folder_case("corrupt ensemble.json with lstm", lambda f: (f / "ensemble.json").write_text("{corrupt"),
                method="lstm")
    other = work / "other_build"
    shutil.copytree(ASSETS, other)
    json_edit("ensemble.json", lambda d: d.update(build="20990101T000000Z-00000000"))(other)
    seal(other, build_id="20990101T000000Z-00000000")
    folder_case("mixed build (ensemble.json of another build)",
                lambda f: shutil.copy(other / "ensemble.json", f / "ensemble.json"), reseal=False)
    folder_case("tampered command and impossible figures (sha256 unchanged)",
                json_edit("backtest_summary.json", lambda d: d.update(command="rm -rf /")), reseal=False)
    folder_case("impossible figures, resealed", json_edit("backtest_summary.json",
                                                           lambda d: set_in_rows(d, "coverage80", -3.0)))
    folder_case("nonsense LSTM weights (changed after build)", lambda f: scale_member(f / "surrogate.npz", 50.0),
                method="lstm", reseal=False)
    folder_case("left-over staging folder beside the files",
                lambda f: (f / ".build-x.partial").mkdir())

    def forecast(name: str, args: list[str], check: Check | None = None, inputs=(), output=None,
                 kind="answers (listed)") -> None:
        cases.append(Case(kind, name, args, check, list(inputs), output))

    forecast("--at 5000 --pool-size 2000", ["forecast", str(small), "--method", "pow2", "--at", "5000",
                                            "--pool-size", "2000"],
             lambda r: "a row beyond the pool" if "5,000" in r.stdout else None)
    forecast("--at 1000000000000", ["forecast", str(small), "--method", "pow2", "--at", "1000000000000"],
             lambda r: "answered 10^12 cases" if "1,000,000,000,000" in r.stdout else None)
    forecast("--cost-per-case 1e308", ["forecast", str(small), "--method", "pow2", "--target-dice", "0.7",
                                       "--cost-per-case", "1e308"])
    rising = curves_csv(work / "rising.csv", [{"n_train": n, "dice": d} for n, d in
                                              ((10, 0.0), (20, 0.0032), (40, 0.1091), (80, 0.2103), (160, 0.2909),
                                               (320, 0.3433))])
    forecast("rising curve, pool 100000", ["forecast", str(rising), "--pool-size", "100000"],
             lambda r: "says it flattens from about 10 cases" if "flattens from about 10 cases" in r.stdout
             else None)
    victim = curves_csv(work / "victim.csv")
    forecast("forecast victim.csv --json victim.csv", ["forecast", str(victim), "--method", "pow2", "--json",
                                                       str(victim)], inputs=[victim])
    forecast("report X -o X", ["report", str(victim), "--method", "pow2", "-o", str(victim)], inputs=[victim])

    for label in ("[/]", "[/bold]", "[bold red]x", "[link=https://example.com]y[/link]", "esc\x1b[31mred\x07"):
        table = curves_csv(work / f"label_{len(cases)}.csv", label=label)
        shown = label.replace("\x1b", "").replace("\x07", "")
        forecast(f"label {label!r} (forecast)", ["forecast", str(table), "--method", "pow2"],
                 lambda r, s=label: ("an escape sequence reached the terminal" if "\x1b" in r.stdout
                                     else None if s.isprintable() and s in r.stdout or not s.isprintable()
                                     else "label not printed as written"), kind="labels (listed)")
        out = work / f"label_{len(cases)}.pdf"
        forecast(f"label {label!r} (report)", ["report", str(table), "--method", "pow2", "-o", str(out)],
                 output=out, kind="labels (listed)")
        del shown
    for label in ("楽しい", "नमस्ते", "สวัสดี", "🙂 ok", "مرحبا", "שלום"):
        table = curves_csv(work / f"label_{len(cases)}.csv", label=label)
        out = work / f"label_{len(cases)}.pdf"
        forecast(f"label {label!r} (report)", ["report", str(table), "--method", "pow2", "-o", str(out)],
                 output=out, kind="labels (listed)")
    md_rows = [{"dataset": label, "n_train": n, "dice": round(a - 1.2 * n ** -0.5, 4)}
               for label, a in (("a**b**c --u--", 0.85), ("plain", 0.8)) for n in SIZES]
    md_table = curves_csv(work / "markdown.csv", md_rows)
    md_pdf = work / "markdown.pdf"
    forecast("label 'a**b**c --u--' in the best configuration (report)",
             ["report", str(md_table), "--method", "pow2", "--target-dice", "0.7", "--pool-size", "2000", "-o",
              str(md_pdf)],
             lambda r: None if "configurations, a**b**c --u-- reaches" in " ".join(pdf_text(md_pdf).split())
             else "markdown eaten in the PDF",
             output=md_pdf, kind="labels (listed)")

    big = work / "big.csv"
    curves_csv(big, [{"dataset": f"set{i // 100}", "n_train": 10 + i % 100, "dice": 0.5} for i in range(200_000)])
    forecast("report of a 200k-row table", ["report", str(big), "--method", "pow2", "-o", str(pdf)], output=pdf,
             kind="big or odd (listed)")
    long_curve = curves_csv(work / "long_curve.csv", [{"n_train": n, "dice": round(0.8 - 1.2 * n ** -0.5, 5)}
                                                      for n in range(10, 510)])
    forecast("report of a 500-point curve", ["report", str(long_curve), "--method", "pow2", "-o", str(pdf)],
             output=pdf, kind="big or odd (listed)")
    long_label = curves_csv(work / "long_label.csv", label="L" * 5000)
    forecast("report with a 5,000-character label", ["report", str(long_label), "--method", "pow2", "-o", str(pdf)],
             output=pdf, kind="big or odd (listed)")
    many = curves_csv(work / "many.csv", [{"dataset": f"set{i:04d}", "n_train": n, "dice": round(
        0.7 + 0.1 * (i % 7) / 7 - 1.2 * n ** -0.5, 4)} for i in range(2000) for n in SIZES])
    hundred = curves_csv(work / "hundred.csv", [{"dataset": f"set{i:03d}", "n_train": n, "dice": round(
        0.7 + 0.1 * (i % 7) / 7 - 1.2 * n ** -0.5, 4)} for i in range(100) for n in SIZES])
    forecast("report of 100 curves (pow2)", ["report", str(hundred), "--method", "pow2", "-o", str(pdf)], output=pdf,
             kind="big or odd (listed)")
    forecast("report of 2,000 curves (pow2)", ["report", str(many), "--method", "pow2", "-o", str(pdf)], output=pdf,
             kind="big or odd (listed)")
    forecast("backtest of 2,000 curves (pow2)", ["backtest", str(many), "--methods", "pow2"],
             kind="big or odd (listed)")
    forecast("/dev/zero as a table", ["forecast", "/dev/zero", "--method", "pow2"], kind="big or odd (listed)")
    fifo_table = work / "table.fifo"
    os.mkfifo(fifo_table)
    forecast("a FIFO as a table", ["forecast", str(fifo_table), "--method", "pow2"], kind="big or odd (listed)")
    forecast("--pool-size of 20 digits", ["forecast", str(small), "--method", "pow2", "--pool-size",
                                          "12345678901234567890"], kind="big or odd (listed)")
    if Path("/dev/full").is_char_device():  # through a link, so a writer that renames over it swaps only the link
        full = work / "full"
        full.symlink_to("/dev/full")
        for name, args in (("--json", ["forecast", str(small), "--method", "pow2", "--json"]),
                           ("-o", ["report", str(small), "--method", "pow2", "-o"]),
                           ("backtest --json", ["backtest", str(small), "--methods", "pow2", "--json"])):
            forecast(f"{name} to /dev/full (a full disk)", [*args, str(full)], kind="big or odd (listed)",
                     check=lambda r, f=full: None if f.is_symlink() else "replaced the device with a file")
    return cases
