"""``sync``: one small generated DAG file per pipeline, ``dags/<dag_id>.py``, in step with ``pipelines/``.

Airflow's unit of isolation is the DAG file: import errors, staleness, parse timeouts, parse processes
and DAG versions are all per file. A data scientist never writes these files: ``make new`` and
``make sync`` do, and ``make validate`` reports a missing, stale or orphaned one with the command to fix
it. What a file contains is :mod:`sagemaker_pipelines.airflow.dag_file`'s business.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from sagemaker_pipelines.airflow.dag_file import is_generated, render
from sagemaker_pipelines.checker import CheckResult
from sagemaker_pipelines.names import name_problems
from sagemaker_pipelines.paths import dags_dir, display_path
from sagemaker_pipelines.problems import Code, Problem
from sagemaker_pipelines.project import discover, duplicate_dag_ids, pipeline_head


@dataclass
class Plan:
    """What ``sync`` would change, and the pipelines it cannot give a file (DAG id used twice)."""

    write: dict[Path, str] = field(default_factory=dict)  # DAG file -> content, missing or stale
    remove: list[Path] = field(default_factory=list)  # generated files whose pipeline is gone
    unchanged: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    pipeline_of: dict[Path, Path] = field(default_factory=dict)  # DAG file -> its pipeline


def plan(pipelines: list[Path] | None = None, folder: Path | None = None) -> Plan:
    """Compare the DAG files with the pipelines (all of them, in the pipelines folder, by default)."""
    folder = folder or dags_dir()
    result = Plan()
    heads = {path: pipeline_head(path) for path in pipelines or discover()}  # one parse per file
    checked = [(path, CheckResult(display_path(path), dag_id)) for path, (dag_id, _) in heads.items()]
    result.problems = duplicate_dag_ids(r for _, r in checked)
    clashes = {p.file for p in result.problems}
    for path, checked_result in checked:
        if checked_result.file in clashes:
            continue
        unsafe = _unsafe_name(path, checked_result)
        if unsafe is not None:
            result.problems.append(unsafe)
            continue
        target = folder / f"{checked_result.dag_id}.py"
        result.pipeline_of[target] = path
        content = render(path, folder, heads[path][1])
        try:
            current = target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            current = None
        if current == content:
            result.unchanged.append(target)
        else:
            result.write[target] = content
    if pipelines is None and folder.is_dir():
        wanted = set(result.pipeline_of)
        result.remove = sorted(p for p in folder.glob("*.py") if p not in wanted and is_generated(p))
    return result


def _unsafe_name(path: Path, checked: CheckResult) -> Problem | None:
    """Why ``path`` gets no DAG file: its DAG id or file name is not a safe name (``validate`` reports
    the same with the line of ``dag_id``); None when both are safe."""
    found = name_problems(path, checked.dag_id, written=checked.dag_id != path.stem)
    if not found:
        return None
    first = found[0]
    return replace(first, message=f"no DAG file is written: {first.message}")


def apply(changes: Plan) -> None:
    for target, content in changes.write.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_text(content, encoding="utf-8")
        temporary.replace(target)  # the dag-processor never reads a half-written file
    for orphan in changes.remove:
        orphan.unlink(missing_ok=True)


def problems_of(changes: Plan) -> list[Problem]:
    """``validate``'s view: each DAG file that is missing, stale or orphaned, with the fix."""
    found = []
    for target in changes.write:
        pipeline = display_path(changes.pipeline_of[target])
        state = "is stale" if target.exists() else "is missing"
        found.append(
            Problem(
                pipeline,
                message=f"its DAG file {display_path(target)} {state}",
                hint="run `make sync` to write it",
                code=Code.DAG_FILE,
            )
        )
    for orphan in changes.remove:
        found.append(
            Problem(
                display_path(orphan),
                message="this generated DAG file's pipeline no longer exists",
                hint="run `make sync` to remove it",
                code=Code.DAG_FILE,
            )
        )
    return found
