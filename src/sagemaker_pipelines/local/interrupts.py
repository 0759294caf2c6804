"""One orderly stop of a local run, whichever way it is asked for: Ctrl-C, SIGTERM, SIGHUP, or the
emulator dying under it.

Why not plain signal handlers: Airflow's in-process task runner installs its own SIGTERM handler for
each task (it calls the operator's ``on_kill`` and returns), so a SIGTERM sent to ``make run`` after
the first task used to be swallowed. ``signal.set_wakeup_fd`` sees every signal whichever Python
handler is installed; a watcher thread reads it and, when Airflow's handler took the signal, interrupts
the main thread itself. A KeyboardInterrupt inside a task only fails that task (Airflow catches it and
``dag.test()`` goes on with the next ones), so :meth:`RunGuard.tasks` also stops the run between tasks.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import select
import signal
import sys
import threading
from collections.abc import Callable, Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """The run was asked to stop: by a signal (``signum``) or because the emulator died (``reason``)."""


class RunGuard:
    """Install with ``with RunGuard() as guard:``; ``guard.signum``/``guard.reason`` say why it stopped."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.reason = ""  # set when something other than a signal stopped the run
        self.stopping = False
        self._pending: int | None = None
        self._alive: Callable[[], bool] | None = None
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._closed = threading.Event()
        self._lock = threading.Lock()  # no interrupt is requested once the guard is being left
        self._old_handlers: dict[int, object] = {}
        self._old_fd = -1

    def __enter__(self) -> RunGuard:
        for sig in SIGNALS:
            self._old_handlers[sig] = signal.signal(sig, self._handler)
        self._old_fd = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, name="run-guard", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._closed.set()
        signal.set_wakeup_fd(self._old_fd)  # (a pending interrupt reaches _handler first, which ignores it)
        for sig, handler in self._old_handlers.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        with contextlib.suppress(OSError):
            os.write(self._write, b"\0")  # wake the watcher so it ends

    @property
    def exit_code(self) -> int:
        """128 + the signal, like a shell reports a command a signal ended (130 for Ctrl-C)."""
        return 128 + self.signum if self.signum else 1

    def watch(self, alive: Callable[[], bool]) -> None:
        """Stop the run if ``alive()`` turns false (checked twice a second): the emulator died."""
        self._alive = alive

    def unwatch(self) -> None:
        self._alive = None

    def _handler(self, signum: int, _frame: object) -> None:
        if self._closed.is_set():
            return
        if self.stopping:
            print(f"\n(still stopping after {signal.Signals(signum).name}...)", file=sys.stderr, flush=True)
            return
        self.stopping = True
        pending, self._pending = self._pending, None
        if pending == -1:
            self.reason = self.reason or "the local AWS endpoint stopped"
        else:
            self.signum = pending or signum
        raise Interrupted(self.signum)

    def _interrupt(self, why: int) -> None:
        with self._lock:
            if not self.stopping and not self._closed.is_set():
                self._pending = why
                _thread.interrupt_main(signal.SIGINT)

    def _watch(self) -> None:
        while not self._closed.is_set():
            ready, _, _ = select.select([self._read], [], [], 0.5)
            if ready:
                for number in os.read(self._read, 64):
                    if number in (signal.SIGTERM, signal.SIGHUP) and not self._closed.wait(0.2):
                        self._interrupt(number)  # when Airflow's handler took it, ours did not run
            else:
                alive = self._alive
                if alive is not None and not self.stopping and not alive() and self._alive is not None:
                    self.reason = "the local AWS endpoint stopped"
                    self._interrupt(-1)

    @contextlib.contextmanager
    def tasks(self) -> Iterator[None]:
        """While ``dag.test()`` runs: no task starts, and none is followed by another, once stopping."""
        try:
            from airflow.sdk.definitions import dag as dag_module
        except ImportError:  # pragma: no cover - another Airflow layout: tasks just fail one by one
            yield
            return
        original = dag_module._run_task

        def run_task(**kwargs: object) -> object:
            if self.stopping:
                raise Interrupted(self.signum)
            result = original(**kwargs)
            if self.stopping:
                raise Interrupted(self.signum)
            return result

        dag_module._run_task = run_task
        try:
            yield
        finally:
            dag_module._run_task = original
