"""Smoke test of the parse-time benchmark (benchmarks/bench.py): it runs end to end at N=10.

No timing assertions: only that it finishes, writes its table and ends with the machine-readable line
whose ratios are positive numbers.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FINAL_LINE = re.compile(
    r"bench N=10 ours/hand-written=(\d+\.\d{2}) ours/dag-factory=(\d+\.\d{2}) "
    r"validate/check-jsonschema=(\d+\.\d{2}) memory ours/hand-written=(\d+\.\d{2})"
)


def test_bench_runs_at_n10(tmp_path):
    out = tmp_path / "RESULTS.md"
    command = [sys.executable, "benchmarks/bench.py", "--sizes", "10", "--runs", "1", "--out", str(out)]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]

    last = proc.stdout.strip().splitlines()[-1]
    match = FINAL_LINE.fullmatch(last)
    assert match, f"unexpected final line: {last!r}"
    assert all(float(ratio) > 0 for ratio in match.groups())

    table = out.read_text()
    assert "| 10 | ours |" in table
    assert "| 10 | hand-written |" in table
    assert "| 10 | dag-factory |" in table
    assert last in table
