"""Lineage as ``render`` shows it: the S3 locations each SageMaker task reads and writes, read from its
compiled request, so a reviewer sees before anything runs what the task's OpenLineage events will be
about (docs/data-aware.md). The events name the same locations, resolved: a training job's model is
``<output>/<job name>/output/model.tar.gz`` under the output shown here, and a location with a
template in it (a model's ``ModelDataUrl`` built from the training job's name) is shown as it is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sagemaker_pipelines.compile.compiler import CompiledTask


def _channels(definition: dict[str, Any]) -> list[str]:
    return [c["DataSource"]["S3DataSource"]["S3Uri"] for c in definition.get("InputDataConfig", [])]


def _training(config: dict[str, Any]) -> tuple[list[str], list[str]]:
    return _channels(config), [config["OutputDataConfig"]["S3OutputPath"]]


def _tuning(config: dict[str, Any]) -> tuple[list[str], list[str]]:
    return _training(config["TrainingJobDefinition"])


def _transform(config: dict[str, Any]) -> tuple[list[str], list[str]]:
    source = config["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    return [source], [config["TransformOutput"]["S3OutputPath"]]


def _processing(config: dict[str, Any]) -> tuple[list[str], list[str]]:
    reads = [i["S3Input"]["S3Uri"] for i in config.get("ProcessingInputs", []) if "S3Input" in i]
    outputs = config.get("ProcessingOutputConfig", {}).get("Outputs", [])
    return reads, [o["S3Output"]["S3Uri"] for o in outputs if "S3Output" in o]


def _model(config: dict[str, Any]) -> tuple[list[str], list[str]]:
    containers = [config.get("PrimaryContainer") or {}, *config.get("Containers", [])]
    return [c["ModelDataUrl"] for c in containers if c.get("ModelDataUrl")], []


# kind -> (reads, writes) of its compiled request (``config``).
_BY_KIND: dict[str, Callable[[dict[str, Any]], tuple[list[str], list[str]]]] = {
    "training": _training,
    "tuning": _tuning,
    "transform": _transform,
    "processing": _processing,
    "model": _model,
}


def reads_and_writes(task: CompiledTask) -> tuple[list[str], list[str]] | None:
    """The S3 locations a SageMaker task reads and writes, or None for a kind that has none."""
    config = task.kwargs.get("config")
    if task.kind not in _BY_KIND or not isinstance(config, dict):
        return None
    try:
        return _BY_KIND[task.kind](config)
    except (KeyError, TypeError):  # a request whose shape config: changed: nothing to say
        return None
