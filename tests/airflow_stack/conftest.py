"""A real ``make airflow`` stack for a module of tests: its own processes, port, state and pipelines.

The stack runs exactly as ``make airflow`` runs it (``python -m sagemaker_pipelines.toolkit airflow``),
in its own session like a terminal's foreground job, on free ports, with a temporary state folder and a
temporary copy of the pipelines, so a test can add a broken file without touching the project. Tests
talk to it only through its REST API (as its user, with a token from ``POST /auth/token`` and the
password the stack keeps in its 0600 file, as the owner would) and the local AWS endpoint it started.
Scheduled runs are switched off (``[scheduler] use_job_schedule``) so that unpausing a DAG
runs only what a test triggers.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

# Tests here that import Airflow in this process get a throw-away home (the stacks have their own).
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-stack-tests-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "false")

from sagemaker_pipelines.local.owner_only import ensure_password, fetch_token
from sagemaker_pipelines.local.processes import free_port
from sagemaker_pipelines.local.stack import READY_LINE
from sagemaker_pipelines.paths import CHECKOUT_ROOT, SOURCE_DIR
from tests.waiting import wait_until

EXAMPLES = ("batch_inference", "iris_deploy", "iris_script_mode", "iris_training")
HERE = Path(__file__).parent
START_TIMEOUT = 300


@dataclass
class Api:
    """The REST API of a running stack, as plain HTTP with JSON, logged in as the stack's user."""

    base: str
    password: str | None = None  # None: no login (a request the stack must refuse)
    token: str | None = field(default=None, repr=False)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.password is not None:
            if self.token is None:
                self.token = fetch_token(self.base, self.password, timeout=60)
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: HTTP {exc.code} {exc.read().decode()[:500]}") from None

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def dag_ids(self) -> set[str]:
        return {d["dag_id"] for d in self.get("/api/v2/dags?limit=100")["dags"]}

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        """Unpause (as a user does in the UI) and trigger a run; its run id."""
        self.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        run = self.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})
        return run["dag_run_id"]

    def asset_triggered_runs(self, dag_id: str) -> list[dict]:
        """The DAG's runs that asset events queued. Wait on these rather than on an event's
        ``created_dagruns``: Airflow 3.3's ``GET /api/v2/assets/events`` answers 500 while a run an
        event created has not started (its response model requires the run's ``start_date``)."""
        runs = self.get(f"/api/v2/dags/{dag_id}/dagRuns?limit=100")["dag_runs"]
        return [r for r in runs if r["run_type"] == "asset_triggered"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        tis = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return {ti["task_id"]: ti["state"] for ti in tis}

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 240) -> str:
        """Poll the run until it finishes; its final state (a failure explains itself)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in ("success", "failed"):
                return state
            time.sleep(2)
        raise AssertionError(
            f"{dag_id} {run_id} still running after {timeout} s: {self.task_states(dag_id, run_id)}"
        )

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        content = self.get(path + "?full_content=true")["content"]
        if isinstance(content, list):
            return "\n".join(json.dumps(item) if not isinstance(item, str) else item for item in content)
        return str(content)


@dataclass
class RunningStack:
    process: subprocess.Popen
    api: Api
    state_dir: Path
    pipelines: Path
    output_path: Path
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def aws_endpoint(self) -> str:
        info = json.loads((self.state_dir / "aws" / "server.json").read_text())
        return f"http://127.0.0.1:{info['port']}"

    def aws_client(self, service: str, region: str):
        """A client of the stack's AWS endpoint, signed with the credentials it made at start (as a
        process of the user who started it can read them; the endpoint refuses any other)."""
        import boto3

        info = json.loads((self.state_dir / "aws" / "server.json").read_text())
        return boto3.client(
            service,
            endpoint_url=self.aws_endpoint(),
            region_name=region,
            aws_access_key_id=info["access_key_id"],
            aws_secret_access_key=info["secret_access_key"],
        )

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def interrupt(self, timeout: float = 90) -> int:
        """Ctrl-C: SIGINT to the stack's process group, as a terminal sends it; its exit status."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=timeout)


