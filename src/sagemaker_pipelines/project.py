"""The project's set of pipelines: which files there are, and the one rule that spans files.

A DAG id must be unique across the project. Airflow loads each pipeline through its own DAG file
(``dags/<dag_id>.py``, see :mod:`sagemaker_pipelines.airflow.loader`), so the file system keeps two
pipelines from claiming one id at parse time; ``validate`` and ``sync`` report the clash by file and line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sagemaker_pipelines.cache.compile_cache import CompileCache, check_file_cached
from sagemaker_pipelines.checker import CheckResult, check_file, dag_id_for, parse
from sagemaker_pipelines.format.environment import Environment
from sagemaker_pipelines.paths import pipelines_dir
from sagemaker_pipelines.problems import Code, Problem

PIPELINE_SUFFIXES = (".yaml", ".yml")


def discover(folder: Path | None = None) -> list[Path]:
    """Every ``*.yaml``/``*.yml`` below the pipelines folder, in a stable order; a dangling symbolic link
    is included, so that it is reported rather than silently skipped."""
    root = folder or pipelines_dir()
    return sorted(
        p for p in root.rglob("*") if p.suffix in PIPELINE_SUFFIXES and (p.is_file() or p.is_symlink())
    )


def pipeline_head(path: Path) -> tuple[str, set[str]]:
    """A file's DAG id and the task kinds it names, from its YAML alone (no checking), in one parse:
    ``dag_id`` when it sets one, else its name; no kinds when it does not parse."""
    try:
        doc = parse(path.read_text(encoding="utf-8"), path)
    except (OSError, UnicodeDecodeError):
        return path.stem, set()
    if isinstance(doc, CheckResult):
        return doc.dag_id, set()
    tasks = doc.data.get("tasks")  # parse: data is a mapping
    kinds = {
        t["kind"]
        for t in (tasks.values() if isinstance(tasks, dict) else ())
        if isinstance(t, dict) and isinstance(t.get("kind"), str)
    }
    return dag_id_for(path, doc.data), kinds


def dag_id_of(path: Path) -> str:
    """A file's DAG id from its YAML alone (no checking): ``dag_id`` when it sets one, else its name."""
    return pipeline_head(path)[0]


@dataclass
class CheckedPipelines:
    """Every file's result, plus problems that span files (duplicate DAG ids)."""

    results: list[CheckResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def good(self) -> list[CheckResult]:
        duplicated = {p.file for p in self.problems}
        return [r for r in self.results if r.ok and r.file not in duplicated]


class DagIdOwners:
    """Which file claimed each DAG id first, for telling later files that the id is taken."""

    def __init__(self) -> None:
        self.owners: dict[str, str] = {}

    def claim(self, result: CheckResult) -> Problem | None:
        first = self.owners.setdefault(result.dag_id, result.file)
        if first == result.file:
            return None
        return Problem(
            result.file,
            *result.dag_id_at,
            "dag_id",
            f"dag_id '{result.dag_id}' is already used by {first}",
            "DAG ids must be unique: set dag_id or rename the file",
            code=Code.DUPLICATE,
        )


def duplicate_dag_ids(results: Iterable[CheckResult]) -> list[Problem]:
    """A problem for each file whose DAG id an earlier file (in the given order) already uses."""
    owners = DagIdOwners()
    return [problem for result in results if (problem := owners.claim(result))]


def check_all(
    environment: Environment, files: list[Path] | None = None, cache: CompileCache | None = None
) -> CheckedPipelines:
    """Check each file on its own (answered from ``cache`` when given), then the ids across files."""
    checked = CheckedPipelines()
    for path in discover() if files is None else files:
        result = (
            check_file(path, environment) if cache is None else check_file_cached(path, environment, cache)
        )
        checked.results.append(result)
    checked.problems = duplicate_dag_ids(checked.results)
    return checked


def find_pipeline(spec: str) -> Path | None:
    """A pipeline given as a path, or as a file stem under the pipelines folder (any depth)."""
    path = Path(spec)
    if path.suffix in PIPELINE_SUFFIXES and path.is_file():
        return path
    folder = pipelines_dir()
    for suffix in PIPELINE_SUFFIXES:
        candidate = folder / f"{spec}{suffix}"
        if candidate.is_file():
            return candidate
    matches = [p for p in discover(folder) if p.stem == spec] if folder.is_dir() else []
    return matches[0] if matches else None
