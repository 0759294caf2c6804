"""One job per task instance: which job a try runs - one an earlier try of the same task instance started,
or its own.

Every try names the job it starts after its try number (names must stay unique: SageMaker refuses a name
twice), so the jobs earlier tries started are found by describing the same name with the earlier numbers,
newest first. A SageMaker Pipelines execution has no name of its own: each try writes who started it
(``started_by``) into the execution's description, and a retry lists the pipeline's executions to find
those of earlier tries. The newest that exists decides:

* running (``InProgress``; an execution ``Executing``) - the earlier try died (worker killed, retried):
  this try adopts the job and waits for it;
* ``Stopping`` - a cancelled try stopped it: wait until it is Stopped, then start this try's own job;
* ``Completed`` (``Succeeded``) and not marked consumed - the earlier try died after the job ended:
  adopt its result;
* ``Completed`` and consumed (a try succeeded with it: the task was cleared to run again), ``Failed`` or
  ``Stopped`` - start this try's own job; so does a running job that a try which did not wait for it
  (``wait_for_completion: false``) succeeded with.

A try that succeeds with a job marks it consumed with a tag, which is what tells "retry after a crash"
from "a user cleared a finished task".
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError

from sagemaker_pipelines.compile.kinds.spec import Job

CONSUMED_TAG = "sagemaker-pipelines:consumed"
LOOKBACK = 20  # earlier tries described at most: a task cleared again and again needs no more
STOPPING_WAIT_SECONDS = 600
_POLL_SECONDS = 2.0


def earlier_names(name: str, try_number: int) -> list[str]:
    """The names earlier tries of this task instance gave their jobs, newest first; none when ``name``
    does not end in this try's number (a name written whole in ``config:``, which no try changes)."""
    prefix, dash, number = name.rpartition("-")
    if not dash or number != str(try_number):
        return []
    return [f"{prefix}-{n}" for n in range(try_number - 1, max(0, try_number - 1 - LOOKBACK), -1)]


