"""Every process a run starts ends with it: the emulator killed, its starter killed, ``make run`` stopped
by Ctrl-C, SIGTERM or SIGHUP, or left without its emulator - with real processes, real signals.

The job is a training script that starts a child in its own process group and a grandchild in a
session of its own (what a careless script or a library's worker pool does), then sleeps: each of them
must be gone afterwards.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import textwrap
import time
from pathlib import Path

import boto3
import pytest

from sagemaker_pipelines.compile.images import framework_image_uri
from sagemaker_pipelines.local.aws import start_local_aws
from sagemaker_pipelines.local.aws.sandbox import prune_jobs
from sagemaker_pipelines.paths import CHECKOUT_ROOT, SOURCE_DIR
from tests.waiting import wait_until

REGION = "us-east-2"
IMAGE = framework_image_uri("sklearn", REGION, serving=False)
SLOW_SCRIPT = textwrap.dedent(
    """
    import os, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    grandchild = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True
    )
    with open(os.environ["TRUST_PID_FILE"], "a") as out:
        out.write(f"{os.getpid()} {child.pid} {grandchild.pid}\\n")
    print("slow job started", flush=True)
    time.sleep(600)
    """
)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except OSError:
        return False


def wait_for(predicate, timeout: float, what: str) -> None:
    wait_until(predicate, timeout, what, interval=0.2)


def job_pids(pid_file: Path, timeout: float = 90) -> list[int]:
    wait_for(
        lambda: pid_file.exists() and pid_file.read_text().strip(), timeout, "the slow job never started"
    )
    pids = [int(p) for p in pid_file.read_text().split()]
    assert len(pids) == 3 and all(alive(p) for p in pids)
    return pids


def all_end(pids: list[int], timeout: float = 20) -> None:
    wait_for(
        lambda: not any(alive(p) for p in pids), timeout, f"still running: {[p for p in pids if alive(p)]}"
    )


def start_slow_job(aws) -> None:
    s3 = boto3.client("s3", **aws.client_kwargs(REGION))
    s3.create_bucket(Bucket="slow", CreateBucketConfiguration={"LocationConstraint": REGION})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = SLOW_SCRIPT.encode()
        info = tarfile.TarInfo("slow.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    s3.put_object(Bucket="slow", Key="code/sourcedir.tar.gz", Body=buffer.getvalue())
    s3.put_object(Bucket="slow", Key="train/x.csv", Body=b"1,2\n")
    boto3.client("sagemaker", **aws.client_kwargs(REGION)).create_training_job(
        TrainingJobName="slow",
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn="arn:aws:iam::123456789012:role/x",
        HyperParameters={
            "sagemaker_program": '"slow.py"',
            "sagemaker_submit_directory": json.dumps("s3://slow/code/sourcedir.tar.gz"),
        },
        InputDataConfig=[
            {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://slow/train/"}}}
        ],
        OutputDataConfig={"S3OutputPath": "s3://slow/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )  # fmt: skip


@pytest.fixture
def pid_file(tmp_path, monkeypatch):
    path = tmp_path / "pids"
    monkeypatch.setenv("TRUST_PID_FILE", str(path))
    return path


@pytest.mark.timeout(180)
def test_killing_the_emulator_ends_the_job_and_everything_it_started(tmp_path, pid_file):
    aws = start_local_aws(tmp_path / "aws")
    try:
        start_slow_job(aws)
        pids = job_pids(pid_file)
        os.kill(aws.pid, signal.SIGKILL)
        all_end(pids)
    finally:
        aws.stop()


DRIVER = """\
import sys, time
sys.path[:0] = sys.argv[3:]
from tests.trust.test_processes import start_slow_job
from sagemaker_pipelines.local.aws import start_local_aws
aws = start_local_aws(__import__("pathlib").Path(sys.argv[1]))
open(sys.argv[2], "w").write(str(aws.pid))
start_slow_job(aws)
time.sleep(600)
"""


@pytest.mark.timeout(180)
def test_killing_the_starter_ends_the_emulator_and_its_jobs(tmp_path, pid_file):
    server_pid = tmp_path / "server.pid"
    driver = subprocess.Popen(
        [
            sys.executable,
            "-c",
            DRIVER,
            str(tmp_path / "aws"),
            str(server_pid),
            str(SOURCE_DIR),
            str(CHECKOUT_ROOT),
        ]
    )
    try:
        pids = job_pids(pid_file)
        server = int(server_pid.read_text())
        driver.kill()  # SIGKILL: no atexit, no finally - only the kernel's parent-death signal is left
        driver.wait()
        all_end([server, *pids])
    finally:
        driver.kill()


SLOW_PIPELINE = """\
start_date: 2024-01-01
schedule: null
default_args: {retries: 0}
tasks:
  upload:
    kind: s3_upload
    file: include/data/test.csv
    to: s3://sagemaker-local/slow/train/test.csv
  train:
    kind: training
    depends_on: [upload]
    entry_point: include/slow/slow.py
    framework: sklearn
    inputs: {train: "s3://sagemaker-local/slow/train/"}
    max_runtime: 600
