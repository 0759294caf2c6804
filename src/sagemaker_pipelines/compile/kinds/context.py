"""What every task compiler gets: the resolved pipeline, its environment and the task at hand.

Also the conventions all SageMaker kinds share - job names, cross-task references through XCom, the
resource defaults - so each appears once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sagemaker_pipelines.format.durations import to_seconds
from sagemaker_pipelines.format.environment import Environment

RESOURCE_DEFAULTS = {
    "instance_type": "ml.m5.large",
    "instance_count": 1,
    "volume_size": 30,
    "max_runtime": 86400,
}

# Appended to every job name: the run's time and the task's try, so reruns and retries never collide.
RUN_SUFFIX = "-{{ dag_run.run_after | ts_nodash }}-{{ ti.try_number }}"
RUN_STAMP = "{{ dag_run.run_after | ts_nodash }}"
_SUFFIX_BUDGET = 20  # "-" + 15 chars of ts_nodash + "-" + up to 3 digits of try number
_DURATION_OPTIONS = ("max_ingestion_time",)


@dataclass
class Pipeline:
    """A pipeline after references are resolved: what the kind compilers read."""

    dag_id: str
    file: str
    data: dict[str, Any]
    environment: Environment
    bucket: str
    region: str
    role_arn: str
    aws_conn_id: str

    @property
    def tasks(self) -> dict[str, dict[str, Any]]:
        return self.data["tasks"]

    def default(self, name: str) -> Any:
        return self.data.get("defaults", {}).get(name, RESOURCE_DEFAULTS[name])


@dataclass
class TaskContext:
    """One task as its kind's compile function sees it, with the pipeline around it."""

    pipeline: Pipeline
    task_id: str
    task: dict[str, Any]

    def get(self, name: str, default: Any = None) -> Any:
        return self.task.get(name, default)

    def resource(self, name: str) -> Any:
        value = self.task.get(name, self.pipeline.default(name))
        return to_seconds(value) if name == "max_runtime" else value

    @property
    def role_arn(self) -> str:
        return self.task.get("role_arn", self.pipeline.role_arn)

    def job_name(self, limit: int = 63) -> str:
        """Templated, unique per run and try, within SageMaker's ``limit`` and name pattern."""
        base = self.task.get("name") or sanitize_name(f"{self.pipeline.dag_id}-{self.task_id}")
        return base[: limit - _SUFFIX_BUDGET].rstrip("-") + RUN_SUFFIX

    def default_output(self) -> str:
        return f"s3://{self.pipeline.bucket}/{self.pipeline.dag_id}/{self.task_id}/"

    def other(self, task_id: str) -> TaskContext:
        return TaskContext(self.pipeline, task_id, self.pipeline.tasks[task_id])

    def sagemaker_operator_args(self) -> dict[str, Any]:
        """Arguments every SageMaker operator takes, from the pipeline and environment."""
        return {"aws_conn_id": self.pipeline.aws_conn_id, "region_name": self.pipeline.region}

    def waiting_args(self, *options: str, wait: bool = True) -> dict[str, Any]:
        """How a SageMaker operator waits: ``wait_for_completion`` (``wait`` unless the task says),
        ``check_interval`` and those of the ``options`` (operator arguments such as
        ``max_ingestion_time``) the task or environment sets."""
        check_interval = self.task.get("check_interval", self.pipeline.environment.check_interval)
        deferrable = self.task.get("deferrable", self.pipeline.environment.deferrable)
        return {
            "wait_for_completion": self.task.get("wait_for_completion", wait),
            "check_interval": to_seconds(check_interval),
            **present(deferrable=deferrable),
            **self.operator_options(*options),
        }

    def operator_options(self, *names: str) -> dict[str, Any]:
        """Operator arguments the task sets, else the environment's ``operator_defaults`` (else the
        operator's own default, by leaving them out); ``print_log`` defaults to the environment's."""
        environment = self.pipeline.environment
        found: dict[str, Any] = {}
        for name in names:
            value = self.task.get(name, environment.operator_defaults.get(name))
            if name == "print_log" and value is None:
                value = environment.print_log if environment.print_log is not None else not environment.local
            if value is not None:
                found[name] = to_seconds(value) if name in _DURATION_OPTIONS else value
        return found


def sanitize_name(text: str) -> str:
    """Letters, digits and single hyphens: the shape every SageMaker name accepts."""
    return re.sub(r"-+", "-", re.sub(r"[^A-Za-z0-9]", "-", text)).strip("-") or "job"


def xcom(task_id: str, *keys: str) -> str:
    """A Jinja template reading (a field of) what another task returned."""
    path = "".join(f"[{json.dumps(k)}]" for k in keys).replace('"', "'")
    return "{{ ti.xcom_pull(task_ids='" + task_id + "')" + path + " }}"


def stringify(value: Any) -> str:
    """Hyperparameter values as the SageMaker API wants them: strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# Lists of named items in SageMaker requests: ``config:`` merges their entries by this name.
NAME_KEYS = ("ChannelName", "InputName", "OutputName", "VariantName", "Name")


def deep_merge(base: dict, override: dict) -> dict:
    """``config:`` escape hatch: override wins; nested mappings merge; lists of named items (channels,
    processing inputs and outputs, production variants, ...) merge item by item by their name, new names
    appended; any other list is replaced whole. A ``null`` value removes the generated field: the only way
    to send a request without a field the compiler adds (``StoppingCondition: null``)."""
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        elif isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = _merge_named(merged[key], value)
        else:
            merged[key] = value
    return merged


def _name_key(items: list) -> str | None:
    """The key that names every item of ``items`` (all mappings), if there is one."""
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    return next((k for k in NAME_KEYS if all(isinstance(i.get(k), str) for i in items)), None)


def _merge_named(base: list, override: list) -> list:
    key = _name_key(base)
    if key is None or _name_key(override) != key:
        return override
    merged = list(base)
    positions = {item[key]: i for i, item in enumerate(merged)}
    for item in override:
        if item[key] in positions:
            merged[positions[item[key]]] = deep_merge(merged[positions[item[key]]], item)
        else:
            positions[item[key]] = len(merged)
            merged.append(item)
    return merged


def present(**fields: Any) -> dict[str, Any]:
    """Only the fields that were given: optional API fields are left out rather than sent empty."""
    return {k: v for k, v in fields.items() if v is not None}
