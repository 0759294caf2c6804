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

from sagemaker_pipelines.compile.assets import watcher
from sagemaker_pipelines.compile.callables import reference
from sagemaker_pipelines.compile.compiled import CompiledPipeline, CompiledTask
from sagemaker_pipelines.compile.kinds import KINDS
from sagemaker_pipelines.compile.kinds.spec import ANY_RESOURCE, Kind, Named
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

_ROLE_FIELDS = ("RoleArn", "ExecutionRoleArn")
_S3_READ_WRITE = ["s3:GetObject", "s3:PutObject"]  # HeadObject needs GetObject too
_SQS_WATCH = ["sqs:DeleteMessage", "sqs:ReceiveMessage"]  # DeleteMessageBatch is sqs:DeleteMessage
_XCOM = re.compile(r"ti\.xcom_pull\(task_ids='([^']+)'\)")
_SAGEMAKER_ARN = re.compile(r"^arn:[^:]+:sagemaker:[^:]*:[^:]*:[^/]+/(.+)$")


def describe_of(operation: str) -> str:
    """``CreateTrainingJob`` -> ``DescribeTrainingJob``: how the operators check and wait."""
    return re.sub(r"^(Create|Update)", "Describe", operation)


def name_pattern(value: str) -> str:
    """A name as an ARN pattern: up to its first template, then ``*``, then what follows its last template
    (an experiment SageMaker names after a job: ``<job>-aws-tuning-job``); lower case as in ARNs."""
    fixed, templated, rest = value.partition("{{")
    if not templated:
        return fixed.lower()
    tail = rest.rpartition("}}")[2]
    return fixed.lower() + "*" + tail.lower()


class _Arns:
    def __init__(self, environment: Environment) -> None:
        parts = environment.role_arn.split(":")
        self.partition, self.account, self.region = parts[1], parts[4], environment.region

    def sagemaker(self, resource_type: str, name: str) -> str:
        if resource_type == ANY_RESOURCE:
            return ANY_RESOURCE
        return f"arn:{self.partition}:sagemaker:{self.region}:{self.account}:{resource_type}/{name}"

    def s3(self, bucket: str, key: str | None = None) -> str:
        return f"arn:{self.partition}:s3:::{bucket}" + ("" if key is None else f"/{key}")

    def sqs(self, queue_url: str) -> str:
        """A queue URL (``https://sqs.<region>.amazonaws.com/<account>/<name>``) as its ARN."""
        account, name = queue_url.rstrip("/").split("/")[-2:]
        return f"arn:{self.partition}:sqs:{self.region}:{account}:{name}"


def _sagemaker_calls(task: CompiledTask, tasks: dict[str, CompiledTask]) -> Iterator[tuple[str, str, str]]:
    """(action, resource type, name pattern) of every SageMaker call the task makes, from its kind's spec."""
    kind = KINDS[task.kind]
    config = task.kwargs.get("config", {})
    tagged = kind.job is None and _tagged(task, kind)  # a job operator's own tag calls are its job's
    for call in kind.all_calls() or ():
        if not all(task.kwargs.get(condition.value, True) for condition in call.when):
            continue
        name = _call_name(task, tasks, config, call.named)
        if name is None:
            continue
        operation = call.operation
        if call.update_argument and task.kwargs.get(call.update_argument) == "update":
            operation = operation.replace("Create", "Update", 1)
        yield f"sagemaker:{operation}", call.resource, name
        if not operation.startswith(("Create", "Update")):
            continue
        if call.named.field:  # a request operator checks for its resource and waits with the describe
            yield f"sagemaker:{describe_of(operation)}", call.resource, name
        if tagged:
            yield "sagemaker:AddTags", call.resource, name


def _call_name(
    task: CompiledTask, tasks: dict[str, CompiledTask], config: dict[str, Any], named: Named
) -> str | None:
    """The ARN name pattern of a call's resource; None when the task does not give the name (no call)."""
    if named.any_name:
        return "*"
    value = config.get(named.field) if named.field else task.kwargs.get(named.argument)
    if not isinstance(value, str):
        return None
    return _name_of(tasks, value, named) + named.suffix


