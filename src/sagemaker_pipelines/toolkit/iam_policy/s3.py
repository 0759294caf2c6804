"""The S3 side of the IAM policy: which bucket keys a task reads, writes or deletes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sagemaker_pipelines.compile.compiled import CompiledTask


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def s3_locations(task: CompiledTask) -> Iterator[tuple[str, str]]:
    """(bucket, key pattern) of every S3 location the task names: URIs, uploads and transfers."""
    for text in strings(task.kwargs):
        for uri in re.findall(r"s3://[^\s'\"]+", text):
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            yield bucket, key
    for upload in task.kwargs.get("config", {}).get("S3Operations", {}).get("S3Upload", []):
        yield upload["Bucket"], upload["Key"]
    kwargs = task.kwargs
    for bucket_arg, key_arg in (
        ("dest_bucket", "dest_key"),
        ("s3_bucket", "s3_key"),
        ("bucket_name", "bucket_key"),
    ):
        if isinstance(kwargs.get(bucket_arg), str) and isinstance(kwargs.get(key_arg), str):
            yield kwargs[bucket_arg], kwargs[key_arg]


def key_pattern(key: str) -> str:
    """Up to the first template, then ``*``: ``code/{{ ts }}/x.tar.gz`` -> ``code/*``. A plain key gets a
    ``*`` too: output locations are prefixes that jobs write below (``results`` -> ``results/x.out``)."""
    return key.partition("{{")[0] + "*"


_S3_OPERATORS = "airflow.providers.amazon.aws.operators.s3."
# kind: operator classes whose AWS calls are known: the (bucket, key) arguments of the objects they read
# or write, and of those they delete. Any other allowed class is refused by name: the platform team that
# allows it owns its permissions.
OPERATOR_OBJECTS: dict[str, tuple[tuple[str, str], ...]] = {
    _S3_OPERATORS + "S3CreateObjectOperator": (("s3_bucket", "s3_key"),),
    _S3_OPERATORS + "S3CopyObjectOperator": (
        ("source_bucket_name", "source_bucket_key"),
        ("dest_bucket_name", "dest_bucket_key"),
    ),
    _S3_OPERATORS + "S3DeleteObjectsOperator": (),
    "airflow.providers.standard.operators.empty.EmptyOperator": (),
}
OPERATOR_DELETES = {_S3_OPERATORS + "S3DeleteObjectsOperator": (("bucket", "keys"), ("bucket", "prefix"))}


def operator_objects(task: CompiledTask, pairs: tuple[tuple[str, str], ...]) -> Iterator[tuple[str, str]]:
    """(bucket, key pattern) of the arguments ``pairs`` name; a key may be a whole s3:// URL (no bucket
    argument), a list of keys, or a prefix. Raises ValueError when a bucket is only known at run time."""
    for bucket_arg, key_arg in pairs:
        keys = task.kwargs.get(key_arg)
        for key in keys if isinstance(keys, list) else [keys] if isinstance(keys, str) else []:
            bucket = task.kwargs.get(bucket_arg)
            if bucket is None and key.startswith("s3://"):
                bucket, _, key = key.removeprefix("s3://").partition("/")
            if not isinstance(bucket, str) or "{{" in bucket or "{%" in bucket:
                raise ValueError(f"{bucket_arg} is only known at run time")
            yield bucket, key_pattern(key)


def unmapped_operator(task: CompiledTask) -> str | None:
    """Why an operator task's statements cannot be generated, or None when they can."""
    if task.operator not in OPERATOR_OBJECTS:
        return "its class's calls are not mapped"
    try:
        list(operator_objects(task, OPERATOR_OBJECTS[task.operator]))
        list(operator_objects(task, OPERATOR_DELETES.get(task.operator, ())))
    except ValueError as exc:
        return str(exc)
    return None
