"""Where a kind's request reads and writes S3: the datasets of a task's lineage.

One function per request shape, named on the kind's spec (``Kind.lineage``): ``render`` lists these
locations before anything runs (``toolkit/lineage.py``), and the OpenLineage extractors of the operators
the provider leaves without lineage (model, tuning: ``airflow/lineage.py``) emit them when a task runs, so
the two never disagree. The provider's training, transform and processing operators emit their own
events from the job's Describe answer; for them these say, from the request, what those events will name.
"""

from __future__ import annotations

from typing import Any

Datasets = tuple[list[str], list[str]]  # (S3 locations read, S3 locations written)


def _channels(definition: dict[str, Any]) -> list[str]:
    return [
        c["DataSource"]["S3DataSource"]["S3Uri"]
        for c in definition.get("InputDataConfig", [])
        if "S3DataSource" in c.get("DataSource", {})
    ]


def training(config: dict[str, Any]) -> Datasets:
    """A training job reads its channels and writes its model under its output path."""
    output = config.get("OutputDataConfig", {}).get("S3OutputPath")
    return _channels(config), [output] if output else []


def tuning(config: dict[str, Any]) -> Datasets:
    """A tuning job reads its training channels and writes every training job's model under its output."""
    return training(config.get("TrainingJobDefinition", {}))


def transform(config: dict[str, Any]) -> Datasets:
    source = config["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    return [source], [config["TransformOutput"]["S3OutputPath"]]


def processing(config: dict[str, Any]) -> Datasets:
    reads = [i["S3Input"]["S3Uri"] for i in config.get("ProcessingInputs", []) if "S3Input" in i]
    outputs = config.get("ProcessingOutputConfig", {}).get("Outputs", [])
    return reads, [o["S3Output"]["S3Uri"] for o in outputs if "S3Output" in o]


def model(config: dict[str, Any]) -> Datasets:
    """A model reads its container's (or containers') artifacts."""
    containers = [config.get("PrimaryContainer") or {}, *config.get("Containers", [])]
    return [c["ModelDataUrl"] for c in containers if c.get("ModelDataUrl")], []
