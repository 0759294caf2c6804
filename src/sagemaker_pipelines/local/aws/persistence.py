"""The endpoint's state on disk: a restarted endpoint still has the S3 objects, models, endpoints and job
records that Airflow's runs point to.

moto keeps every service's state in memory, in one backend object per service, account and region. With
``--keep-state`` the server pickles the backends that exist (moto's S3 keys pickle their bytes) into
``<state-dir>/state.pickle``: before a request that changes state (a Create*, Stop*, PutObject...) is
answered, so what a client was told exists survives a kill; a second after any other request; and every
few seconds while a job runs, since jobs change their records without a request. Each save writes a new
file and renames it over the old one, so a kill at any moment leaves the previous whole snapshot. At the
next start the backends are put back before the first request is served. What a kill can lose is a job's
progress of the last seconds (it is Failed after the restart anyway).

A job is a process of the endpoint and dies with it: a job record that was InProgress is restored as
Failed (Stopping: Stopped) with a FailureReason saying the endpoint restarted, as AWS would report a job
whose instance was lost, so a retry starts a new job rather than waiting for one that no longer runs. An
endpoint that was serving loads its model again.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import pickle
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

STATE_FILE = "state.pickle"
SAVE_DELAY = 1.0  # seconds after a request before saving: a burst of requests makes one snapshot
RUNNING_SAVE_INTERVAL = 5.0  # while a job runs, its record changes without a request
RESTART_REASON = "InternalServerError: the local endpoint restarted while the job ran, and the job with it"

log = logging.getLogger("local_aws.persistence")

# The job records a restart interrupts: backend attribute -> (status attribute, its running value, the
# FailureReason attribute).
_JOBS = {
    "training_jobs": ("training_job_status", "InProgress", "failure_reason"),
    "processing_jobs": ("processing_job_status", "InProgress", "failure_reason"),
    "transform_jobs": ("transform_job_status", "InProgress", "failure_reason"),
    "hyper_parameter_tuning_jobs": ("hyper_parameter_tuning_job_status", "InProgress", "failure_reason"),
    "auto_ml_jobs": ("auto_ml_job_status", "InProgress", "failure_reason"),
    "pipeline_executions": ("pipeline_execution_status", "Executing", "pipeline_execution_failure_reason"),
    # jobs/automl.py keeps its jobs as dicts of the API's own keys
    "local_automl_jobs": ("AutoMLJobStatus", "InProgress", "FailureReason"),
}


def _backend_dicts() -> list[Any]:
    from moto.core.base_backend import BackendDict

    return list(BackendDict._instances)


def snapshot() -> dict[str, Any]:
    """Every backend that exists, as ``{service: {"backends": {(account, region): backend}, ...}}``."""
    services: dict[str, Any] = {}
    for backends in _backend_dicts():
        entry = services.setdefault(backends.service_name, {"backends": {}})
        for account, region, backend in list(backends.iter_backends()):
            entry["backends"][(account, region)] = backend
        if hasattr(backends, "bucket_accounts"):  # S3: which account owns each bucket name
            entry["bucket_accounts"] = dict(backends.bucket_accounts)
    return services


class _Pickler(pickle.Pickler):
    """pickle, and two kinds of defaultdict moto's SSM backend keeps that pickle refuses: one whose factory
    is a lambda (its tags: ``defaultdict(lambda: defaultdict(dict))``), pickled with a factory that makes
    the same, and a subclass whose ``__init__`` takes other arguments (``ParameterDict``), rebuilt without
    calling it. Without them the first SSM call (the Unified Studio SDK makes one) failed every snapshot,
    and a restart lost the S3 objects and jobs with it."""

    def reducer_override(self, obj: Any) -> Any:
        if not isinstance(obj, defaultdict):
            return NotImplemented
        factory = obj.default_factory
        if _is_local(factory):
            factory = _same_factory(factory)
        elif type(obj) is defaultdict:
            return NotImplemented
        state = getattr(obj, "__dict__", None) or None
        return (_new_defaultdict, (type(obj), factory), state, None, iter(obj.items()))


def _new_defaultdict(cls: type, factory: Callable[[], Any] | None) -> defaultdict:
    """An empty ``cls`` (a defaultdict or a subclass of one) with ``factory``, its ``__init__`` not called."""
    made = cls.__new__(cls)
    defaultdict.__init__(made, factory)
    return made


def _is_local(factory: Any) -> bool:
    return "<locals>" in getattr(factory, "__qualname__", "") or "<lambda>" in getattr(
        factory, "__name__", ""
    )


def _same_factory(factory: Callable[[], Any]) -> Callable[[], Any]:
    """A picklable factory that makes what ``factory`` makes: an empty container of one type, or a
    defaultdict of such factories."""
    made = factory()
    if type(made) is defaultdict:
        inner = made.default_factory
        return functools.partial(defaultdict, _same_factory(inner) if _is_local(inner) else inner)
    if made == type(made)():
        return type(made)
    raise pickle.PicklingError(f"cannot pickle the factory {factory!r}: it makes {made!r}")


def _dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def save(state_dir: Path) -> bool:
    """Write the snapshot (0600) through a temporary file and a rename; False when a backend changed
    while it was read (the next round saves it)."""
    try:
        data = _dumps(snapshot())
    except RuntimeError:  # a dict changed size while it was pickled: a request or a job is writing
        return False
    tmp = state_dir / (STATE_FILE + ".tmp")
    tmp.unlink(missing_ok=True)
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(state_dir / STATE_FILE)
    return True


def restore(state_dir: Path) -> int:
    """Put the saved backends back into moto (before the first request); how many were restored."""
    path = state_dir / STATE_FILE
    if not path.is_file():
        return 0
    from moto.backends import get_backend

    try:
        services = pickle.loads(path.read_bytes())  # our own file, in our own 0700 folder
    except Exception as error:  # written by another moto version, say: kept aside, not silently lost
        aside = path.with_suffix(".unreadable")
        path.replace(aside)
        log.error(
            "cannot read the saved state (%s: %s): starting empty, it is kept as %s",
            type(error).__name__,
            error,
            aside,
        )
        return 0
    restored = []
    for service, entry in services.items():
        backends = get_backend(service)
        for (account, region), backend in entry["backends"].items():
            dict.__setitem__(backends[account], region, backend)
            restored.append(backend)
        if "bucket_accounts" in entry:
            backends.bucket_accounts.update(entry["bucket_accounts"])
    for backend in restored:  # once every service is back: a reloaded endpoint reads its model from S3
        _interrupted(backend)
    return len(restored)


def _interrupted(backend: Any) -> None:
    """Jobs that ran in the process that died: ended, as the log and Describe* say; endpoints: reloaded."""
    for jobs_attribute, (status_attribute, running, reason_attribute) in _JOBS.items():
        for name, job in (getattr(backend, jobs_attribute, None) or {}).items():
            record = job if isinstance(job, dict) else job.__dict__
            status = record.get(status_attribute)
            if status == running:
                record[status_attribute] = "Failed"
                record[reason_attribute] = RESTART_REASON
            elif status == "Stopping":
                record[status_attribute] = "Stopped"
            else:
                continue
            for secondary in ("secondary_status", "AutoMLJobSecondaryStatus"):
                if secondary in record:
                    record[secondary] = record[status_attribute]
            new = record[status_attribute]
            log.warning("%s %s was %s when the endpoint stopped: now %s", jobs_attribute, name, status, new)
    for name, endpoint in list((getattr(backend, "endpoints", None) or {}).items()):
        if getattr(endpoint, "endpoint_status", None) in ("InService", "Creating", "Updating"):
            _reload_endpoint(backend, name, endpoint)


def _reload_endpoint(backend: Any, name: str, endpoint: Any) -> None:
    from sagemaker_pipelines.local.aws.backend import launch
    from sagemaker_pipelines.local.aws.jobs import endpoints

    endpoints.prepare(endpoint)
    launch("endpoint", backend, name, lambda started: endpoints.run(backend, endpoint, started))
    log.info("endpoint %s: loading its model again", name)


class Saver(threading.Thread):
    """Saves the state a second after requests, and every few seconds while a job runs; ``save_now``
    saves before a change is answered."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(name="persistence", daemon=True)
        self.state_dir = state_dir
        self.changed = threading.Event()
        self.stopped = threading.Event()
        self._lock = threading.Lock()  # one snapshot written at a time

    def run(self) -> None:
        from sagemaker_pipelines.local.aws.backend import any_running

        while not self.stopped.is_set():
            if not self.changed.wait(RUNNING_SAVE_INTERVAL) and not any_running():
                continue
            time.sleep(SAVE_DELAY)
            self.changed.clear()
            self.save_now(attempts=1)

    def save_now(self, attempts: int = 5) -> bool:
        """Save, trying again while backends change underneath; False (and logged) if it never could."""
        with self._lock:
            for _ in range(attempts):
                try:
                    if save(self.state_dir):
                        return True
                except Exception:  # a full disk must not take the endpoint down: say so, try again later
                    log.exception("could not save the endpoint's state to %s", self.state_dir)
                    break
                time.sleep(0.05)
        self.changed.set()
        return False

    def final_save(self) -> None:
        """At shutdown, once the jobs have ended: their last status is what a restart shows."""
        self.stopped.set()
        self.save_now()


# Calls that change nothing: answered without waiting for a save (the background saver still follows,
# since a Describe* call can be what lets a job publish its end).
_READS = ("Describe", "List", "Get", "Search", "Query", "BatchDescribe", "BatchGet")


def changes_state(environ: dict[str, Any]) -> bool:
    """Whether a request may change state: any but GET/HEAD, and a JSON-protocol read (SageMaker's)."""
    if environ.get("REQUEST_METHOD", "GET") in ("GET", "HEAD"):
        return False
    operation = (environ.get("HTTP_X_AMZ_TARGET") or "").rpartition(".")[2]
    return not operation.startswith(_READS)


class MarkChanges:
    """WSGI middleware: a request that changes state is answered only once the change is on disk - a
    client told its job was created must find it after a kill - and any request makes the saver save
    soon."""

    def __init__(self, app: Any, saver: Saver) -> None:
        self.app, self.saver = app, saver

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        try:
            answer = self.app(environ, start_response)
            if changes_state(environ):
                self.saver.save_now()
            return answer
        finally:
            self.saver.changed.set()
