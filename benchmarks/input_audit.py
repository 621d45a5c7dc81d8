"""Bad-input audit of the command line: every input issue 22 names, and a seeded fuzz of plan documents, forecaster
folders and curves tables, each given to the CLI in a subprocess (``nice``, one torch thread, 60 s each) and
classified as ok (exit 0, sane output), refused (exit 2 with ``error:`` lines, no traceback), traceback, hang (past
60 s), wrong (exit 0 with an answer the check says is false, or an input overwritten) or other.

Run by hand from the repository root (about 7 minutes on 2 busy cores); writes ``benchmarks/input_audit.md`` (its
sections after the table of every case, the counts before the fixes and why the accepted inputs are not errors, are
written by hand):

    PYTHONPATH=src python benchmarks/input_audit.py [--out benchmarks/input_audit.md] [--only plan]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import re
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from audit_inputs import CLI, ENV, ROOT, Case, curves_csv, fuzz_folders, fuzz_plans, fuzz_tables, plan_document
from audit_listed import concrete_cases

TIMEOUT_S = 60
SEED = 22


@dataclass
class Result:
    case: Case
    rc: int | None
    stdout: str
    stderr: str
    wall_s: float
    verdict: str = ""
    note: str = ""


# --- running and classifying ------------------------------------------------------------------------------------


def run(case: Case) -> Result:
    digests = {p: _digest(p) for p in case.inputs}
    start = time.perf_counter()
    try:
        proc = subprocess.run(["nice", "-n", "5", *CLI, *case.args], capture_output=True, text=True, env=ENV,
                              timeout=TIMEOUT_S, stdin=subprocess.DEVNULL, errors="replace")
        result = Result(case, proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start)
    except subprocess.TimeoutExpired as exc:
        result = Result(case, None, _text(exc.stdout), _text(exc.stderr), time.perf_counter() - start)
    result.verdict, result.note = classify(result, digests)
    return result


def _text(value: bytes | str | None) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value or ""


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def classify(r: Result, digests: dict[Path, str | None]) -> tuple[str, str]:
    changed = [str(p.name) for p, d in digests.items() if _digest(p) != d]
    if r.rc is None:
        return "hang", f"no answer within {TIMEOUT_S} s"
    if "Traceback" in r.stdout + r.stderr:
        last = [line for line in r.stderr.splitlines() if line.strip()][-1:] or ["?"]
        return "traceback", last[0][:200]
    if changed:
        return "wrong", f"overwrote its input {', '.join(changed)}"
    if r.rc == 2:
        errors = [line for line in r.stderr.splitlines() if line.lower().startswith("error:")]
        return ("refused", errors[0][:200]) if errors else ("other", f"exit 2 without an error line: {r.stderr[:200]}")
    if r.rc == 0:
        if re.search(r"\b(nan|inf)\b", r.stdout, re.IGNORECASE):
            return "wrong", "nan or inf in the output"
        out = r.case.output
        if out is not None and not (out.is_file() and out.stat().st_size > 0):
            return "wrong", f"exit 0 but {out.name} not written"
        if out is not None and out.suffix == ".pdf" and not out.read_bytes().startswith(b"%PDF"):
            return "wrong", f"{out.name} is not a PDF"
        reason = r.case.check(r) if r.case.check else None
        return ("wrong", reason) if reason else ("ok", "")
    if r.rc == 130:
        return "other", "exit 130 without an interrupt"
    return "other", f"exit {r.rc}: {(r.stderr.strip().splitlines() or [''])[-1][:200]}"


# --- the report -----------------------------------------------------------------------------------------------


def write_markdown(results: list[Result], path: Path, wall_s: float) -> None:
    verdicts = ("ok", "refused", "traceback", "hang", "wrong", "other")
    kinds = list(dict.fromkeys(r.case.kind for r in results))
    counts = Counter((r.case.kind, r.verdict) for r in results)
    lines = [
        "# Bad-input audit of the command line",
        "",
        f"`benchmarks/input_audit.py`, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{os.cpu_count()} cores (shared with a training sweep), Python {platform.python_version()}; "
        f"{len(results)} invocations in {wall_s:.0f} s, each under `nice` with one torch thread and a {TIMEOUT_S} s "
        f"limit; fuzz seed {SEED}.",
        "",
        "ok: exit 0 with sane output (no nan/inf, the file written, the case's own check passed); refused: exit 2 "
        "with `error:` lines and no traceback; wrong: exit 0 with an answer the case's check finds false, or an "
        "input overwritten.",
        "",
        "| input kind | " + " | ".join(verdicts) + " | all |",
        "|---|" + "---:|" * (len(verdicts) + 1),
    ]
    for kind in kinds:
        row = [counts[(kind, v)] for v in verdicts]
        lines.append(f"| {kind} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    total = [sum(counts[(k, v)] for k in kinds) for v in verdicts]
    lines.append("| **all** | " + " | ".join(map(str, total)) + f" | {sum(total)} |")
    lines += ["", "## Not ok and not refused", ""]
    bad = [r for r in results if r.verdict not in ("ok", "refused")]
    lines += [f"- {r.verdict}: {r.case.kind}: {_md(r.case.name)}: {_md(r.note)} ({r.wall_s:.1f} s)" for r in bad]
    lines += ["" if bad else "None.", "", "## Every case", "",
              "| kind | input | verdict | s | first error line or note |", "|---|---|---|---:|---|"]
    lines += [f"| {r.case.kind} | {_md(r.case.name)} | {r.verdict} | {r.wall_s:.1f} | {_md(r.note)} |"
              for r in results]
    path.write_text("\n".join(lines) + "\n")


def _md(text: str) -> str:
    """``text`` for a markdown table cell: control characters escaped, the audit's temporary folder as ``WORK/``."""
    text = re.sub(r"/[^\s()]*?samplecast-audit-[^/]+/", "WORK/", text)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text.replace("|", "\\|").replace("*", "\\*").replace("_", "\\_").replace("[", "\\[")[:240]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "input_audit.md")
    parser.add_argument("--only", help="run only the cases whose kind contains this")
    parser.add_argument("--plans", type=int, default=60)
    parser.add_argument("--folders", type=int, default=40)
    parser.add_argument("--tables", type=int, default=40)
    options = parser.parse_args()
    rng = random.Random(SEED)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="samplecast-audit-") as tmp:
        work = Path(tmp)
        plan = plan_document(work)
        cases = concrete_cases(work, plan)
        cases += fuzz_plans(work, plan, rng, options.plans)
        cases += fuzz_folders(work, curves_csv(work / "folder_table.csv"), rng, options.folders)
        cases += fuzz_tables(work, rng, options.tables)
        if options.only:
            cases = [c for c in cases if options.only in c.kind or options.only in c.name]
        results = []
        for i, case in enumerate(cases, 1):
            result = run(case)
            results.append(result)
            print(f"[{i}/{len(cases)}] {result.verdict:9} {result.wall_s:5.1f} s  {case.kind}: {case.name[:80]}"
                  f"{'  -- ' + result.note[:150] if result.verdict not in ('ok', 'refused') else ''}", flush=True)
    write_markdown(results, options.out, time.perf_counter() - start)
    print(f"wrote {options.out}")


if __name__ == "__main__":
    main()
