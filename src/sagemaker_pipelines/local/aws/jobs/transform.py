"""Batch transform jobs: predict every record of every input object and write ``<name>.out`` files.

Behaviour (documented differences from AWS in the package docstring):

* input: every object under TransformInput S3Uri (S3Prefix) or the objects listed in a ManifestFile;
  CompressionType Gzip is unpacked;
* SplitType Line -> one record per non-empty line, None -> the whole object is one request;
* BatchStrategy MultiRecord (the default here) sends mini-batches up to MaxPayloadInMB (6 MB by default),
  SingleRecord one record per request;
* output ``<S3OutputPath>/<path below the input prefix>.out``; responses are joined with newlines for
  AssembleWith Line *and* when AssembleWith is absent (one prediction per line), with nothing for None;
* Accept absent -> the algorithm's default (knn/linear-learner JSON lines, xgboost text/csv); for script
  models the input ContentType;
* DataProcessing: InputFilter/OutputFilter accept ``$``, ``$[i]``, ``$[i,j]``, ``$[a:b]`` on CSV (and JSON
  arrays), JoinSource Input joins CSV lines with a comma and JSON lines as ``{"SageMakerOutput": ...}``.
"""

from __future__ import annotations

import functools
import gzip
import json
import posixpath
import re
from typing import Any

from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeTransformJob

from sagemaker_pipelines.local.aws import registry
from sagemaker_pipelines.local.aws.backend import (
    SETTINGS,
    Run,
    describe_error,
    launch,
    log,
    slot,
    store_for,
    utcnow,
    wait_min_duration,
)
from sagemaker_pipelines.local.aws.sandbox import JobDir, JobError, JobStopped, check_stop
from sagemaker_pipelines.local.aws.serving import BuiltinServed, ModelError, base_type, load_model
from sagemaker_pipelines.local.aws.storage import S3Store, join_s3, split_s3_uri


def prepare(job: Any) -> None:
    job.tags = list(job.tags or [])  # moto keeps None, and AddTags/ListTags then fail with a 500
    job.transform_job_status = "InProgress"
    job.failure_reason = None
    job.transform_start_time = utcnow()
    job.transform_end_time = None


def model_container(backend: Any, model_name: str) -> dict[str, Any]:
    """The PrimaryContainer (or first of Containers) of a model, as moto stored it at CreateModel."""
    model = backend._models.get(model_name)
    if model is None:
        raise JobError(f"ClientError: Could not find model '{model_name}'")
    container = model.primary_container or (model.containers[0] if model.containers else None)
    if not container:
        raise JobError(f"ClientError: model '{model_name}' has no PrimaryContainer")
    from sagemaker_pipelines.local.aws.jobs.model_registry import package_container

    return package_container(backend, container)  # a registered version serves its own container


def _objects(store: S3Store, source: dict[str, Any]) -> list[tuple[str, str]]:
    """(S3 URI, relative output name) of every input object."""
    uri = source["S3Uri"]
    if source.get("S3DataType", "S3Prefix") == "ManifestFile":
        manifest = json.loads(store.get(uri))
        prefix = manifest[0]["prefix"]
        return [(prefix.rstrip("/") + "/" + rel, rel) for rel in manifest[1:]]
    bucket, _ = split_s3_uri(uri)
    found = [(f"s3://{bucket}/{key}", rel) for key, rel in store.list(uri)]
    if not found:
        raise JobError(f'ClientError: No S3 objects found under S3 URL "{uri}"')
    return found


_FILTER = re.compile(r"^\$(?:\[(?P<body>[^\]]*)\])?$")


def _select(values: list[Any], expr: str | None) -> list[Any]:
    """A small JSONPath subset on a list: ``$``, ``$[i]``, ``$[i,j]``, ``$[a:b]``."""
    if not expr or expr == "$":
        return values
    match = _FILTER.match(expr.strip())
    if not match or match["body"] is None:
        raise JobError(f"ClientError: unsupported filter '{expr}' (use $, $[i], $[i,j] or $[a:b])")
    body = match["body"].strip()
    try:
        if ":" in body:
            start, _, stop = body.partition(":")
            return values[int(start) if start.strip() else None : int(stop) if stop.strip() else None]
        return [values[int(i)] for i in body.split(",")]
    except (ValueError, IndexError) as exc:
        raise JobError(f"ClientError: filter '{expr}' does not fit the record: {exc}") from exc


def _filter_record(record: str, expr: str | None, csv: bool) -> str:
    if not expr or expr == "$":
        return record
    if csv:
        return ",".join(_select(record.split(","), expr))
    value = json.loads(record)
    return json.dumps(_select(value, expr) if isinstance(value, list) else value)


def _batches(records: list[str], single: bool, max_bytes: int) -> list[list[str]]:
    if single:
        return [[r] for r in records]
    batches: list[list[str]] = [[]]
    size = 0
    for record in records:
        if batches[-1] and size + len(record) + 1 > max_bytes:
            batches.append([])
            size = 0
        batches[-1].append(record)
        size += len(record) + 1
    return [b for b in batches if b]


