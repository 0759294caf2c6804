"""Per-job work folders laid out like a SageMaker container's /opt/ml, and child processes run in them.

Every job gets ``<state-dir>/jobs/<kind>-<name>/`` holding ``opt/ml/...`` (the container's view), ``job.log``
(one line per phase plus the child's stdout/stderr) and whatever else the job needs. Child processes get
``LOCAL_AWS_OPT_ML_ROOT`` and the ``_shim`` folder on PYTHONPATH so literal /opt/ml paths in user scripts
resolve into the sandbox. Job folders of old runs are pruned when a server starts (the last
``LOCAL_AWS_KEEP_RUNS`` runs are kept, at most ``LOCAL_AWS_JOBS_MAX_MB`` in all).

A job's command never runs as the server's direct child: a small supervisor (this module's ``main``)
does, in a session of its own. It dies with the server (``PR_SET_PDEATHSIG``), adopts whatever the
command leaves behind (``PR_SET_CHILD_SUBREAPER``) and ends all of it when the command exits, when it
is stopped, when its deadline passes or when the server dies - even by SIGKILL - so no user script or
script's child outlives the endpoint that was enforcing its ``max_runtime``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sagemaker_pipelines.local.hygiene import become_subreaper, descendants, die_with_parent, end_processes
from sagemaker_pipelines.paths import SOURCE_DIR as _SOURCE_DIR

SHIM_DIR = Path(__file__).parent / "_shim"

log = logging.getLogger("local_aws")

# Children of the server (user scripts); terminated when the server exits so nothing is orphaned.
_CHILDREN: set[subprocess.Popen[bytes]] = set()
_CHILDREN_LOCK = threading.Lock()


class JobError(Exception):
    """A job failure whose message becomes the job's FailureReason as is."""


class JobStopped(Exception):
    """A Stop* call ended the job: its work unwinds and the job ends ``Stopped``, not ``Failed``."""


# The stop request of the job whose work runs on this thread (bound by ``backend.launch``): a Stop* call
# sets it, and the job's processes and phases notice it without the sandbox knowing about the backend.
_STOP = threading.local()


def bind_stop(event: threading.Event) -> None:
    """Tie this thread's job work to ``event``, which a Stop* call sets."""
    _STOP.event = event


def stop_requested() -> bool:
    event = getattr(_STOP, "event", None)
    return bool(event is not None and event.is_set())


def check_stop() -> None:
    """Raise JobStopped between two phases of a job that a Stop* call asked to end."""
    if stop_requested():
        raise JobStopped()


@dataclass
class JobDir:
    """The work folder of one job."""

    root: Path
    name: str
    kind: str
    _log_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, state_dir: Path, kind: str, name: str) -> JobDir:
        root = state_dir / "jobs" / f"{kind}-{name}"
        if root.exists():  # a name reused after the server restarted
            shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        return cls(root, name, kind)

    @property
    def opt_ml(self) -> Path:
        return self.root / "opt" / "ml"

    @property
    def log_path(self) -> Path:
        return self.root / "job.log"

    def phase(self, message: str) -> None:
        """One line in the server log and in the job's own log."""
        log.info("%s %s: %s", self.kind, self.name, message)
        with self._log_lock, self.log_path.open("a") as fh:
            fh.write(f"{time.strftime('%H:%M:%S')} [local-aws] {message}\n")

    def remap(self, path: str) -> Path:
        """Where an absolute container path (``/opt/ml/...`` or any other) lives inside the sandbox."""
        return self.root / path.lstrip("/")


@dataclass
class ProcessResult:
    returncode: int
    timed_out: bool
    output: str


