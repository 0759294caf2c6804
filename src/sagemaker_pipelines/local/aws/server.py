"""Start and stop the local AWS endpoint: one moto server process with the SageMaker patches.

The server is a separate process (``python -m sagemaker_pipelines.local.aws.server``) so a test, a DAG run
or a developer shell can share one endpoint over plain HTTP, exactly like AWS, and so jobs that crash or
hang cannot take the caller down. It binds port 0 (a free port) and writes the port it got to
``<state-dir>/server.json`` once it accepts connections; ``start_local_aws`` waits for that file and for an
HTTP answer.

It only serves its starter: each start makes fresh credentials (:mod:`.auth`), written to ``server.json``
(0600, in a 0700 state folder) and handed out as ``LocalAws.client_kwargs()``; any other request is
refused with AccessDenied. It runs in a session of its own (a terminal's Ctrl-C or hang-up reaches only
the run that started it, which stops it in order) and dies with its starter (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from sagemaker_pipelines.local.aws.auth import PROBE_HEADER, Credentials
from sagemaker_pipelines.paths import SOURCE_DIR as _SOURCE_DIR

READY_FILE = "server.json"
PYCACHE_DIR = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sagemaker-pipelines-local-aws"
)
LOG_FILE = "server.log"
# How another process of the same user reaches a running endpoint (``LocalAws.environment()``).
ENDPOINT_VARIABLE = "SAGEMAKER_LOCAL_AWS_ENDPOINT"
KEY_ID_VARIABLE = "SAGEMAKER_LOCAL_AWS_ACCESS_KEY_ID"
SECRET_VARIABLE = "SAGEMAKER_LOCAL_AWS_SECRET_ACCESS_KEY"
_CREDENTIALS_VARIABLE = "SAGEMAKER_LOCAL_AWS_SERVER_CREDENTIALS"  # key id:secret a restarted server keeps


@dataclass
class LocalAws:
    """A running local endpoint. Use as a context manager, or call ``stop()`` (also done at exit)."""

    endpoint_url: str
    port: int
    pid: int
    log_path: Path
    state_dir: Path
    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False)
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> LocalAws | None:
        """A running endpoint another process started and described in ``environ`` (see environment())."""
        url = environ.get(ENDPOINT_VARIABLE)
        if not url:
            return None
        port = int(url.rsplit(":", 1)[-1].strip("/"))
        key_id, secret = environ.get(KEY_ID_VARIABLE, ""), environ.get(SECRET_VARIABLE, "")
        return cls(url, port, 0, Path(os.devnull), Path(os.devnull), key_id, secret)

    def environment(self) -> dict[str, str]:
        """Variables that let a child process use this endpoint (from_environment() reads them)."""
        return {
            ENDPOINT_VARIABLE: self.endpoint_url,
            KEY_ID_VARIABLE: self.access_key_id,
            SECRET_VARIABLE: self.secret_access_key,
        }

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server (it stops its running jobs), killing it after ``timeout`` seconds."""
        proc = self._process
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        """The server's exit status once it has ended (negative: the signal that ended it)."""
        return self._process.poll() if self._process is not None else None

    def client_kwargs(self, region: str = "us-east-1") -> dict[str, str]:
        """Keyword arguments for ``boto3.client(service, **kwargs)`` against this endpoint."""
        return {
            "endpoint_url": self.endpoint_url,
            "region_name": region,
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
        }

    def __enter__(self) -> LocalAws:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def private_state_dir(state_dir: Path) -> Path:
    """The state folder, made or tightened to 0700; refused when another user owns it."""
    state_dir = Path(state_dir).resolve()
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = state_dir.stat()
    if info.st_uid != os.geteuid():
        raise RuntimeError(
            f"{state_dir} belongs to uid {info.st_uid}: the local endpoint needs a folder of its own"
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        state_dir.chmod(0o700)
    return state_dir


def start_local_aws(
    state_dir: Path,
    *,
    timeout: float = 60.0,
    verbose: bool = False,
    keep_state: bool = False,
    again: LocalAws | None = None,
) -> LocalAws:
    """Start the server as a subprocess with its state (job folders, logs) under ``state_dir``.

    ``keep_state``: keep S3, models, endpoints and job records on disk across restarts (``persistence``).
    ``again``: an endpoint that died, started anew on its port with its credentials, so the clients
    configured with them (Airflow's connections) reach the new one unchanged."""
    state_dir = private_state_dir(state_dir)
    ready = state_dir / READY_FILE
    ready.unlink(missing_ok=True)
    log_path = state_dir / LOG_FILE
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(_SOURCE_DIR), *filter(None, [env.get("PYTHONPATH")])])
    if "PYTHONPYCACHEPREFIX" not in env:
        # Compiled bytecode outside the source trees, so that the server and every job process do not
        # recompile scikit-learn & co. from source when PYTHONDONTWRITEBYTECODE is set (10 s+ per import).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE_DIR)
    argv = (
        [
            sys.executable,
            "-m",
            "sagemaker_pipelines.local.aws.server",
            "--host",
            "127.0.0.1",
            "--port",
            str(again.port if again else 0),
            "--state-dir",
            str(state_dir),
            "--parent",
            str(os.getpid()),
        ]
        + (["--verbose"] if verbose else [])
        + (["--keep-state"] if keep_state else [])
    )
    if again is not None:  # through the environment, which only this user can read, not the command line
        env[_CREDENTIALS_VARIABLE] = f"{again.access_key_id}:{again.secret_access_key}"
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as log_file:
        proc = subprocess.Popen(
            argv, stdout=log_file, stderr=subprocess.STDOUT, env=env, cwd=state_dir, start_new_session=True
        )
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"local AWS server exited with code {proc.returncode}:\n{log_tail(log_path)}")
        if ready.is_file():
            try:
                info = json.loads(ready.read_text())
            except ValueError:
                info = {}
            if info.get("pid") == proc.pid and _answers(f"http://127.0.0.1:{info['port']}"):
                break
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"local AWS server did not start within {timeout} s:\n{log_tail(log_path)}")
        time.sleep(0.1)
    port = int(info["port"])
    url = f"http://127.0.0.1:{port}"
    aws = LocalAws(
        url, port, proc.pid, log_path, state_dir, info["access_key_id"], info["secret_access_key"], proc
    )
    atexit.register(aws.stop)
    return aws