"""


@pytest.fixture(scope="module")
def run_home(tmp_path_factory):
    """One Airflow home for the runs of this module (its metadata database is made once)."""
    return tmp_path_factory.mktemp("run-home")


def start_run(project: Path, state: Path, pid_file: Path, report: Path) -> subprocess.Popen[str]:
    include = project / "include"
    if not include.exists():
        shutil.copytree(CHECKOUT_ROOT / "include", include, ignore=shutil.ignore_patterns("__pycache__"))
        (include / "slow").mkdir()
        (include / "slow" / "slow.py").write_text(SLOW_SCRIPT)
        (project / "pipelines").mkdir()
        (project / "pipelines" / "slow.yaml").write_text(SLOW_PIPELINE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SAGEMAKER_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(SOURCE_DIR), str(CHECKOUT_ROOT)]),
        SAGEMAKER_PIPELINES_DIR=str(project / "pipelines"),
        SAGEMAKER_DAGS_DIR=str(project / "dags"),
        SAGEMAKER_INCLUDE_DIR=str(include),
        SAGEMAKER_PIPELINES_CACHE_DIR="off",
        TRUST_PID_FILE=str(pid_file),
    )
    argv = [sys.executable, "-m", "sagemaker_pipelines.local.run", "slow", "--state-dir", str(state)]
    return subprocess.Popen(
        [*argv, "--report", str(report)],
        env=env,
        cwd=CHECKOUT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a process group of its own, as a terminal's foreground job has
    )


def emulator_pid(output: str) -> int:
    return int(re.search(r"local AWS endpoint: \S+ \(moto, pid (\d+)", output)[1])


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_stopped_run_prints_its_summary_says_interrupted_and_leaves_nothing(tmp_path, run_home, sig, code):
    pid_file, report = tmp_path / "pids", tmp_path / "report.json"
    run = start_run(tmp_path, run_home, pid_file, report)
    try:
        pids = job_pids(pid_file, timeout=200)
        time.sleep(1)
        if sig == signal.SIGTERM:
            run.send_signal(sig)  # kill <pid>
        else:
            os.killpg(run.pid, sig)  # what a terminal does: Ctrl-C, or closing it, signals the whole job
        output, _ = run.communicate(timeout=90)
    finally:
        run.kill()
    assert run.returncode == code, output[-4000:]
    assert (
        "== slow: interrupted in" in output and "interrupted: stopped everything this run started" in output
    )
    assert "Traceback" not in output.split("== slow: interrupted")[1]
    summary = json.loads(report.read_text())
    assert summary["state"] == "interrupted"
    assert [(t["task_id"], t["state"]) for t in summary["tasks"]] == [
        ("upload", "success"),
        ("train", "failed"),
    ]
    all_end([emulator_pid(output), *pids])


@pytest.mark.timeout(300)
def test_a_run_whose_emulator_dies_ends_with_its_summary(tmp_path, run_home):
    pid_file, report = tmp_path / "pids", tmp_path / "report.json"
    run = start_run(tmp_path, run_home, pid_file, report)
    try:
        pids = job_pids(pid_file, timeout=200)
        lines = []
        while not any("local AWS endpoint" in line for line in lines):  # read up to the emulator's pid
            lines.append(run.stdout.readline())
        os.kill(emulator_pid("".join(lines)), signal.SIGKILL)
        rest, _ = run.communicate(timeout=120)
    finally:
        run.kill()
    output = "".join(lines) + rest
    assert run.returncode == 1, output[-4000:]
    assert "== slow: failed in" in output and "stopped early: the local AWS endpoint stopped" in output
    assert "S3 objects written: unknown (the local AWS endpoint is not answering any more)" in output
    assert "Traceback" not in output.split("== slow: failed")[1]
    all_end(pids)


def test_old_job_folders_are_pruned_keeping_the_last_runs_and_a_size_cap(tmp_path):
    jobs = tmp_path / "jobs"
    starts = [1000.0, 2000.0, 3000.0, 4000.0]
    (tmp_path / "runs.json").write_text(json.dumps(starts))
    for name, when, size in [("a", 1500, 10), ("b", 2500, 10), ("c", 3500, 600), ("d", 4500, 500)]:
        folder = jobs / name
        folder.mkdir(parents=True)
        (folder / "model.tar.gz").write_bytes(b"x" * size)
        os.utime(folder, (when, when))
    deleted = prune_jobs(tmp_path, keep_runs=3, max_bytes=1000)
    # Runs started at 2000, 3000 and 4000 are kept (a is older); then the oldest go until 1000 bytes fit.
    assert sorted(p.name for p in deleted) == ["a", "b", "c"]
    assert sorted(p.name for p in jobs.iterdir()) == ["d"]
    assert len(json.loads((tmp_path / "runs.json").read_text())) == 5


@pytest.mark.timeout(120)
def test_a_server_start_prunes_the_job_folders_of_old_runs(tmp_path):
    state = tmp_path / "aws"
    old = state / "jobs" / "training-old"
    old.mkdir(parents=True)
    os.utime(old, (1, 1))
    (state / "runs.json").write_text(json.dumps([10, 20, 30]))
    with start_local_aws(state):
        assert not old.exists()


def test_the_guard_stops_the_run_when_the_emulator_dies_but_not_when_the_run_stops_it():
    from sagemaker_pipelines.local.interrupts import Interrupted, RunGuard

    with pytest.raises(Interrupted), RunGuard() as guard:
        guard.watch(lambda: False)
        time.sleep(5)
    assert guard.reason == "the local AWS endpoint stopped" and guard.signum is None

    alive = {"yes": True}
    with RunGuard() as guard:
        guard.watch(lambda: alive["yes"])
        guard.unwatch()  # what the run does before stopping the emulator
        alive["yes"] = False
        time.sleep(1.5)  # three polls of the watcher
    assert not guard.stopping and guard.reason == ""


def test_a_sigterm_taken_by_another_handler_still_stops_the_run():
    """Airflow's in-process task runner installs its own SIGTERM handler for every task."""
    from sagemaker_pipelines.local.interrupts import Interrupted, RunGuard

    seen = []
    with pytest.raises(Interrupted), RunGuard() as guard:
        signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    assert seen == [signal.SIGTERM] and guard.signum == signal.SIGTERM and guard.exit_code == 143


