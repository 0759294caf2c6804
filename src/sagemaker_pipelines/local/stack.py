"""``make airflow``: a real Airflow on this machine running the project's pipelines against the local AWS.

Where ``make run`` proves one pipeline under ``dag.test()`` in one process, this is the Airflow that
users run: the API server (UI and REST API on 127.0.0.1:PORT), the scheduler with the LocalExecutor (or
the CeleryExecutor with a Redis and a worker), the dag-processor and the triggerer, as separate processes
from this project's ``.venv``, sharing an Airflow home with SQLite metadata under
``.local/airflow-stack/``. The local AWS endpoint is one more process; the connections of the local
environment and its set-up (bucket, the example's existing model, warehouse tables) are exactly those
``make run`` uses. It answers only its owner: bound to loopback, and behind a login whose password is
generated into a 0600 file and printed at start (``local.owner_only``).

It prints the URL and the log files, then a status line whenever something changes. Ctrl-C (or SIGTERM)
stops every process it started and checks that none is left.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from sagemaker_pipelines.local.owner_only import (
    USER,
    ApiClient,
    ensure_password,
    passwords_file,
    private_dir,
    private_umask,
)
from sagemaker_pipelines.local.processes import Child, alive, free_port, process_tree, start_child, stop_all
from sagemaker_pipelines.local.stack_settings import (
    EXECUTORS,
    StackConfig,
    airflow_executable,
    process_argvs,
    stack_settings,
)
from sagemaker_pipelines.paths import display_path, local_state_dir, project_root
from sagemaker_pipelines.problems import PipelineInvalid

# A process that exits this many times within the window is reported and the stack stops: a restart
# loop would hide a fault (a broken configuration, a full disk) behind a status line that looks fine.
MAX_RESTARTS = 5
RESTART_WINDOW = 300.0
READY_LINE = "AIRFLOW_STACK_READY"  # printed once everything answers; tests wait for it
COMPONENTS = ("metadatabase", "scheduler", "dag_processor", "triggerer")


class StackError(Exception):
    """The stack could not start: the message says what and where to look."""


def api_get(url: str, timeout: float = 5.0) -> Any:
    """GET a JSON document that the REST API serves without a login (the health check)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _health(api_url: str) -> dict[str, str]:
    try:
        data = api_get(f"{api_url}/api/v2/monitor/health", timeout=3)
    except (OSError, ValueError):
        return {}
    return {name: (data.get(name) or {}).get("status", "?") for name in COMPONENTS}


def _status_line(api: ApiClient, children: list[Child]) -> str:
    """One short line: processes up, DAGs, import errors, runs by state."""
    up = sum(child.running for child in children)
    parts = [f"{up}/{len(children)} processes up"]
    try:
        dags = api.get("/api/v2/dags?limit=1")["total_entries"]
        errors = api.get("/api/v2/importErrors?limit=1")["total_entries"]
        parts += [f"{dags} DAGs", f"{errors} import error{'s' if errors != 1 else ''}"]
        for state in ("queued", "running", "success", "failed"):
            count = api.get(f"/api/v2/dags/~/dagRuns?state={state}&limit=1")["total_entries"]
            if count:
                parts.append(f"{count} {state}")
    except (OSError, ValueError, KeyError):
        parts.append("API not answering")
    return ", ".join(parts)


