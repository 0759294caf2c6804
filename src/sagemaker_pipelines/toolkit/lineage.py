"""Lineage as ``render`` shows it: the S3 locations each SageMaker task reads and writes, read from its
compiled request by its kind's ``lineage`` (``compile/kinds/lineage.py``), so a reviewer sees before
anything runs what the task's OpenLineage events will be about (docs/data-aware.md). The events name the
same locations, resolved: a training job's model is ``<output>/<job name>/output/model.tar.gz`` under the
output shown here, and a location with a template in it (a model's ``ModelDataUrl`` built from the
training job's name) is shown as it is sent.
"""

from __future__ import annotations

from sagemaker_pipelines.compile.compiled import CompiledPipeline, CompiledTask
from sagemaker_pipelines.compile.kinds import KINDS


def reads_and_writes(task: CompiledTask) -> tuple[list[str], list[str]] | None:
    """The S3 locations a SageMaker task reads and writes, or None for a kind that has none."""
    kind = KINDS.get(task.kind)
    config = task.kwargs.get("config")
    if kind is None or kind.lineage is None or not isinstance(config, dict):
        return None
    try:
        return kind.lineage(config)
    except (KeyError, TypeError):  # a request whose shape config: changed: nothing to say
        return None


def datasets(compiled: CompiledPipeline) -> list[tuple[str, str, str]]:
    """(task id, S3 location, "in" or "out") for every SageMaker task of the pipeline, in task order,
    reads before writes: what ``render`` lists and ``graph`` draws."""
    found = []
    for task in compiled.tasks:
        if (pair := reads_and_writes(task)) is not None:
            reads, writes = pair
            found += [(task.task_id, uri, "in") for uri in reads]
            found += [(task.task_id, uri, "out") for uri in writes]
    return found