def describe_if_exists(client: Any, kind: Job, name: str) -> dict[str, Any] | None:
    """Describe* of a job, or None when there is no job of that name (SageMaker: ValidationException)."""
    try:
        return kind.describe_job(client, name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("ValidationException", "ResourceNotFound"):
            return None
        raise


def is_consumed(client: Any, arn: str, log: logging.Logger, when_unknown: bool = True) -> bool:
    """Whether a successful try used the job. When the tags cannot be read, say so and answer
    ``when_unknown``: for an ended job, used - starting a job anew costs money, adopting one a cleared task
    already used would skip its rerun; for a running one, not used - adopting it costs nothing."""
    try:
        tags = client.list_tags(ResourceArn=arn).get("Tags") or []
    except ClientError as error:
        log.warning(
            "Cannot read the tags of %s (%s): counting it as %sused",
            arn,
            error,
            "" if when_unknown else "not ",
        )
        return when_unknown
    return any(tag.get("Key") == CONSUMED_TAG for tag in tags)


def mark_consumed(client: Any, kind: Job, name: str, by: str, log: logging.Logger) -> None:
    """Tag the job a successful try used, so a later clear of the finished task starts a new one."""
    description = describe_if_exists(client, kind, name)
    if description is None:
        return
    tag = {"Key": CONSUMED_TAG, "Value": by[:256]}
    try:
        client.add_tags(ResourceArn=description[kind.arn_field], Tags=[tag])
    except ClientError as error:  # the task succeeded: a missing permission must not fail it
        log.warning("Cannot tag SageMaker %s %s as used (%s): a rerun may adopt it", kind.label, name, error)
        return
    log.info("Marked SageMaker %s %s as used by %s", kind.label, name, by)


def job_to_adopt(client: Any, kind: Job, name: str, try_number: int, log: logging.Logger) -> str | None:
    """The name of an earlier try's job this try should adopt instead of starting ``name``, or None."""
    return adopt_among(client, kind, earlier_names(name, try_number), name, log)


def started_by(ti: Any, try_number: int | None = None) -> str:
    """Who started a job that has no client-chosen name: written into it (a pipeline execution's
    description), so that a later try of the same task instance finds it."""
    number = ti.try_number if try_number is None else try_number
    return (
        f"Started by Airflow task {ti.dag_id}.{ti.task_id}[{ti.map_index}] of run {ti.run_id}, try {number}"
    )


def earlier_tries(ti: Any) -> range:
    """The try numbers before this try whose jobs a retry looks for, newest first (at most LOOKBACK)."""
    return range(ti.try_number - 1, max(0, ti.try_number - 1 - LOOKBACK), -1)


def used_by(ti: Any) -> str:
    """What the consumed tag of a job says: the task instance and try that succeeded with it."""
    return f"{ti.dag_id}.{ti.task_id}[{ti.map_index}] {ti.run_id} try {ti.try_number}"


def earlier_executions(client: Any, kind: Job, started_on: dict[str, Any], ti: Any) -> list[str]:
    """The ARNs of the jobs earlier tries of this task instance started (``kind.find_earlier``: the
    executions of one pipeline), newest try first, found by the ``started_by`` each try wrote into them."""
    wanted = {started_by(ti, n): n for n in earlier_tries(ti)}
    if not wanted or kind.find_earlier is None:
        return []
    found: dict[int, str] = {}
    described = kind.name_field.removesuffix("Arn") + "Description"
    paginator = client.get_paginator(xform_name(kind.find_earlier))
    for page in paginator.paginate(**started_on, SortOrder="Descending", PaginationConfig={"MaxItems": 500}):
        summaries = next((value for key, value in page.items() if key.endswith("Summaries")), [])
        for summary in summaries:
            number = wanted.get(summary.get(described) or "")
            if number is not None and number not in found:
                found[number] = summary[kind.arn_field]
    return [found[n] for n in sorted(found, reverse=True)]


def token_of(ti: Any, try_number: int | None = None) -> str:
    """An idempotency token for a create call of this try, or of an earlier one (ClientRequestToken: 32
    to 128 characters; a tag value: at most 256)."""
    return hashlib.sha256(started_by(ti, try_number).encode()).hexdigest()


def adopt_among(
    client: Any, kind: Job, earlier_jobs: list[str], name: str, log: logging.Logger
) -> str | None:
    """Which of the jobs earlier tries started (newest first) this try adopts instead of starting its own
    (``name``, as the log calls it), or None; the newest job that exists decides."""
    for earlier in earlier_jobs:
        description = describe_if_exists(client, kind, earlier)
        if description is None:
            continue
        status = description[kind.status_field]
        arn = description[kind.arn_field]
        if status == kind.running and not is_consumed(client, arn, log, when_unknown=False):
            log.info(
                "Adopting SageMaker %s %s, started by an earlier try of this task instance and still "
                "running: waiting for it instead of starting %s",
                kind.label,
                earlier,
                name,
            )
            return earlier
        if status == kind.succeeded and not is_consumed(client, arn, log):
            log.info(
                "Adopting the result of SageMaker %s %s, which an earlier try of this task instance started "
                "and which completed after that try ended: not starting %s",
                kind.label,
                earlier,
                name,
            )
            return earlier
        if status == "Stopping":
            log.info(
                "SageMaker %s %s of an earlier try is stopping: waiting until it has stopped",
                kind.label,
                earlier,
            )
            status = wait_until_ended(client, kind, earlier, STOPPING_WAIT_SECONDS)
        log.info(
            "SageMaker %s %s of an earlier try is %s: starting this try's own job %s",
            kind.label,
            earlier,
            f"{status} and used by a successful try" if status in (kind.succeeded, kind.running) else status,
            name,
        )
        return None
    return None


def wait_until_ended(client: Any, kind: Job, name: str, seconds: float) -> str:
    """Poll until the job neither runs nor is Stopping (at most ``seconds``); its last status."""
    deadline = time.monotonic() + seconds
    while True:
        status = kind.status_of(client, name)
        if status not in (kind.running, "Stopping") or time.monotonic() >= deadline:
            return status
        time.sleep(_POLL_SECONDS)
