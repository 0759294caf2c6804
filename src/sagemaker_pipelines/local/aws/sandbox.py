"""Per-job work folders laid out like a SageMaker container's /opt/ml, and child processes run in them.

Every job gets ``<state-dir>/jobs/<kind>-<name>/`` holding ``opt/ml/...`` (the container's view), ``job.log``
(one line per phase plus the child's stdout/stderr) and whatever else the job needs. Child processes get
``LOCAL_AWS_OPT_ML_ROOT`` and the ``_shim`` folder on PYTHONPATH so literal /opt/ml paths in user scripts
resolve into the sandbox.
"""

from __future__ import annotations

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

from sagemaker_pipelines.paths import SOURCE_DIR as _SOURCE_DIR

SHIM_DIR = Path(__file__).parent / "_shim"

log = logging.getLogger("local_aws")

# Children of the server (user scripts); terminated when the server exits so nothing is orphaned.
_CHILDREN: set[subprocess.Popen[bytes]] = set()
_CHILDREN_LOCK = threading.Lock()


class JobError(Exception):
    """A job failure whose message becomes the job's FailureReason as is."""


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
    group) after ``timeout`` seconds."""
    job.phase(f"running {' '.join(argv)} (cwd {cwd})")
    with job.log_path.open("ab") as out:
        start = out.tell()
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        with _CHILDREN_LOCK:
            _CHILDREN.add(proc)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(proc)
        finally:
            with _CHILDREN_LOCK:
                _CHILDREN.discard(proc)
    with job.log_path.open("rb") as fh:
        fh.seek(start)
        output = fh.read().decode("utf-8", "replace")
    job.phase(f"process exited with code {proc.returncode}" + (" (timed out)" if timed_out else ""))
    return ProcessResult(proc.returncode, timed_out, output)


def tail(text: str, lines: int = 20, chars: int = 900) -> str:
    """The last lines of a process output, short enough for a FailureReason (AWS caps it at 1024)."""
    kept = "\n".join(text.strip().splitlines()[-lines:])
    return kept[-chars:]


def _kill(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=3)
            return
        except subprocess.TimeoutExpired:
            continue


def kill_all_children() -> None:
    """Terminate every running job process (the server is exiting)."""
    with _CHILDREN_LOCK:
        children = list(_CHILDREN)
    for proc in children:
        _kill(proc)