def transform_object(job: Any, served: Any, data: bytes) -> bytes:
    """The ``.out`` content for one input object."""
    ti, to = job.transform_input, job.transform_output or {}
    dp = job.data_processing or {}
    content_type = ti.get("ContentType") or "text/csv"
    csv = base_type(content_type) == "text/csv"
    accept = to.get("Accept")
    if not accept and not isinstance(served, BuiltinServed):
        accept = content_type
    text = data.decode("utf-8")
    split = ti.get("SplitType") or "None"
    if split == "Line":
        records = [line for line in text.splitlines() if line.strip()]
    elif split == "None":
        records = [text]
    else:
        raise JobError(f"ClientError: SplitType {split} is not supported locally (Line or None)")
    inputs = [_filter_record(r, dp.get("InputFilter"), csv) for r in records]
    max_bytes = int(job.max_payload_in_mb or 6) * 1024 * 1024
    single = (job.batch_strategy or "MultiRecord") == "SingleRecord"
    lines: list[str] = []
    for batch in _batches(inputs, single, max_bytes):
        try:
            body, _ = served.invoke("\n".join(batch).encode(), content_type, accept, lines=True)
        except ModelError as exc:
            raise JobError(f"ClientError: the model failed on the input: {exc}") from exc
        answer = body.decode("utf-8").strip("\n")
        lines.extend(answer.split("\n") if split == "Line" else [answer])
    if split == "Line" and len(lines) != len(records):
        raise JobError(f"ClientError: the model returned {len(lines)} predictions for {len(records)} records")
    if dp.get("JoinSource") == "Input":
        lines = [_join(src, out, csv) for src, out in zip(records, lines, strict=True)]
    if dp.get("OutputFilter") not in (None, "", "$"):
        lines = [_filter_record(line, dp["OutputFilter"], csv) for line in lines]
    joiner = "" if to.get("AssembleWith") == "None" else "\n"
    return (joiner.join(lines) + ("\n" if joiner and lines else "")).encode()


def _join(source: str, output: str, csv: bool) -> str:
    if csv:
        return f"{source},{output}"
    value = json.loads(source)
    try:
        out_value: Any = json.loads(output)
    except ValueError:
        out_value = output
    if isinstance(value, dict):
        return json.dumps({**value, "SageMakerOutput": out_value})
    return json.dumps([*value, out_value] if isinstance(value, list) else [value, out_value])


def run(backend: Any, job: Any, run_info: Run) -> None:
    """The background work of one transform job."""
    name = job.transform_job_name
    jd = JobDir.create(SETTINGS.state_dir, "transform", name)
    store = store_for(backend)
    try:
        with slot():
            check_stop()
            container = model_container(backend, job.model_name)
            jd.phase(f"loading model '{job.model_name}' ({container.get('Image')})")
            served = load_model(store, container, jd.root)
            source = job.transform_input["DataSource"]["S3DataSource"]
            out_path = job.transform_output["S3OutputPath"]
            for uri, rel in _objects(store, source):
                check_stop()
                data = store.get(uri)
                if job.transform_input.get("CompressionType") == "Gzip":
                    data = gzip.decompress(data)
                output = transform_object(job, served, data)
                target = join_s3(out_path, posixpath.normpath(rel) + ".out")
                store.put(target, output)
                jd.phase(f"{uri} -> {target}")
        wait_min_duration(run_info)
        check_stop()
        job.transform_end_time = utcnow()
        job.transform_job_status = "Completed"
        jd.phase("Completed")
    except JobStopped:
        wait_min_duration(run_info)
        job.transform_end_time = utcnow()
        job.transform_job_status = "Stopped"
        jd.phase("Stopped")
    except Exception as exc:
        if not isinstance(exc, JobError):
            log.exception("transform %s: unexpected error", name)
        wait_min_duration(run_info)
        job.failure_reason = describe_error(exc)
        job.transform_end_time = utcnow()
        job.transform_job_status = "Failed"
        jd.phase(f"Failed: {job.failure_reason}")
    job.last_modified_time = utcnow()


# ---------------------------------------------------------------- moto patches (see registry.py)


@registry.wraps("create_transform_job")
def _create_transform_job(orig: Any) -> Any:
    @functools.wraps(orig)
    def create_transform_job(self: Any, transform_job_name: str, *args: Any, **kwargs: Any) -> Any:
        if transform_job_name in self.transform_jobs:
            arn = FakeTransformJob.arn_formatter(transform_job_name, self.account_id, self.region_name)
            raise ValidationError(
                "Job name must be unique within an AWS account and region, and a job with this name already "
                f"exists ({arn})"
            )
        job = orig(self, transform_job_name, *args, **kwargs)
        prepare(job)
        launch("transform", self, transform_job_name, lambda started: run(self, job, started))
        return job

    return create_transform_job


registry.observes(
    "describe_transform_job", "transform", "TransformJobStatus", ("InProgress", "Stopping"), __name__
)
