"""One check of a SageMaker request against the environment's guardrails (``format/guardrails.py``).

The same function judges a request twice: when ``validate`` compiles a pipeline (literal values; a value
still a template is left for later) and when the task runs, on the request as Airflow rendered it
(params, task outputs, ``for_each`` elements put in), before the operator sends it. It reads the final
request - after ``config:`` merged into it - so no field of a task or of ``config:`` gets around it.

With guardrails, ``config:`` may not set what the platform fixes (:data:`PROTECTED`, KMS keys, the
required tags): the escape hatch is for API fields the task format lacks, not for another account's
role, a VPC or an upload of any file of the worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sagemaker_pipelines.format.guardrails import Guardrails

# Request members that config: may never set when an environment has guardrails.
PROTECTED = (
    "RoleArn",
    "ExecutionRoleArn",
    "VpcConfig",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "S3Operations",  # the operator uploads these local files before the job: only the compiler writes it
)
_ROLE_HINT = "write role_arn on the task or the pipeline: it is checked against the guardrails' roles"
_NETWORK_HINT = "the platform team decides the network and encryption of jobs; remove it"
_PROTECTED_HINTS = {
    "RoleArn": _ROLE_HINT,
    "ExecutionRoleArn": _ROLE_HINT,
    "S3Operations": "use entry_point: the operator then uploads the task's own include/ code",
}
ROLE_KEYS = ("RoleArn", "ExecutionRoleArn")
COUNT_KEYS = ("InstanceCount", "InitialInstanceCount")
RUNTIME_KEYS = ("MaxRuntimeInSeconds", "MaxAutoMLJobRuntimeInSeconds")
# Members under which an s3:// location is written to (every other location is read).
WRITE_KEYS = frozenset(
    {
        "OutputDataConfig",
        "ProcessingOutputConfig",
        "TransformOutput",
        "CheckpointConfig",
        "DebugHookConfig",
        "TensorBoardOutputConfig",
        "ProfilerConfig",
        "DataCaptureConfig",
        "OutputConfig",
        "S3Operations",
        "S3OutputPath",
    }
)
# Kinds whose ``config`` request takes Tags: where required tags are added and checked.
TAGGED_KINDS = frozenset(
    {"training", "tuning", "processing", "transform", "model", "endpoint_config", "endpoint"}
)
# Kinds whose requests carry nothing a guardrail limits (names and ARNs of what exists, a pipeline's
# parameters): no run-time check is attached to them.
UNGUARDED_KINDS = frozenset(
    {
        "delete_model",
        "start_pipeline",
        "stop_pipeline",
        "start_notebook",
        "stop_notebook",
        "delete_notebook",
        "experiment",
    }
)
# Transfer kinds that name buckets in operator arguments: (argument, written to).
BUCKET_ARGUMENTS = {
    "s3_upload": (("dest_bucket", True),),
    "s3_key_sensor": (("bucket_name", False),),
    "s3_to_redshift": (("s3_bucket", False),),
    "s3_to_sql": (("s3_bucket", False),),
}


@dataclass(frozen=True)
class Breach:
    """One value beyond a guardrail: where in the request (API member path, or the task argument),
    which guardrail, the value, and the message that names both and what is allowed."""

    path: tuple
    guardrail: str
    value: Any
    message: str


def is_kms_key(name: str) -> bool:
    return name.endswith(("KmsKeyId", "KmsKey", "KMSKeyId", "KmsKeyArn"))


def is_runtime(value: Any) -> bool:
    """A value known only when the task runs: a template, or a for_each marker the compiler left in."""
    return isinstance(value, str) and ("{{" in value or "${" in value)


def _walk(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """(path, value) of everything inside ``value``, parents before their children, in order: one
    generator and a stack of iterators rather than a generator per level (every request of every
    pipeline is walked)."""
    if not isinstance(value, dict | list):
        return
    stack = [(path, iter(value.items() if isinstance(value, dict) else enumerate(value)))]
    while stack:
        where, items = stack[-1]
        for key, item in items:
            inner = (*where, key)
            yield inner, item
            if isinstance(item, dict):
                stack.append((inner, iter(item.items())))
                break
            if isinstance(item, list):
                stack.append((inner, iter(enumerate(item))))
                break
        else:
            stack.pop()


def _kind_words(kind: str) -> str:
    return kind.replace("_", " ") + " tasks"


def _bucket_of(uri: str, rendered: bool) -> str | None:
    """The bucket of an ``s3://`` location; None when it is only known at run time."""
    bucket = uri.removeprefix("s3://").partition("/")[0]
    return None if not bucket or (is_runtime(bucket) and not rendered) else bucket


