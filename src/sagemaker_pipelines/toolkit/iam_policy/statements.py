"""``iam-policy``: the least-privilege IAM policy of the identity Airflow's workers use, from the requests.

Generated from what the pipelines compile to in one environment, not from a hand-kept list: for each
task, the SageMaker calls its operator (or sensor, or trigger) makes, on the ARNs of the names it uses
(job names end in the run's timestamp, so their ARNs are ``<name>-*`` patterns, lower-cased as SageMaker
writes them); ``iam:PassRole`` on every role a request hands to SageMaker, only to SageMaker; and S3 read
and write on the bucket prefixes the requests and transfers name. The SageMaker execution role (what
the jobs themselves may read and write) is a separate policy and not generated here.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from sagemaker_pipelines.compile.compiler import CompiledPipeline, CompiledTask
from sagemaker_pipelines.format.environment import Environment
from sagemaker_pipelines.toolkit.iam_policy.guardrails import passable_roles, split_read_only
from sagemaker_pipelines.toolkit.iam_policy.s3 import (
    OPERATOR_DELETES,
    OPERATOR_OBJECTS,
    key_pattern,
    operator_objects,
    s3_locations,
    unmapped_operator,
)

POLICY_VERSION = "2012-10-17"
SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"

# The SageMaker calls each kind makes: (API operation, resource type of its ARN, where the name is).
# A "describe" follows every create (existence check before, result or waiting after).
_CALLS: dict[str, list[tuple[str, str, str]]] = {
    "training": [("CreateTrainingJob", "training-job", "TrainingJobName")],
    "tuning": [
        ("CreateHyperParameterTuningJob", "hyper-parameter-tuning-job", "HyperParameterTuningJobName")
    ],
    "processing": [("CreateProcessingJob", "processing-job", "ProcessingJobName")],
    "transform": [
        ("CreateTransformJob", "transform-job", "TransformJobName"),
        ("DescribeModel", "model", "ModelName"),
    ],
    "model": [("CreateModel", "model", "ModelName")],
    "delete_model": [("DeleteModel", "model", "ModelName")],
    "endpoint_config": [("CreateEndpointConfig", "endpoint-config", "EndpointConfigName")],
    "endpoint": [
        ("CreateEndpoint", "endpoint", "EndpointName"),
        ("DescribeEndpointConfig", "endpoint-config", "EndpointConfigName"),
    ],
}
# The job operators of airflow/jobs/ also stop their job when the task is cancelled, and tag (and read the
# tags of) the job a successful try used, so that a retry re-attaches to an earlier try's job.
_ONE_JOB_PER_TASK = ("AddTags", "ListTags")
_STOPS = {
    "CreateTrainingJob": "StopTrainingJob",
    "CreateHyperParameterTuningJob": "StopHyperParameterTuningJob",
    "CreateProcessingJob": "StopProcessingJob",
    "CreateTransformJob": "StopTransformJob",
}
_SENSED = {  # sensors: the describe call they poll, its resource type and the request field of that name
    "training_sensor": ("DescribeTrainingJob", "training-job", "TrainingJobName"),
    "transform_sensor": ("DescribeTransformJob", "transform-job", "TransformJobName"),
    "tuning_sensor": (
        "DescribeHyperParameterTuningJob",
        "hyper-parameter-tuning-job",
        "HyperParameterTuningJobName",
    ),
    "endpoint_sensor": ("DescribeEndpoint", "endpoint", "EndpointName"),
    "processing_sensor": ("DescribeProcessingJob", "processing-job", "ProcessingJobName"),
    "automl_sensor": ("DescribeAutoMLJob", "automl-job", "AutoMLJobName"),
}
# Kinds whose operator takes its resource's name as an argument rather than in a ``config`` request:
# (calls always made, calls made only while it waits, resource type of the ARN, argument with the name).
_NOTEBOOK_WAIT = ("DescribeNotebookInstance",)  # the provider's notebook waiters poll this
_ARGUMENT_CALLS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str, str]] = {
    "automl": (("CreateAutoMLJob",), ("DescribeAutoMLJob",), "automl-job", "job_name"),
    "experiment": (("CreateExperiment",), (), "experiment", "name"),
    "notebook": (("CreateNotebookInstance",), _NOTEBOOK_WAIT, "notebook-instance", "instance_name"),
    "start_notebook": (("StartNotebookInstance",), _NOTEBOOK_WAIT, "notebook-instance", "instance_name"),
    "stop_notebook": (("StopNotebookInstance",), _NOTEBOOK_WAIT, "notebook-instance", "instance_name"),
    "delete_notebook": (("DeleteNotebookInstance",), _NOTEBOOK_WAIT, "notebook-instance", "instance_name"),
    "start_pipeline": (("StartPipelineExecution",), (), "pipeline", "pipeline_name"),
}
_ARGUMENT_TAGS = {"experiment": "tags", "notebook": "create_instance_kwargs"}  # where tags can be
_ARGUMENT_ROLES = ("role_arn",)  # operator arguments that hand a role to SageMaker (automl, notebook)
# SageMaker Pipelines executions: (calls, argument holding the execution's ARN). With ``verbose`` (the
# provider's default) each describe also lists the execution's steps.
_EXECUTION_CALLS: dict[str, tuple[tuple[str, ...], str]] = {
    "start_pipeline": (("DescribePipelineExecution",), ""),  # only while it waits
    "stop_pipeline": (("StopPipelineExecution", "DescribePipelineExecution"), "pipeline_exec_arn"),
    "pipeline_sensor": (("DescribePipelineExecution",), "pipeline_exec_arn"),
}
# Kinds that call no SageMaker API of their own (a gate compares values; the others are not SageMaker).
_NO_SAGEMAKER_CALLS = frozenset({"condition"})
_ROLE_FIELDS = ("RoleArn", "ExecutionRoleArn")
_S3_READ_WRITE = ["s3:GetObject", "s3:PutObject"]  # HeadObject needs GetObject too
_SAGEMAKER_MODULES = (
    "airflow.providers.amazon.aws.operators.sagemaker",
    "airflow.providers.amazon.aws.sensors.sagemaker",
    "sagemaker_pipelines.airflow.jobs.operators",
)
_XCOM = re.compile(r"ti\.xcom_pull\(task_ids='([^']+)'\)")


def describe_of(operation: str) -> str:
    """``CreateTrainingJob`` -> ``DescribeTrainingJob``: how the operators check and wait."""
    return re.sub(r"^(Create|Update)", "Describe", operation)


def name_pattern(value: str) -> str:
    """A name as an ARN pattern: up to its first template, then ``*``; lower case as in SageMaker ARNs."""
    fixed, templated, _ = value.partition("{{")
    return fixed.lower() + ("*" if templated else "")


class _Arns:
    def __init__(self, environment: Environment) -> None:
        parts = environment.role_arn.split(":")
        self.partition, self.account, self.region = parts[1], parts[4], environment.region

    def sagemaker(self, resource_type: str, name: str) -> str:
        return f"arn:{self.partition}:sagemaker:{self.region}:{self.account}:{resource_type}/{name}"

    def s3(self, bucket: str, key: str | None = None) -> str:
        return f"arn:{self.partition}:s3:::{bucket}" + ("" if key is None else f"/{key}")


def _name_of(tasks: dict[str, CompiledTask], value: str, field: str) -> str:
    """The name pattern of a field; one that reads another task's result is that task's own name."""
    match = _XCOM.search(value)
    if match and match.group(1) in tasks:
        config = tasks[match.group(1)].kwargs.get("config", {})
        if field in config:
            return _name_of(tasks, config[field], field)
    return name_pattern(value)


def _sagemaker_calls(task: CompiledTask, tasks: dict[str, CompiledTask]) -> Iterator[tuple[str, str, str]]:
    """(action, resource type, name pattern) of every SageMaker call the task makes."""
    config = task.kwargs.get("config", {})
    for operation, resource_type, field in _CALLS.get(task.kind, []):
        if field not in config:
            continue
        name = _name_of(tasks, config[field], field)
        if (
            task.kind == "endpoint"
            and operation == "CreateEndpoint"
            and task.kwargs.get("operation") == "update"
        ):
            operation = "UpdateEndpoint"
        yield f"sagemaker:{operation}", resource_type, name
        if operation.startswith(("Create", "Update")):
            yield f"sagemaker:{describe_of(operation)}", resource_type, name
        if operation in _STOPS:
            yield f"sagemaker:{_STOPS[operation]}", resource_type, name
            for action in _ONE_JOB_PER_TASK:
                yield f"sagemaker:{action}", resource_type, name
        elif "Tags" in config:
            yield "sagemaker:AddTags", resource_type, name
    if task.kind == "register_model":  # the operator makes the group when missing, then a version in it
        group = name_pattern(task.kwargs["package_group_name"])
        yield "sagemaker:CreateModelPackageGroup", "model-package-group", group
        yield "sagemaker:CreateModelPackage", "model-package", f"{group}/*"
        yield "sagemaker:CreateModelPackage", "model-package-group", group  # authorised on the group too
    yield from _argument_calls(task, tasks)
    if task.kind in _SENSED:
        action, resource_type, field = _SENSED[task.kind]
        value = task.kwargs.get("job_name") or task.kwargs.get("endpoint_name") or ""
        yield f"sagemaker:{action}", resource_type, _name_of(tasks, value, field)


def _argument_calls(task: CompiledTask, tasks: dict[str, CompiledTask]) -> Iterator[tuple[str, str, str]]:
    """The calls of the kinds that name their resource in an operator argument, and of the SageMaker
    Pipelines executions (whose ARNs SageMaker makes: ``pipeline/<name>/execution/<id>``)."""
    kwargs = task.kwargs
    waits = kwargs.get("wait_for_completion", True)
    if task.kind in _ARGUMENT_CALLS:
        always, waiting, resource_type, argument = _ARGUMENT_CALLS[task.kind]
        name = name_pattern(_argument_name(tasks, kwargs[argument], argument))
        for operation in always + (waiting if waits else ()):
            yield f"sagemaker:{operation}", resource_type, name
        tags = kwargs.get(_ARGUMENT_TAGS.get(task.kind, ""))
        if tags and (task.kind != "notebook" or "Tags" in tags):
            yield "sagemaker:AddTags", resource_type, name
    if task.kind in _EXECUTION_CALLS and (task.kind != "start_pipeline" or waits):
        operations, argument = _EXECUTION_CALLS[task.kind]
        execution = _execution_of(tasks, kwargs[argument]) if argument else f"{kwargs['pipeline_name']}"
        if kwargs.get("verbose", True):
            operations = (*operations, "ListPipelineExecutionSteps")
        for operation in operations:
            yield f"sagemaker:{operation}", "pipeline", f"{name_pattern(execution)}/execution/*"


def _argument_name(tasks: dict[str, CompiledTask], value: str, argument: str) -> str:
    """A name argument; one read from another task (a notebook task's instance) is that task's own."""
    match = _XCOM.search(value)
    if match and match.group(1) in tasks and argument in tasks[match.group(1)].kwargs:
        return _argument_name(tasks, tasks[match.group(1)].kwargs[argument], argument)
    return value


def _execution_of(tasks: dict[str, CompiledTask], value: str) -> str:
    """The pipeline name of an execution ARN: the start_pipeline task's own, or the ARN's own part."""
    match = _XCOM.search(value)
    if match and match.group(1) in tasks:
        return tasks[match.group(1)].kwargs.get("pipeline_name", "*")
    arn_match = re.search(r":pipeline/([^/]+)/execution/", value)
    return arn_match.group(1) if arn_match else "*"


def _roles(task: CompiledTask) -> Iterator[str]:
    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in _ROLE_FIELDS and isinstance(item, str):
                    yield item
                else:
                    yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    yield from walk(task.kwargs.get("config", {}))
    if task.kind in _ARGUMENT_CALLS:
        yield from (task.kwargs[a] for a in _ARGUMENT_ROLES if isinstance(task.kwargs.get(a), str))


class UnmappedKinds(ValueError):
    """Kinds that call SageMaker but whose least-privilege statements are not generated yet."""


MAPPED_KINDS = (
    frozenset(_CALLS)
    | frozenset(_SENSED)
    | frozenset(_ARGUMENT_CALLS)
    | frozenset(_EXECUTION_CALLS)
    | _NO_SAGEMAKER_CALLS
    | {"register_model"}
)


def policy(pipelines: Iterable[CompiledPipeline], environment: Environment) -> dict[str, Any]:
    """The IAM policy document (JSON-ready) that lets these pipelines' tasks run, and nothing more.
    Raises :class:`UnmappedKinds` rather than print a policy that would miss a kind's calls."""
    from sagemaker_pipelines.compile.kinds import KINDS

    pipelines = list(pipelines)
    unmapped = sorted(
        {
            f"{task.kind} ({pipeline.dag_id}.{task.task_id})"
            for pipeline in pipelines
            for task in pipeline.tasks
            if task.kind not in MAPPED_KINDS and KINDS[task.kind].operator.startswith(_SAGEMAKER_MODULES)
        }
    )
    operators = sorted(  # kind: operator: any class the platform allows; its permissions are the platform's
        f"{pipeline.dag_id}.{task.task_id} ({task.operator}: {why})"
        for pipeline in pipelines
        for task in pipeline.tasks
        if task.kind == "operator" and (why := unmapped_operator(task))
    )
    refused = []
    if unmapped:
        studio = any(u.startswith("studio_") for u in unmapped)
        why = "; studio_notebook kinds: the role they pass is the project's, known only to DataZone"
        refused.append(
            "no least-privilege statements are generated for these SageMaker tasks yet: "
            + ", ".join(unmapped)
            + " (write their statements by hand, or leave these pipelines out)"
            + (why + ", see docs/lifecycle.md" if studio else "")
        )
    if operators:
        refused.append(
            "no statements are generated for these operator tasks: their classes come from the "
            "environment's allowed_operators, and the platform team that allows a class owns its "
            "permissions: "
            + ", ".join(operators)
            + " (add their statements by hand, or leave these pipelines out)"
        )
    if refused:
        raise UnmappedKinds("; ".join(refused))
    arns = _Arns(environment)
    by_resource: dict[str, set[str]] = defaultdict(set)
    roles: set[str] = set()
    objects: set[str] = set()
    buckets: set[str] = set()
    deleted: set[str] = set()
    for pipeline in pipelines:
        tasks = {t.task_id: t for t in pipeline.tasks}
        for task in pipeline.tasks:
            for action, resource_type, name in _sagemaker_calls(task, tasks):
                by_resource[arns.sagemaker(resource_type, name)].add(action)
            roles.update(_roles(task))
            if task.kind == "operator":
                for bucket, key in operator_objects(task, OPERATOR_OBJECTS[task.operator]):
                    objects.add(arns.s3(bucket, key))
                    buckets.add(arns.s3(bucket))
                for bucket, key in operator_objects(task, OPERATOR_DELETES.get(task.operator, ())):
                    deleted.add(arns.s3(bucket, key))
                    buckets.add(arns.s3(bucket))
            for bucket, key in s3_locations(task):
                objects.add(arns.s3(bucket, key_pattern(key)))
                buckets.add(arns.s3(bucket))
    topics = {arn for pipeline in pipelines for arn in _sns_topics(pipeline)}  # notify: sns notifiers
    # Nothing the environment's guardrails forbid (toolkit/iam_policy/guardrails.py).
    roles = set(passable_roles(roles, environment))
    objects, read_only = split_read_only(objects, deleted, environment)
    statements = []
    grouped: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for resource, actions in by_resource.items():
        grouped[tuple(sorted(actions))].append(resource)
    for index, (actions, resources) in enumerate(sorted(grouped.items()), start=1):
        statements.append(_statement(f"SageMaker{index}", list(actions), sorted(resources)))
    if roles:
        condition = {"StringEquals": {"iam:PassedToService": SAGEMAKER_PRINCIPAL}}
        statements.append(_statement("PassRoleToSageMaker", ["iam:PassRole"], sorted(roles), condition))
    if objects:
        statements.append(_statement("S3ReadWrite", _S3_READ_WRITE, _widest(objects)))
    if read_only:  # buckets the guardrails allow reading only
        statements.append(_statement("S3Read", ["s3:GetObject"], _widest(read_only)))
    if deleted:  # operator tasks that delete objects (S3DeleteObjectsOperator)
        statements.append(_statement("S3Delete", ["s3:DeleteObject"], _widest(deleted)))
    if objects or read_only or deleted:
        # Unconditioned: with it, S3 answers a missing key with 404 (which the hooks expect), not 403.
        statements.append(_statement("S3List", ["s3:ListBucket"], sorted(buckets)))
    if topics:
        statements.append(_statement("SnsNotify", ["sns:Publish"], sorted(topics)))
    return {"Version": POLICY_VERSION, "Statement": statements}


def _sns_topics(pipeline: CompiledPipeline) -> Iterator[str]:
    """The SNS topics the pipeline's notifications publish to (its callback markers of type sns)."""
    callbacks = ("on_failure_callback", "on_success_callback", "on_retry_callback")
    places = [pipeline.dag, *(task.kwargs for task in pipeline.tasks)]
    for markers in (place.get(name) or [] for place in places for name in callbacks):
        for marker in markers:
            spec = marker.get("__kwargs__", {}) if isinstance(marker, dict) else {}
            if spec.get("type") == "sns":
                yield spec["options"]["topic_arn"]


def _widest(patterns: set[str]) -> list[str]:
    """Drop the patterns another one covers (``a/b*`` covers ``a/b/c.csv*``): a shorter, equal policy."""
    ordered = sorted(patterns)
    kept: list[str] = []
    for pattern in ordered:
        if not any(pattern.startswith(k.removesuffix("*")) for k in kept):
            kept.append(pattern)
    return kept


def _statement(sid: str, actions: list[str], resources: list[str], condition: dict | None = None) -> dict:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"
