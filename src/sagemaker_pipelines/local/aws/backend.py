"""The moto patches: SageMaker jobs that really run, with AWS-like status transitions.

moto answers CreateTrainingJob (and friends) with an object that is ``Completed`` at once and never runs
anything. ``install`` wraps the backend methods so that each create call keeps moto's validation and
bookkeeping (ARNs, List*, Describe*, unknown names -> ValidationException) and then:

* marks the job ``InProgress`` (endpoints ``Creating``) and starts a background thread that does the work;
* the thread updates the very object moto describes, so Describe*/List* show real progress;
* a terminal status is published only once a Describe call has seen the job in progress (or, when nobody
  asks, ``LOCAL_AWS_MIN_JOB_SECONDS`` = 1 s after creation), so a waiter or an Airflow sensor always sees
  the job InProgress first, as on AWS.

Only attributes that exist from creation on are reassigned later (moto builds responses by iterating the
object's ``__dict__``; adding attributes from another thread could break a concurrent describe).
At most ``LOCAL_AWS_MAX_CONCURRENT_JOBS`` (default 2) jobs do their heavy work at the same time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("local_aws")

MIN_JOB_SECONDS = float(os.environ.get("LOCAL_AWS_MIN_JOB_SECONDS", "1.0"))
_SLOTS = threading.BoundedSemaphore(int(os.environ.get("LOCAL_AWS_MAX_CONCURRENT_JOBS", "2")))


@dataclass
class Settings:
    state_dir: Path = Path(".local-aws")
    credentials: tuple[str, str] = ("", "")  # this server's own (key id, secret): it refuses any other


SETTINGS = Settings()


@dataclass
class Run:
    """A job's background thread; ``done`` is set once its terminal status is published."""

    kind: str
    name: str
    started: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    observed: threading.Event = field(default_factory=threading.Event)  # a Describe saw it in progress
    stop: threading.Event = field(default_factory=threading.Event)  # a Stop* call asked the job to end


_RUNS: dict[tuple[str, str, str, str], Run] = {}
_RUNS_LOCK = threading.Lock()


def utcnow() -> Any:
    from moto.core.utils import utcnow as moto_utcnow

    return moto_utcnow()


def run_of(kind: str, backend: Any, name: str) -> Run | None:
    with _RUNS_LOCK:
        return _RUNS.get((kind, backend.account_id, backend.region_name, name))


def any_running() -> bool:
    """Whether some job's background run has not ended (its record may still change)."""
    with _RUNS_LOCK:
        return any(not run.done.is_set() for run in _RUNS.values())


def launch(kind: str, backend: Any, name: str, work: Callable[[Run], None]) -> Run:
    """Run ``work`` in a daemon thread; the Run's ``done`` is set whatever happens."""
    run = Run(kind, name)
    with _RUNS_LOCK:
        _RUNS[(kind, backend.account_id, backend.region_name, name)] = run

    def target() -> None:
        from sagemaker_pipelines.local.aws.sandbox import bind_stop

        bind_stop(run.stop)
        try:
            work(run)
        except Exception:  # the work functions report their own failures; this is a last resort
            log.error("%s %s crashed:\n%s", kind, name, traceback.format_exc())
        finally:
            run.done.set()

    threading.Thread(target=target, name=f"{kind}-{name}", daemon=True).start()
    return run


def wait_min_duration(run: Run) -> None:
    """Hold the terminal status back until a Describe call has seen the job in progress, or for at most
    MIN_JOB_SECONDS after creation when nobody looks (e.g. the training jobs of a tuning job)."""
    remaining = MIN_JOB_SECONDS - (time.monotonic() - run.started)
    if remaining > 0:
        run.observed.wait(timeout=remaining)


def mark_observed(kind: str, backend: Any, name: str | None) -> None:
    """Called by the patched Describe* calls while the job is not finished."""
    run = run_of(kind, backend, name or "")
    if run is not None:
        run.observed.set()


@contextmanager
def slot() -> Iterator[None]:
    """One of the few concurrent 'instances' (the machine has few cores)."""
    with _SLOTS:
        yield


def store_for(backend: Any) -> Any:
    from sagemaker_pipelines.local.aws.storage import S3Store

    return S3Store(backend.account_id, getattr(backend, "partition", "aws"))


def describe_error(exc: BaseException) -> str:
    """A FailureReason for an exception: JobError messages as they are, anything else named plainly."""
    from sagemaker_pipelines.local.aws.sandbox import JobError
    from sagemaker_pipelines.local.aws.storage import StorageError

    if isinstance(exc, JobError):
        return str(exc)[:1024]
    if isinstance(exc, StorageError):
        return f"ClientError: {exc}"[:1024]
    return f"InternalServerError: {type(exc).__name__}: {exc}"[:1024]


def own_client(service: str, endpoint_url: str, region: str) -> Any:
    """A boto3 client of this very server, for emulated APIs that call others (a pipeline's steps, an
    AutoML job's deployment), signed with the server's own credentials like any client's."""
    import boto3

    key_id, secret = SETTINGS.credentials
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )
