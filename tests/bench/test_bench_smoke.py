"""Smoke test of the parse-time benchmark (benchmarks/bench.py): it runs end to end at N=10.

One run of each kind (``--runs 1 --task-start-runs 1``): the smoke proves the harness, not the figures.
No timing assertions: only that it finishes, writes its tables and ends with the machine-readable lines
(the dag-processor line, then the bench line) whose ratios and times are positive numbers.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"(\d+\.\d{2})"
FINAL_LINE = re.compile(
    rf"bench N=10 ours/hand-written={NUMBER} ours/dag-factory={NUMBER} "
    rf"validate/check-jsonschema={NUMBER} memory ours/hand-written={NUMBER} "
    rf"cold/hand-written={NUMBER} task-start={NUMBER}"
)
DAG_PROCESSOR_LINE = re.compile(
    rf"dag-processor N=10 ours/hand-written={NUMBER} cold/hand-written={NUMBER} "
    r"hand-written=(\d+\.\d)s ours=(\d+\.\d)s cold=(\d+\.\d)s slowest-file=(\d+\.\d{2})s"
)


GOAL_LINE = re.compile(
    r"goal N=10 (.+): (\d+\.\d{2}|-)( \(rounds [\d.]+-[\d.]+\))?, "
    r"(goal <= \d\.\d{2}|no goal): (met|NOT MET|not measured|-)"
)


def test_bench_runs_at_n10(tmp_path):
    out = tmp_path / "RESULTS.md"
    command = [
        sys.executable,
        "benchmarks/bench.py",
        "--sizes",
        "10",
        "--runs",
        "1",
        "--task-start-runs",
        "1",
        "--out",
        str(out),
    ]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]

    *_, processor_line, last = proc.stdout.strip().splitlines()
    match = FINAL_LINE.fullmatch(last)
    assert match, f"unexpected final line: {last!r}"
    assert all(float(ratio) > 0 for ratio in match.groups())
    processor = DAG_PROCESSOR_LINE.fullmatch(processor_line)
    assert processor, f"unexpected dag-processor line: {processor_line!r}"
    assert all(float(value) > 0 for value in processor.groups())

    goals = [GOAL_LINE.fullmatch(line) for line in proc.stdout.splitlines() if line.startswith("goal N=10 ")]
    assert goals and all(goals), "every goal line names its ratio, its goal and whether it was met"
    measured = {m.group(1): m.group(2) for m in goals}
    for label in (
        "task start, no cache: fresh worker pod (ours/hand-written)",
        "read-only bundle, cold (ours/hand-written)",
        "read-only bundle, cache warmed by validate at image build (ours/hand-written)",
        "task start, fresh pod of an image warmed by validate (ours/hand-written)",
    ):
        assert measured[label] != "-", label

    table = out.read_text()
    assert "## Goals" in table
    labels = ("ours", "ours (cold)", "hand-written", "dag-factory", "ours, N=10", "ours (no cache)")
    for label in (*labels, "read-only (cold)", "read-only", "new folder", "image-warmed"):
        assert f"| 10 | {label} |" in table
    for label in ("hand-written first", "hand-written", "ours first (cold)", "ours", "ours (cold)"):
        assert re.search(rf"^\| 10 \| {re.escape(label)} \| \d+\.\d \| .* \| 10 \|$", table, re.M), label
    assert re.search(r"^\| 10 \| ours \| 5 \| 1 \| ", table, re.M), "task start: 5 files, 1 run each"
    assert "## Task start" in table and "## dag-processor pass" in table
    assert last in table and processor_line in table