def _tagged(task: CompiledTask, kind: Kind) -> bool:
    """Whether the task's request (or the argument its spec names) carries tags."""
    if not kind.tags_at:
        return "Tags" in task.kwargs.get("config", {})
    tags: Any = task.kwargs
    for key in kind.tags_at:
        tags = tags.get(key) if isinstance(tags, dict) else None
    return bool(tags)


def _name_of(tasks: dict[str, CompiledTask], value: str, named: Named) -> str:
    """A name as an ARN pattern. One that reads another task's result is that task's own (from its request
    field, or the same argument); an execution's is ``<pipeline>/execution/*``."""
    if named.execution:
        return f"{name_pattern(_execution_of(tasks, value, named))}/execution/*"
    match = _XCOM.search(value)
    if match and match.group(1) in tasks:
        producer = tasks[match.group(1)].kwargs
        field = named.follows or named.field
        if field and field in producer.get("config", {}):
            return _name_of(tasks, producer["config"][field], Named(field=field))
        if named.argument and named.argument in producer:
            return _name_of(tasks, producer[named.argument], named)
        if named.follows and named.follows in producer:  # the other task's argument of another name
            return (
                _name_of(tasks, producer[named.follows], Named(argument=named.follows)) + named.follows_suffix
            )
        job = KINDS[tasks[match.group(1)].kind].job
        if job and job.name_field in producer.get("config", {}):  # a name made of a job's (and a suffix)
            job_name = _name_of(tasks, producer["config"][job.name_field], Named(field=job.name_field))
            return job_name + value.rpartition("}}")[2].lower()
    arn = _SAGEMAKER_ARN.match(value)
    return name_pattern(arn.group(1) if arn else value)


def _execution_of(tasks: dict[str, CompiledTask], value: str, named: Named) -> str:
    """The pipeline name of an execution: the start_pipeline task's own, the ARN's own part, or (a
    start_pipeline task's own argument) the pipeline's name itself."""
    if named.argument == "pipeline_name":
        return value
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
    roles = KINDS[task.kind].role_arguments
    yield from (task.kwargs[a] for a in roles if isinstance(task.kwargs.get(a), str))


class UnmappedKinds(ValueError):
    """Kinds that call SageMaker but whose least-privilege statements are not generated yet."""


def policy(pipelines: Iterable[CompiledPipeline], environment: Environment) -> dict[str, Any]:
    """The IAM policy document (JSON-ready) that lets these pipelines' tasks run, and nothing more.
    Raises :class:`UnmappedKinds` rather than print a policy that would miss a kind's calls."""
    pipelines = list(pipelines)
    unmapped = sorted(
        {
            f"{task.kind} ({pipeline.dag_id}.{task.task_id})"
            for pipeline in pipelines
            for task in pipeline.tasks
            if KINDS[task.kind].calls is None
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
    # Watcher schedules: the triggerer, with the pipeline's connection, long-polls the queue and deletes
    # the messages that start a run (the SqsSensorTrigger's ReceiveMessage and DeleteMessageBatch).
    queues = {arns.sqs(w["queue"]) for p in pipelines if (w := watcher(p.dag.get("schedule")))}
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
    if queues:
        statements.append(_statement("SqsWatch", _SQS_WATCH, sorted(queues)))
    return {"Version": POLICY_VERSION, "Statement": statements}


def _sns_topics(pipeline: CompiledPipeline) -> Iterator[str]:
    """The SNS topics the pipeline's notifications publish to (its callback markers of type sns)."""
    callbacks = ("on_failure_callback", "on_success_callback", "on_retry_callback")
    places = [pipeline.dag, *(task.kwargs for task in pipeline.tasks)]
    for markers in (place.get(name) or [] for place in places for name in callbacks):
        for marker in markers:
            spec = (ref.kwargs or {}) if (ref := reference(marker)) is not None else {}
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