def _integer(value: Any) -> int | None:
    """A count or a number of seconds: an int, or the digits a rendered template leaves (the operators
    turn those into ints before they send the request)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def check_request(
    kind: str,
    request: dict[str, Any],
    guardrails: Guardrails,
    environment: str,
    own_bucket: str = "",
    rendered: bool = False,
) -> list[Breach]:
    """Every value of ``request`` (a ``kind`` task's API request) beyond ``guardrails``. Unless the
    request is ``rendered`` (the run-time check), values still templates are skipped: the run sees them
    rendered; a rendered value is judged whatever it looks like."""
    found: list[Breach] = []
    where = f"in environment '{environment}'"
    types = guardrails.instance_types_for(kind)
    max_count = guardrails.max_instance_count_for(kind)
    max_runtime = guardrails.max_runtime_for(kind)
    for path, value in _walk(request):
        if not isinstance(value, str | int) or isinstance(value, bool):
            continue  # only text and whole numbers are judged below
        if not rendered and is_runtime(value):
            continue
        key = path[-1]
        number = _integer(value) if key in COUNT_KEYS or key in RUNTIME_KEYS else None
        if key == "InstanceType" and types and isinstance(value, str):
            if not any(_glob(value, pattern) for pattern in types):
                message = f"instance type '{value}' is not allowed for {_kind_words(kind)} {where}"
                found.append(
                    Breach(path, "instance_types", value, f"{message} (allowed: {', '.join(types)})")
                )
        elif key in COUNT_KEYS and max_count is not None and number is not None and number > max_count:
            message = f"{number} instances; {_kind_words(kind)} {where} may use at most {max_count}"
            found.append(Breach(path, "max_instance_count", value, message))
        elif key in RUNTIME_KEYS and max_runtime is not None and number is not None and number > max_runtime:
            message = f"a run time of {number} s; {_kind_words(kind)} {where} may run at most {max_runtime} s"
            found.append(Breach(path, "max_runtime", value, message))
        elif key in ROLE_KEYS and isinstance(value, str) and not guardrails.role_allowed(value):
            message = (
                f"role '{value}' is not one jobs may run as {where} (allowed: {', '.join(guardrails.roles)})"
            )
            found.append(Breach(path, "roles", value, message))
        elif isinstance(value, str) and (
            value.startswith("s3://") or (key == "Bucket" and "S3Operations" in path)
        ):
            write = any(part in WRITE_KEYS for part in path)
            found += _bucket_breach(path, value, write, guardrails, where, own_bucket, rendered)
    return found + _tag_breaches(kind, request, guardrails, where, rendered)


def _glob(value: str, pattern: str) -> bool:
    from fnmatch import fnmatchcase

    return fnmatchcase(value, pattern)


def _bucket_breach(
    path: tuple, value: str, write: bool, guardrails: Guardrails, where: str, own: str, rendered: bool
) -> list[Breach]:
    bucket = _bucket_of(value, rendered) if value.startswith("s3://") else value
    if bucket is None or guardrails.bucket_allowed(bucket, write, own):
        return []
    allowed = (
        [own, *guardrails.write_buckets]
        if write
        else [own, *guardrails.read_buckets, *guardrails.write_buckets]
    )
    verb = "write to" if write else "read from"
    message = f"jobs {where} may not {verb} bucket '{bucket}' (allowed: {', '.join(b for b in allowed if b)})"
    return [Breach(path, "buckets", value, message)]


def _tag_breaches(
    kind: str, request: dict[str, Any], guardrails: Guardrails, where: str, rendered: bool
) -> list[Breach]:
    if kind not in TAGGED_KINDS or not guardrails.required_tags:
        return []
    tags = request.get("Tags") if isinstance(request.get("Tags"), list) else []
    values = {t.get("Key"): t.get("Value") for t in tags if isinstance(t, dict)}
    found = []
    for key, required in guardrails.required_tags.items():
        if key not in values:
            message = f"every request {where} carries the tag '{key}'; set it in config: Tags"
            found.append(Breach(("Tags",), "required_tags", None, message))
        elif required is not None and values[key] != required and (rendered or not is_runtime(values[key])):
            message = f"tag '{key}' is '{values[key]}'; {where} it is '{required}'"
            found.append(Breach(("Tags",), "required_tags", values[key], message))
    return found


def check_arguments(
    kind: str,
    kwargs: dict[str, Any],
    guardrails: Guardrails,
    environment: str,
    own: str = "",
    rendered: bool = False,
) -> list[Breach]:
    """The buckets a transfer task names in its operator arguments."""
    found = []
    where = f"in environment '{environment}'"
    for argument, write in BUCKET_ARGUMENTS.get(kind, ()):
        value = kwargs.get(argument)
        if isinstance(value, str) and (rendered or not is_runtime(value)):
            found += _bucket_breach((argument,), value, write, guardrails, where, own, rendered)
    return found


def check_task(
    kind: str,
    kwargs: dict[str, Any],
    guardrails: Guardrails,
    environment: str,
    own: str = "",
    rendered: bool = False,
) -> list[Breach]:
    """A compiled task's operator arguments (as compiled, or ``rendered`` when it runs) against the
    guardrails: its API request if it sends one, and the buckets of transfer tasks. A rendered request
    that cannot be rebuilt is a breach: the check must never pass for want of looking."""
    from sagemaker_pipelines.compile.kinds import KINDS

    spec = KINDS[kind]
    found = check_arguments(kind, kwargs, guardrails, environment, own, rendered)
    if spec.api_operation:
        try:
            request = spec.request_of(kwargs)
        except (KeyError, TypeError, AttributeError) as exc:
            if not rendered:
                return found  # validate: the botocore check reports a request it cannot build
            message = f"the {spec.api_operation} request could not be rebuilt to check it ({exc!r})"
            return [*found, Breach((), "request", None, message)]
        if isinstance(request, dict):
            found += check_request(kind, request, guardrails, environment, own, rendered)
    return found


def protected_in_config(config: Any, guardrails: Guardrails) -> list[tuple[tuple, str, str]]:
    """What a task's ``config:`` sets that the platform fixes: (path in config, message, hint)."""
    found = []
    for path, value in _walk(config):
        key = path[-1]
        if isinstance(key, str) and (key in PROTECTED or is_kms_key(key)):
            message = f"config: may not set {key}: with guardrails, the environment decides it"
            found.append((path, message, _PROTECTED_HINTS.get(key, _NETWORK_HINT)))
        elif path[-2:-1] == ("Tags",) and isinstance(value, dict):
            required = guardrails.required_tags.get(value.get("Key"))
            if required is not None and value.get("Value") != required:
                message = (
                    f"config: may not change the tag '{value['Key']}': "
                    f"the environment sets it to '{required}' (guardrails)"
                )
                found.append(((*path, "Value") if "Value" in value else path, message, "remove this tag"))
    return found


def with_required_tags(kind: str, config: dict[str, Any], guardrails: Guardrails | None) -> dict[str, Any]:
    """``config`` with the environment's fixed-value tags added (a tag the task sets otherwise is
    refused by validate, so adding never hides one)."""
    if guardrails is None or kind not in TAGGED_KINDS:
        return config
    fixed = {k: v for k, v in guardrails.required_tags.items() if v is not None}
    if not fixed:
        return config
    tags = [t for t in config.get("Tags", []) if not (isinstance(t, dict) and t.get("Key") in fixed)]
    return {**config, "Tags": [*tags, *({"Key": k, "Value": v} for k, v in fixed.items())]}


def fan_out_breaches(widths: dict[str, int], guardrails: Guardrails, environment: str) -> dict[str, str]:
    """task id -> why its literal for_each list is too wide (``widths``: the literal lists' lengths)."""
    found: dict[str, str] = {}
    where = f"in environment '{environment}'"
    per_task, per_run = guardrails.max_fan_out_per_task, guardrails.max_fan_out_per_run
    for task_id, width in widths.items():
        if per_task is not None and width > per_task:
            found[task_id] = (
                f"guardrail max_fan_out.per_task: {width} elements; "
                f"a task {where} fans out to at most {per_task}"
            )
    total = sum(widths.values())
    if per_run is not None and total > per_run:
        for task_id in widths:
            found.setdefault(
                task_id,
                f"guardrail max_fan_out.per_run: the for_each lists of this pipeline have {total} "
                f"elements together; a run {where} fans out to at most {per_run}",
            )
    return found


def refusal(breaches: list[Breach]) -> str:
    """One message for the run-time refusal: every breach, each naming its guardrail."""
    return "; ".join(f"guardrail {b.guardrail}: {b.message}" for b in breaches)