def _answers(url: str) -> bool:
    """Any HTTP answer means the server is up (the unsigned probe is refused, quietly)."""
    request = urllib.request.Request(url + "/moto-api/data.json", headers={PROBE_HEADER: "1"})
    try:
        with urllib.request.urlopen(request, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def log_tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log, for a message saying why a process ended (empty if unreadable)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _warm_moto(app: Any) -> None:
    """Build moto's S3 and SageMaker apps now (seconds each on first use) rather than on the first request."""
    for service in ("s3", "sagemaker", "sagemakerruntime"):
        try:
            app.app_instances.setdefault(service, app.create_app(service))
        except Exception:  # an optimisation only
            logging.getLogger("local_aws").warning("could not pre-build the %s app", service, exc_info=True)


def _prewarm() -> None:
    """Import the ML libraries in the background: importing scikit-learn takes seconds on a small machine,
    better spent before the first job than during it."""
    import importlib

    for module in ("joblib", "sklearn.neighbors", "sklearn.linear_model", "sklearn.metrics", "xgboost"):
        with contextlib.suppress(ImportError):
            importlib.import_module(module)


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then stop the running job processes."""
    parser = argparse.ArgumentParser(description="Local AWS endpoint (moto) whose SageMaker jobs really run")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--state-dir", type=Path, default=Path(".local-aws"))
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request")
    parser.add_argument("--parent", type=int, default=None, help="the starter's pid: stop when it dies")
    parser.add_argument("--keep-state", action="store_true", help="keep the state on disk across restarts")
    args = parser.parse_args(argv)

    def on_signal(signum: int, _frame: object) -> None:
        raise SystemExit(0)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    if args.parent is not None:
        from sagemaker_pipelines.local.hygiene import die_with_parent

        die_with_parent(signal.SIGTERM, args.parent)
    state_dir = private_state_dir(args.state_dir)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stdout,
        force=True,
    )
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.verbose else logging.WARNING)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from sagemaker_pipelines.local.aws import persistence
    from sagemaker_pipelines.local.aws.auth import SignedRequestsOnly
    from sagemaker_pipelines.local.aws.backend import SETTINGS
    from sagemaker_pipelines.local.aws.install import install, with_routes
    from sagemaker_pipelines.local.aws.sandbox import kill_all_children, prune_jobs

    pruned = prune_jobs(state_dir)
    if pruned:
        logging.getLogger("local_aws").info("pruned %d job folders of earlier runs", len(pruned))
    install(state_dir)
    app = DomainDispatcherApplication(create_backend_app)
    _warm_moto(app)
    saver = None
    if args.keep_state:
        saver = persistence.Saver(state_dir)
        restored = persistence.restore(state_dir)
        logging.getLogger("local_aws").info("restored %d backends from %s", restored, persistence.STATE_FILE)
        saver.start()
        app = persistence.MarkChanges(app, saver)
    kept = os.environ.pop(_CREDENTIALS_VARIABLE, "")
    credentials = Credentials(*kept.split(":", 1)) if kept else Credentials.generate()
    SETTINGS.credentials = (credentials.access_key_id, credentials.secret_access_key)
    guarded = SignedRequestsOnly(with_routes(app), credentials, logging.getLogger("local_aws.auth"))
    server = make_server(args.host, args.port, guarded, threaded=True, request_handler=MotoRequestHandler)
    port = server.server_port
    info = {"port": port, "pid": os.getpid(), "host": args.host, "access_key_id": credentials.access_key_id}
    info["secret_access_key"] = credentials.secret_access_key
    tmp = state_dir / (READY_FILE + ".tmp")
    tmp.unlink(missing_ok=True)
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "w") as out:
        out.write(json.dumps(info))
    tmp.replace(state_dir / READY_FILE)
    logging.getLogger("local_aws").info("serving on http://%s:%d (state in %s)", args.host, port, state_dir)
    print(f"LOCAL_AWS_READY port={port}", flush=True)
    threading.Thread(target=_prewarm, name="prewarm", daemon=True).start()
    try:
        server.serve_forever()
    finally:
        logging.getLogger("local_aws").info("shutting down")
        kill_all_children()
        if saver is not None:
            saver.final_save()
        server.server_close()
        (state_dir / READY_FILE).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
