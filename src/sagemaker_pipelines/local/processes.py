"""Child processes that a local stack starts, each with its own log, and stopping them leaving none behind.

Each child runs in its own session (process group), so a Ctrl-C in the terminal reaches only the stack,
which then stops the children in order: SIGTERM to each group, SIGKILL after a grace period. Airflow's
processes fork workers and task runners of their own; those are found through ``psutil`` (a snapshot of
every descendant, taken before the first signal) so that a process that left its group is stopped too,
and :func:`stop_all` reports anything still alive afterwards instead of assuming.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil


@dataclass
class Child:
    """One started process: its name in the status line, its log and the Popen handle."""

    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_child(name: str, argv: list[str], env: dict[str, str], log_dir: Path, cwd: Path) -> Child:
    """Start ``argv`` in a new session with stdout and stderr appended to ``<log_dir>/<name>.log``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    return Child(name, argv, log_path, process)


def process_tree(pid: int) -> list[psutil.Process]:
    """The process and all its descendants, as they are now."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those of ``processes`` still running (a zombie has finished; only its parent's wait is missing)."""
    alive = []
    for proc in processes:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            continue
    return alive


def stop_all(children: list[Child], grace: float = 20.0) -> list[psutil.Process]:
    """Stop ``children`` (last started first) and their descendants; return whatever is still alive."""
    snapshot: list[psutil.Process] = []
    for child in children:
        snapshot += process_tree(child.pid)
    for child in reversed(children):
        if child.running:
            _signal_group(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
    # What outlived its parent or the grace period: the group first, then anything that left it.
    for child in children:
        _signal_group(child.pid, signal.SIGKILL)
    for proc in alive(snapshot):
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=5)
    psutil.wait_procs(alive(snapshot), timeout=5)
    return alive(snapshot)
