"""Every ratio the benchmark reports, with the goal it is held to and whether one run met it.

One table, so ``make bench``'s output, RESULTS.md and the README quote the same figures against the same
goals. A ratio is ours over the hand-written DAG files (or the named reference); the spread is the
lowest and highest ratio of the individual rounds (run i of ours over run i of the reference), where a
measurement has rounds.
"""

from __future__ import annotations

from dataclasses import dataclass

from results import SizeResult


@dataclass(frozen=True)
class Goal:
    label: str
    ratio: str  # key of SizeResult.ratios(), or "pass:<key>" of SizeResult.pass_ratios()
    limit: float | None  # at most; None: reported, no goal


GOALS = (
    Goal("DagBag fill, warm cache (ours/hand-written)", "ours/hand-written", 1.1),
    Goal("DagBag fill, cold cache (ours/hand-written)", "cold/hand-written", 1.2),
    Goal("read-only bundle, warm user cache (ours/hand-written)", "read-only/hand-written", 1.1),
    Goal("read-only bundle, cold (ours/hand-written)", "read-only cold/hand-written", 1.2),
    Goal("Git bundle, new folder with the same files (ours/hand-written)", "new folder/hand-written", 1.1),
    Goal(
        "read-only bundle, cache warmed by validate at image build (ours/hand-written)",
        "image-warmed/hand-written",
        1.2,
    ),
    Goal(
        "task start, no cache: fresh worker pod (ours/hand-written)", "task-start no cache/hand-written", 1.5
    ),
    Goal("task start, warm cache (ours/hand-written)", "task-start/hand-written", 1.5),
    Goal("task start, read-only bundle (ours/hand-written)", "task-start read-only/hand-written", 1.5),
    Goal(
        "task start, fresh pod of an image warmed by validate (ours/hand-written)",
        "task-start image-warmed/hand-written",
        1.5,
    ),
    Goal("task start at N against N=10 (ours/ours)", "task-start", None),
    Goal("dag-processor first pass, empty db and cache (ours/hand-written)", "pass:first", 1.2),
    Goal("dag-processor re-parse, cold cache (ours/hand-written)", "pass:cold/hand-written", 1.2),
    Goal("dag-processor re-parse, warm cache (ours/hand-written)", "pass:ours/hand-written", None),
    Goal("peak memory of the DagBag fill (ours/hand-written)", "memory ours/hand-written", 1.1),
    Goal("validate (ours/check-jsonschema)", "validate/check-jsonschema", 0.2),
    Goal("DagBag fill, warm cache (ours/dag-factory)", "ours/dag-factory", 0.15),
)


def measured(res: SizeResult) -> list[tuple[Goal, float | None, tuple[float, float] | None]]:
    """Each goal with its ratio at this N (None when not measured) and the spread over rounds."""
    ratios = res.ratios()
    passes = res.pass_ratios() if res.passes else {}
    spreads = res.spreads()
    rows = []
    for goal in GOALS:
        if goal.ratio.startswith("pass:"):
            value = passes.get(goal.ratio.removeprefix("pass:"))
        else:
            value = ratios.get(goal.ratio)
        rows.append((goal, value, spreads.get(goal.ratio)))
    return rows


def verdict(goal: Goal, value: float | None) -> str:
    if value is None:
        return "not measured"
    if goal.limit is None:
        return "-"
    return "met" if value <= goal.limit else "NOT MET"


def goal_lines(res: SizeResult) -> list[str]:
    """One line per goal, as ``make bench`` prints them."""
    lines = []
    for goal, value, spread in measured(res):
        shown = "-" if value is None else f"{value:.2f}"
        around = f" (rounds {spread[0]:.2f}-{spread[1]:.2f})" if spread else ""
        limit = "no goal" if goal.limit is None else f"goal <= {goal.limit:.2f}"
        lines.append(f"goal N={res.n} {goal.label}: {shown}{around}, {limit}: {verdict(goal, value)}")
    return lines


def goals_section(results: list[SizeResult]) -> list[str]:
    lines = [
        "",
        "## Goals",
        "",
        "| N | measurement | ratio | rounds (min-max) | goal | met |",
        "|---:|---|---:|---|---:|---|",
    ]
    for res in results:
        for goal, value, spread in measured(res):
            shown = "-" if value is None else f"{value:.2f}"
            around = f"{spread[0]:.2f}-{spread[1]:.2f}" if spread else ""
            limit = "" if goal.limit is None else f"<= {goal.limit:.2f}"
            lines.append(
                f"| {res.n} | {goal.label} | {shown} | {around} | {limit} | {verdict(goal, value)} |"
            )
    return lines