def child_env(job: JobDir, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a job's child process: the server's, plus the shim and the job's variables."""
    env = dict(os.environ)
    env.update(extra)
    paths = [str(SHIM_DIR), str(_SOURCE_DIR)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["LOCAL_AWS_OPT_ML_ROOT"] = str(job.opt_ml)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def python_command(argv: Sequence[str]) -> list[str]:
    """Run ``python``/``python3``/``python3.X`` as the server's interpreter: it has the ML libraries."""
    argv = list(argv)
    if argv and Path(argv[0]).name.startswith("python"):
        argv[0] = sys.executable
    return argv


def run_child(
    job: JobDir, argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float | None
) -> ProcessResult:
    """Run a child process with its stdout and stderr appended to the job log; kill it (and its process
    group) after ``timeout`` seconds, or as soon as a Stop* call asks (then raise JobStopped)."""
    check_stop()
    job.phase(f"running {' '.join(argv)} (cwd {cwd})")
    supervised = [sys.executable, "-m", __name__, "--parent", str(os.getpid())]
    if timeout:
        supervised += ["--deadline", str(timeout + 10)]  # a backstop: the server's own timeout comes first
    with job.log_path.open("ab") as out:
        start = out.tell()
        proc = subprocess.Popen(
            [*supervised, "--", *argv],
            cwd=cwd,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        with _CHILDREN_LOCK:
            _CHILDREN.add(proc)
        timed_out = stopped = False
        deadline = time.monotonic() + timeout if timeout else None
        try:
            while proc.poll() is None:
                if stop_requested():
                    stopped = True
                    job.phase("stop requested: ending the job's processes")
                    _kill(proc)
                elif deadline is not None and time.monotonic() > deadline:
                    timed_out = True
                    _kill(proc)
                else:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=0.2)
        finally:
            with _CHILDREN_LOCK:
                _CHILDREN.discard(proc)
    with job.log_path.open("rb") as fh:
        fh.seek(start)
        output = fh.read().decode("utf-8", "replace")
    job.phase(f"process exited with code {proc.returncode}" + (" (timed out)" if timed_out else ""))
    if stopped:
        raise JobStopped()
    return ProcessResult(proc.returncode, timed_out, output)


def tail(text: str, lines: int = 20, chars: int = 900) -> str:
    """The last lines of a process output, short enough for a FailureReason (AWS caps it at 1024)."""
    kept = "\n".join(text.strip().splitlines()[-lines:])
    return kept[-chars:]


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """End a job: its supervisor's group and every descendant it adopted, SIGKILL after a grace period."""
    end_processes([proc.pid, *descendants(proc.pid)], grace=3.0, groups=[proc.pid])
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL was sent
        proc.kill()


def kill_all_children() -> None:
    """Terminate every running job process (the server is exiting)."""
    with _CHILDREN_LOCK:
        children = list(_CHILDREN)
    for proc in children:
        _kill(proc)


KEEP_RUNS = int(os.environ.get("LOCAL_AWS_KEEP_RUNS", "3"))
JOBS_MAX_BYTES = int(float(os.environ.get("LOCAL_AWS_JOBS_MAX_MB", "1024")) * 1024 * 1024)
_RUNS_FILE = "runs.json"


def _size(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def prune_jobs(state_dir: Path, keep_runs: int = KEEP_RUNS, max_bytes: int = JOBS_MAX_BYTES) -> list[Path]:
    """At a server start: delete the job folders of all but the last ``keep_runs`` runs, then the oldest
    until the rest fit in ``max_bytes``. Returns what was deleted. Also records this start."""
    jobs = state_dir / "jobs"
    runs_file = state_dir / _RUNS_FILE
    try:
        starts = [float(t) for t in json.loads(runs_file.read_text())][-50:]
    except (OSError, ValueError, TypeError):
        starts = []
    folders = (
        sorted((p for p in jobs.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        if jobs.is_dir()
        else []
    )
    cutoff = sorted(starts)[-keep_runs] if keep_runs and len(starts) >= keep_runs else float("-inf")
    deleted = [p for p in folders if p.stat().st_mtime < cutoff]
    kept = [p for p in folders if p not in deleted]
    sizes = {p: _size(p) for p in kept}
    while kept and sum(sizes[p] for p in kept) > max_bytes:
        deleted.append(kept.pop(0))
    for folder in deleted:
        shutil.rmtree(folder, ignore_errors=True)
    runs_file.write_text(json.dumps([*starts, time.time()][-50:]))
    return deleted


class _Stopped(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    """The supervisor of one job command: ``python -m ...sandbox --parent PID [--deadline S] -- cmd...``."""
    parser = argparse.ArgumentParser(prog="local-aws job supervisor")
    parser.add_argument("--parent", type=int, required=True, help="the server's pid: die with it")
    parser.add_argument("--deadline", type=float, default=None, help="end the command after this many s")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command

    def stop(signum: int, _frame: object) -> None:
        raise _Stopped(signum)

    signals = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    for sig in signals:
        signal.signal(sig, stop)
    code = 1
    try:
        die_with_parent(signal.SIGTERM, args.parent)
        become_subreaper()
        me = os.getpid()
        child = subprocess.Popen(command, preexec_fn=lambda: die_with_parent(signal.SIGKILL, me))
        try:
            code = child.wait(timeout=args.deadline)
        except subprocess.TimeoutExpired:
            print(f"[local-aws] deadline of {args.deadline:.0f} s passed: stopping the job", flush=True)
            code = 124
        code = 128 - code if code < 0 else code
    except _Stopped as stopped:
        code = 128 + stopped.args[0]
    except OSError as exc:  # the command cannot be started: say why, like a shell would
        print(f"[local-aws] cannot run {command[:1]}: {exc}", flush=True)
        code = 127
    finally:
        for sig in signals:
            signal.signal(sig, signal.SIG_IGN)
        end_processes(descendants(), grace=3.0, reap=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