class Stack:
    """The running processes; :meth:`stop` ends them all, whatever state start() reached."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.children: list[Child] = []
        self.aws = None
        self.env: dict[str, str] = {}
        self._restarts: dict[str, list[float]] = {}  # process name -> when it was restarted (monotonic)

    def _start(self, name: str, argv: list[str]) -> Child:
        child = start_child(name, argv, self.env, self.config.log_dir, project_root())
        self.children.append(child)
        return child

    def _check_children(self) -> None:
        for child in self.children:
            if not child.running:
                raise StackError(
                    f"{child.name} exited with code {child.process.returncode}; "
                    f"its log ({display_path(child.log_path)}) ends with:\n{child.log_tail()}"
                )

    def start(self) -> None:
        from sagemaker_pipelines.format.environment import load_environment
        from sagemaker_pipelines.local.aws import start_local_aws

        config = self.config
        environment = load_environment(config.environment)
        if not environment.local:
            raise StackError(
                f"environment '{environment.name}' is not a local one (local: true): "
                "make airflow runs against the local AWS endpoint only"
            )
        if not _port_is_free(config.port):
            raise StackError(f"port {config.port} of 127.0.0.1 is taken: pick another (make airflow PORT=N)")
        private_dir(config.state_dir)
        self.aws = start_local_aws(config.state_dir / "aws", keep_state=True)
        self.env = {**os.environ, **stack_settings(config, environment, self.aws)}
        # Creating (or upgrading) the metadata database overlaps with the set-up of the environment.
        migrate = self._start("db-migrate", [airflow_executable(), "db", "migrate"])
        provisioning = _Provisioning(environment, self.aws, config.state_dir / "warehouse.db")
        provisioning.start()
        if config.executor == "celery":
            self._start_redis()
        if migrate.process.wait() != 0:
            raise StackError(f"airflow db migrate failed: see {display_path(migrate.log_path)}")
        self.children.remove(migrate)
        for name, argv in process_argvs(config):
            self._start(name, argv)
        self._wait_until_healthy(provisioning)

    def _start_redis(self) -> None:
        redis = shutil.which("redis-server")
        if redis is None:
            raise StackError(
                "redis-server is not installed: run 'make install' (it installs Debian's redis-server) "
                "or 'apt-get install redis-server'"
            )
        data = self.config.state_dir / "redis"
        data.mkdir(parents=True, exist_ok=True)
        argv = [redis, "--bind", "127.0.0.1", "--port", str(self.config.redis_port), "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(data), "--protected-mode", "yes"]
        self._start("redis", argv)

    def _wait_until_healthy(self, provisioning: _Provisioning, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._check_children()
            provisioning.raise_if_failed()
            health = _health(self.config.api_url)
            if provisioning.done and health and all(v == "healthy" for v in health.values()):
                return
            if time.monotonic() > deadline:
                raise StackError(f"not healthy after {timeout:.0f} s: {health or 'API not answering'}")
            time.sleep(1)

    def watch(self, interval: float = 3.0) -> None:
        """Print a status line whenever it changes, restarting an Airflow process or the local AWS
        endpoint that died, until one keeps dying (StackError), or Ctrl-C."""
        last = ""
        api = ApiClient(self.config.api_url, ensure_password(self.config.state_dir))
        while True:
            for note in [*self._revive_endpoint(), *self._revive()]:
                print(f"{time.strftime('%H:%M:%S')} {note}", flush=True)
            line = _status_line(api, self.children)
            if line != last:
                print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)
                last = line
            time.sleep(interval)

    def _revive(self) -> list[str]:
        """Start again each Airflow process (or Redis) that exited, as a deployment's supervisor would: a
        killed triggerer or worker must not take the whole stack, the endpoint and its jobs with it."""
        notes = []
        for index, child in enumerate(self.children):
            if child.running:
                continue
            self._count_restart(child.name, child.process.returncode, child.log_path, child.log_tail)
            self.children[index] = start_child(
                child.name, child.argv, self.env, self.config.log_dir, project_root()
            )
            notes.append(self._restarted(child.name, child.process.returncode, self.children[index].pid))
        return notes

    def _revive_endpoint(self) -> list[str]:
        """Start the local AWS endpoint again on its port with its credentials, so the connections every
        Airflow process was started with reach it; it keeps its S3 objects, models, endpoints and job
        records on disk (``local.aws.persistence``), and jobs that ran in the dead one are Failed."""
        from sagemaker_pipelines.local.aws import start_local_aws
        from sagemaker_pipelines.local.aws.server import log_tail

        if self.aws is None or self.aws.running:
            return []
        dead = self.aws
        code = dead.returncode
        self._count_restart("local AWS endpoint", code, dead.log_path, lambda: log_tail(dead.log_path))
        try:
            self.aws = start_local_aws(self.config.state_dir / "aws", keep_state=True, again=dead)
        except RuntimeError as exc:  # its port taken meanwhile, a state file it cannot read...
            raise StackError(
                f"the local AWS endpoint exited with code {code} and did not start again: {exc}"
            ) from exc
        note = self._restarted("local AWS endpoint", code, self.aws.pid)
        return [
            f"{note}; its S3 objects, models, endpoints and job records are kept, jobs that ran in it failed"
        ]

    def _count_restart(self, name: str, code: int | None, log_path: Path, tail) -> None:
        """One that exits MAX_RESTARTS times within RESTART_WINDOW seconds is a fault to report, not
        retry: a restart loop would hide it (a broken configuration, a full disk) behind a status line."""
        now = time.monotonic()
        recent = [t for t in self._restarts.get(name, []) if now - t < RESTART_WINDOW]
        if len(recent) >= MAX_RESTARTS:
            raise StackError(
                f"{name} exited with code {code}, {len(recent) + 1} times within {RESTART_WINDOW:.0f} s; "
                f"its log ({display_path(log_path)}) ends with:\n{tail()}"
            )
        self._restarts[name] = [*recent, now]

    def _restarted(self, name: str, code: int | None, pid: int) -> str:
        count = len(self._restarts[name])
        return (
            f"{name} exited with code {code}: restarted (pid {pid}; restart {count} of at most "
            f"{MAX_RESTARTS} within {RESTART_WINDOW:.0f} s)"
        )

    def stop(self) -> list:
        """Stop every child and the AWS endpoint; the processes still alive afterwards (none, normally)."""
        aws_tree = process_tree(self.aws.pid) if self.aws is not None else []  # the server and its jobs
        leftovers = stop_all(self.children)
        if self.aws is not None:
            self.aws.stop()
        return leftovers + alive(aws_tree)


class _Provisioning(threading.Thread):
    """The environment's local set-up (``local.provision``, as ``make run`` does it), for every pipeline,
    while Airflow's processes boot."""

    def __init__(self, environment, aws, warehouse_db: Path) -> None:
        super().__init__(name="provision", daemon=True)
        self.environment, self.aws, self.warehouse_db = environment, aws, warehouse_db
        self.done = False
        self.error: BaseException | None = None

    def run(self) -> None:
        from sagemaker_pipelines.cache.compile_cache import CompileCache
        from sagemaker_pipelines.local import provision
        from sagemaker_pipelines.project import check_all

        try:
            checked = check_all(self.environment, cache=CompileCache.default())
            for result in checked.good():
                provision.prepare(self.environment, self.aws, result.dag_id, self.warehouse_db)
            self.done = True
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise StackError(f"setting up the local environment failed: {self.error!r}") from self.error