def test_make_airflow_restarts_its_dead_local_endpoint_with_its_state(tmp_path):
    """A killed endpoint is started again on its port with its credentials, so every Airflow process's
    connection still reaches it, with what the runs wrote (kept on disk); the status note says so, and
    one that keeps dying stops the stack with its log instead of restarting forever."""
    from sagemaker_pipelines.local.stack import MAX_RESTARTS, Stack, StackError
    from sagemaker_pipelines.local.stack_settings import StackConfig

    stack = Stack(StackConfig(tmp_path, port=0, executor="local", environment="local"))
    stack.aws = first = start_local_aws(tmp_path / "aws", keep_state=True)
    try:
        assert stack._revive_endpoint() == []  # alive: nothing to say
        s3 = boto3.client("s3", **first.client_kwargs("us-east-1"))
        s3.create_bucket(Bucket="kept")
        s3.put_object(Bucket="kept", Key="model.tar.gz", Body=b"weights")
        # A change is on disk before it is answered: the object's bytes are in the saved state already.
        assert b"weights" in (tmp_path / "aws" / "state.pickle").read_bytes()
        os.kill(first.pid, signal.SIGKILL)
        first._process.wait(timeout=30)
        (note,) = stack._revive_endpoint()
        assert note.startswith("local AWS endpoint exited with code -9: restarted (pid "), note
        assert "are kept" in note
        assert stack.aws.pid != first.pid and stack.aws.port == first.port
        assert s3.get_object(Bucket="kept", Key="model.tar.gz")["Body"].read() == b"weights"  # same client
        stack._restarts["local AWS endpoint"] = [time.monotonic()] * MAX_RESTARTS
        os.kill(stack.aws.pid, signal.SIGKILL)
        stack.aws._process.wait(timeout=30)
        with pytest.raises(StackError, match=r"local AWS endpoint exited with code -9, 6 times within 300 s"):
            stack._revive_endpoint()
    finally:
        first.stop()
        stack.aws.stop()
