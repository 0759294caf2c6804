"""The README's performance section quotes benchmarks/RESULTS.md: every figure it shows is one the
benchmark wrote, with the same goal and verdict (so the README cannot drift from the last run)."""

from __future__ import annotations

import re

from sagemaker_pipelines.paths import CHECKOUT_ROOT

ROW = re.compile(
    r"^\| (?P<label>[^|]+?) \| (?P<ratio>[\d.]+|-) \| (?P<spread>[^|]*?) "
    r"\| (?P<goal>[^|]*?) \| (?P<met>[^|]+?) \|$",
    re.M,
)


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else None]


def test_every_figure_of_the_readmes_performance_section_is_in_results_md():
    readme = _section((CHECKOUT_ROOT / "README.md").read_text(encoding="utf-8"), "## Performance")
    results = _section((CHECKOUT_ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8"), "## Goals")
    n = re.search(r"N=(\d+)", readme).group(1)
    written = {
        (m["label"], m["ratio"], m["spread"], m["goal"], m["met"])
        for m in re.finditer(
            rf"^\| {n} \| (?P<label>[^|]+?) \| (?P<ratio>[\d.]+|-) \| (?P<spread>[^|]*?) "
            r"\| (?P<goal>[^|]*?) \| (?P<met>[^|]+?) \|$",
            results,
            re.M,
        )
    }
    quoted = [(m["label"], m["ratio"], m["spread"], m["goal"], m["met"]) for m in ROW.finditer(readme)]
    assert quoted, "the README's performance section has a table of the benchmark's ratios"
    missing = [row for row in quoted if row not in written]
    assert not missing, f"not in RESULTS.md's goals at N={n}: {missing}"