def _print_banner(stack: Stack, seconds: float) -> None:
    config = stack.config
    logs = display_path(config.log_dir)
    names = ",".join(child.name for child in stack.children)
    password = ensure_password(config.state_dir)
    kept = display_path(passwords_file(config.state_dir))
    login = json.dumps({"username": USER, "password": password})
    header = "-H 'Content-Type: application/json'"
    url = config.api_url
    token = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    print(
        f"\nAirflow is up in {seconds:.0f} s: {config.api_url}  (UI and REST API; 127.0.0.1 only)\n"
        f"  login:       {USER} / {password}  (kept in {kept}, 0600)\n"
        f"  executor:    {EXECUTORS[config.executor]}"
        + (f" (Redis on 127.0.0.1:{config.redis_port})" if config.executor == "celery" else "")
        + f"\n  environment: {config.environment} (local AWS endpoint {stack.aws.endpoint_url})\n"
        f"  logs:        {logs}/{{{names}}}.log, AWS {display_path(stack.aws.log_path)}\n"
        f"  task logs:   {display_path(config.airflow_home / 'logs')}\n"
        + (
            f"  lineage:     OpenLineage events appended to {display_path(config.lineage)}\n"
            if config.lineage
            else ""
        )
        + f"  try:         TOKEN=$(curl -s -X POST {url}/auth/token {header} -d '{login}' | {token})\n"
        f'               curl -H "Authorization: Bearer $TOKEN" {config.api_url}/api/v2/dags\n'
        "Ctrl-C stops everything.\n",
        flush=True,
    )
    print(f"{READY_LINE} {config.api_url}", flush=True)


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both stop the stack; SIGINT explicitly, since a shell starts background jobs
    with it ignored and Python keeps an ignored SIGINT ignored."""

    def handler(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _sync_dag_files() -> None:
    """Every pipeline's own DAG file, as ``make sync`` writes them, before the dag-processor looks."""
    from sagemaker_pipelines.toolkit import sync

    changes = sync.plan()
    sync.apply(changes)
    for path in changes.write:
        print(f"wrote {display_path(path)}", flush=True)
    for path in changes.remove:
        print(f"removed {display_path(path)} (its pipeline is gone)", flush=True)


