"""Assets nobody publishes: ``validate``'s project-wide warning for a pipeline scheduled on an asset that
no task of any pipeline of the project publishes (``publish:``).

Such a pipeline is valid - an event can come from outside (the REST API, another Airflow, a watcher) -
but usually it is a typo in the URI or a producer that forgot ``publish:``, and then the pipeline
never runs. A warning shows it in CI without failing it. Assets are compared per environment, since
a bucket can differ between them.
"""

from __future__ import annotations

from pathlib import Path

from sagemaker_pipelines.checker import CheckResult, parse, read_pipeline
from sagemaker_pipelines.compile.assets import scheduled_on, watcher
from sagemaker_pipelines.problems import WARNING, Problem

HINT = "publish it from the task that writes it (publish: true), or check the URI; see docs/data-aware.md"


def published_by(result: CheckResult) -> set[str]:
    """The asset URIs a checked pipeline's tasks publish and its watcher feeds (none when it did not
    compile): a watched S3 prefix or queue is fed by events from outside, for every pipeline on it."""
    if result.compiled is None:
        return set()
    uris = {uri for task in result.compiled.tasks for uri in task.kwargs.get("outlets", [])}
    watched = watcher(result.compiled.dag.get("schedule"))
    return uris | ({watched["asset"]} if watched else set())


def scheduled_by(result: CheckResult) -> list[str]:
    """The asset URIs a checked pipeline is scheduled on."""
    return scheduled_on(result.compiled.dag.get("schedule")) if result.compiled else []


def _schedule_position(path: Path) -> tuple[int, int]:
    text = read_pipeline(path)
    doc = parse(text, path) if isinstance(text, str) else None
    if doc is None or isinstance(doc, CheckResult):
        return 1, 1
    return doc.position(("schedule",))


def unpublished(path: Path, file: str, scheduled: list[str], published: set[str]) -> list[Problem]:
    """A warning for each asset a pipeline waits on that nothing in ``published`` provides."""
    missing = [uri for uri in scheduled if uri not in published]
    if not missing:
        return []
    line, column = _schedule_position(path)
    problems = []
    for uri in missing:
        message = (
            f"no pipeline publishes asset '{uri}' and no watcher feeds it: "
            "this pipeline runs only when its events are created by hand"
        )
        problems.append(Problem(file, line, column, "schedule", message, HINT, "assets", WARNING))
    return problems
