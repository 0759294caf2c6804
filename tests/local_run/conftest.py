"""One real local AWS server and one Airflow home for all end-to-end runs of this folder.

Each pipeline runs the way `make run` runs it - ``python -m sagemaker_pipelines.local.run`` in a fresh
process, Airflow's own dag.test() - against a moto server that these fixtures start, so the tests can
look at what the run really left in S3 and in the warehouse afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import boto3
import pytest

from sagemaker_pipelines.local.aws import start_local_aws
from sagemaker_pipelines.paths import CHECKOUT_ROOT, SOURCE_DIR

REGION = "us-east-2"  # environments/local.yaml


@dataclass
class RunResult:
    returncode: int
    output: str
    report: dict

    def task(self, task_id: str) -> dict:
        return next(t for t in self.report["tasks"] if t["task_id"] == task_id)


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory):
    with start_local_aws(tmp_path_factory.mktemp("aws")) as server:
        yield server


@pytest.fixture(scope="session")
def s3(local_aws):
    return boto3.client("s3", **local_aws.client_kwargs(REGION))


@pytest.fixture(scope="session")
def sagemaker(local_aws):
    return boto3.client("sagemaker", **local_aws.client_kwargs(REGION))


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("run-state")


def _streamed(argv: list[str], env: dict, on_line: Callable[[str], None]) -> tuple[int, str]:
    """Run ``argv``, handing each printed line to ``on_line`` as it comes; (exit status, all output)."""
    lines = []
    with subprocess.Popen(
        argv, env=env, cwd=CHECKOUT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        for line in process.stdout:
            lines.append(line)
            on_line(line)
        returncode = process.wait(timeout=900)
    return returncode, "".join(lines)


@pytest.fixture(scope="session")
def run_pipeline(local_aws, state_dir, tmp_path_factory):
    """Run a pipeline end to end; extra environment variables point it at other folders."""

    def run(
        name: str,
        *,
        logical_date: str | None = None,
        extra_env: dict | None = None,
        conf: dict | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> RunResult:
        """``on_line``: called with each line the run prints, as it prints it (stdout and stderr as one
        stream), for a test that must act on an event of the running pipeline."""
        report = tmp_path_factory.mktemp("report") / "report.json"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(SOURCE_DIR), str(CHECKOUT_ROOT)]),
            **local_aws.environment(),  # the endpoint and the credentials this start of it made
            "SAGEMAKER_PIPELINES_CACHE_DIR": "off",
            # make run writes the pipeline's DAG file: into a folder of the test's, never the checkout's
            "SAGEMAKER_DAGS_DIR": str(tmp_path_factory.mktemp("dags")),
            **(extra_env or {}),
        }
        argv = [sys.executable, "-m", "sagemaker_pipelines.local.run", name, "--state-dir", str(state_dir)]
        argv += ["--report", str(report)] + (["--logical-date", logical_date] if logical_date else [])
        argv += ["--conf", json.dumps(conf)] if conf is not None else []
        if on_line is None:
            done = subprocess.run(
                argv, env=env, cwd=CHECKOUT_ROOT, capture_output=True, text=True, timeout=900
            )
            returncode, output = done.returncode, done.stdout + done.stderr
        else:
            returncode, output = _streamed(argv, {**env, "PYTHONUNBUFFERED": "1"}, on_line)
        assert report.exists(), f"no report; the run printed:\n{output[-6000:]}"
        return RunResult(returncode, output, json.loads(report.read_text()))

    return run