def run_stack(config: StackConfig) -> int:
    """Start, watch until Ctrl-C, stop; 0 after a clean Ctrl-C, 1 when something failed."""
    _stop_on_signals()
    stack = Stack(config)
    started = time.monotonic()
    status = 0
    print(f"starting Airflow ({EXECUTORS[config.executor]}) on {config.api_url} ...", flush=True)
    try:
        stack.start()
        _print_banner(stack, time.monotonic() - started)
        stack.watch()
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        status = 1
    except PipelineInvalid as exc:  # the environment file: unknown or invalid
        print(f"error: {exc}", file=sys.stderr, flush=True)
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        count = len(stack.children) + (stack.aws is not None)
        leftovers = stack.stop()
        if leftovers:
            shown = ", ".join(f"{p.pid}" for p in leftovers)
            print(f"stopped {count} processes, but these are still alive: {shown}", file=sys.stderr)
            status = 1
        elif count:
            print(f"stopped {count} processes and everything they started; none left", flush=True)
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sagemaker-pipelines airflow", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8080, help="API server port on 127.0.0.1 (default 8080)")
    parser.add_argument("--executor", choices=sorted(EXECUTORS), default="local", help="default: local")
    parser.add_argument("--env", default="local", help="a local environment (default: local)")
    parser.add_argument("--state-dir", type=Path, default=None, help="default: .local/airflow-stack/")
    parser.add_argument("--redis-port", type=int, default=0, help="celery: Redis port (default: a free one)")
    parser.add_argument(
        "--dags",
        type=Path,
        default=None,
        help="Airflow's DAG folder (default: dags/; e.g. build/compiled_dags)",
    )
    parser.add_argument(
        "--lineage",
        type=Path,
        default=None,
        help="append every task's OpenLineage events to this file, a JSON object a line (default: off)",
    )
    args = parser.parse_args(argv)
    private_umask()  # the databases, logs and endpoint state it and its processes create: 0600 / 0700
    if args.state_dir is None:
        private_dir(local_state_dir())
    if args.dags:  # read by paths.dags_dir(), which the Airflow settings take the DAG folder from
        os.environ["SAGEMAKER_DAGS_DIR"] = str(args.dags.resolve())
    else:
        _sync_dag_files()
    state_dir = (args.state_dir or local_state_dir() / "airflow-stack").resolve()
    redis_port = (args.redis_port or free_port()) if args.executor == "celery" else None
    lineage = args.lineage.resolve() if args.lineage else None
    config = StackConfig(state_dir, args.port, args.executor, args.env, redis_port, lineage)
    return run_stack(config)


if __name__ == "__main__":
    sys.exit(main())
