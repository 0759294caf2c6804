"""Process hygiene: every process a local run starts ends with it, whichever way the run ends.

Three Linux mechanisms, each covering an exit path the others cannot (all degrade to no-ops elsewhere):

- process groups and sessions: the emulator and each job get their own, so a terminal's Ctrl-C or
  hang-up reaches only the run (which then stops them in order), and a job is killed as a whole;
- ``PR_SET_PDEATHSIG`` (``prctl``): a child is signalled when its parent dies, even by SIGKILL - the
  emulator when the run dies, a job's supervisor when the emulator dies;
- ``PR_SET_CHILD_SUBREAPER``: a job's supervisor adopts the job's orphaned descendants (a script's
  background worker, even one that called setsid), so it can find and end them all.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import time
from collections.abc import Iterable

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux
        return False


def die_with_parent(sig: int = signal.SIGTERM, parent: int | None = None) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent dies; if ``parent`` (the pid that
    started this process) is already gone, act as if the signal came now."""
    ok = _prctl(_PR_SET_PDEATHSIG, int(sig))
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), sig)  # the parent died before the request took effect
    return ok


def become_subreaper() -> bool:
    """Orphaned descendants are re-parented to this process instead of init, so it can end them."""
    return _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def descendants(pid: int | None = None) -> list[int]:
    """Every living descendant of ``pid`` (default: this process), children first."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency of the local backend
        return []
    try:
        return [p.pid for p in psutil.Process(pid or os.getpid()).children(recursive=True)]
    except psutil.Error:
        return []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead: it only waits for its parent to collect it.
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat", "rb") as stat:
        return stat.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    return True


def end_processes(
    pids: Iterable[int], grace: float = 3.0, groups: Iterable[int] = (), reap: bool = False
) -> None:
    """SIGTERM to ``pids`` and process ``groups``, SIGKILL to whatever still lives after ``grace`` s.

    ``reap``: also collect any exited child of this process - only where no other code waits for its
    own children (a job's supervisor), since it would take their exit status.
    """
    pids = [p for p in pids if p != os.getpid()]
    groups = list(groups)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, sig)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 1.0)
        while time.monotonic() < deadline:
            if reap:
                _reap()
            if not any(_alive(p) for p in pids) and not any(_group_alive(g) for g in groups):
                return
            time.sleep(0.05)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return any(_alive(p) for p in _group_members(group))


def _group_members(group: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[-1].split()
                if int(fields[2]) == group:
                    members.append(int(entry))
    return members


def _reap() -> None:
    """Collect exited children (adopted orphans included) so they do not linger as zombies."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