def _copy_pipelines(target: Path, names: tuple[str, ...], extra: tuple[Path, ...]) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(CHECKOUT_ROOT / "pipelines" / f"{name}.yaml", target)
    for path in extra:
        shutil.copy(path, target)
    return target


def start_stack(
    tmp: Path,
    *,
    executor: str = "local",
    pipelines: tuple[str, ...] = EXAMPLES,
    extra=(),
    scheduling: bool = False,
    args: tuple[str, ...] = (),
) -> RunningStack:
    """Start the stack and wait for its ready line (it prints it once every component is healthy).

    ``scheduling``: keep the scheduler creating runs by itself. Airflow creates asset-triggered runs in
    the same step as scheduled ones, so a test of assets needs it (and then an unpaused cron DAG also
    gets its latest scheduled run). ``args``: more options of ``make airflow`` (``--lineage FILE``)."""
    folder = _copy_pipelines(tmp / "pipelines", pipelines, tuple(extra))
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(SOURCE_DIR), str(CHECKOUT_ROOT), os.environ.get("PYTHONPATH", "")]
        ),
        "SAGEMAKER_PIPELINES_DIR": str(folder),
        "SAGEMAKER_DAGS_DIR": str(tmp / "dags"),  # the stack writes each pipeline's DAG file there
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(scheduling),
    }
    env.pop("SAGEMAKER_PIPELINES_ENV", None)
    argv = [sys.executable, "-m", "sagemaker_pipelines.toolkit", "airflow", "--port", str(port)]
    argv += ["--executor", executor, "--state-dir", str(tmp / "state"), *args]
    output_path = tmp / "stack.out"
    process = subprocess.Popen(
        argv,
        cwd=CHECKOUT_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    stack = RunningStack(process, Api(f"http://127.0.0.1:{port}"), tmp / "state", folder, output_path)
    ready = threading.Event()

    def pump() -> None:
        with output_path.open("w") as copy:
            for line in process.stdout:
                stack.lines.append(line)
                copy.write(line)
                copy.flush()
                if line.startswith(READY_LINE):
                    ready.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT
    while not ready.wait(1):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_stack(stack)
            raise AssertionError(f"the stack did not come up:\n{stack.output[-5000:]}")
    stack.api.password = ensure_password(stack.state_dir)  # the file the stack made at start
    return stack


def stop_stack(stack: RunningStack) -> None:
    """Teardown for a stack a test did not stop itself: Ctrl-C, then SIGKILL whatever is left."""
    if stack.process.poll() is not None:
        return
    processes = [psutil.Process(stack.process.pid), *stack.descendants()]
    with contextlib.suppress(subprocess.TimeoutExpired):
        stack.interrupt()
    for proc in processes:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            continue


@pytest.fixture(scope="module")
def deferred_pipeline() -> Path:
    return HERE / "pipelines" / "iris_deferred.yaml"


def command_line(process: psutil.Process) -> list[str]:
    """A process's command line; empty for one that has just ended (a task runner's zombie, say)."""
    try:
        return process.cmdline()
    except (psutil.ZombieProcess, psutil.NoSuchProcess):
        return []


FEATURES = HERE / "pipelines" / "features"


@pytest.fixture(scope="package")
def features_stack(tmp_path_factory) -> RunningStack:
    """One LocalExecutor stack shared by every module that tests a pipeline feature through Airflow.

    It serves the shipped examples plus each pipeline in ``pipelines/features/`` (one file per feature
    test), so adding a feature test costs its runs, not another start of Airflow's processes.
    """
    running = start_stack(
        tmp_path_factory.mktemp("features"),
        pipelines=(*EXAMPLES, "iris_sweep"),  # the example of notify, a task group and for_each
        extra=tuple(sorted(FEATURES.glob("*.yaml"))),
    )
    expected = {path.stem for path in running.pipelines.glob("*.yaml")}  # dag id = file name
    try:
        # Ready means every process answers, not that the dag-processor has parsed every file yet.
        wait_until(lambda: expected <= running.api.dag_ids(), 240, f"all of {sorted(expected)} listed")
    except AssertionError:
        stop_stack(running)
        raise
    yield running
    stop_stack(running)
