"""A training job that holds until the test releases it, under a real stack: what the fault tests act on.

The job's script writes its pid file once it runs and ends only when the release file exists, so a test
can kill, cancel or time out a task while its job surely runs, and count the task instance's jobs on the
stack's local endpoint afterwards.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from sagemaker_pipelines.paths import CHECKOUT_ROOT

from .conftest import RunningStack, command_line, start_stack, stop_stack, wait_until

REGION = "us-east-2"  # environments/local.yaml
HELD = """\
import os, time

open(os.environ["PID_FILE"], "w").write(str(os.getpid()))
while not os.path.exists(os.environ["RELEASE_FILE"]):
    time.sleep(0.2)
open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w").write("trained")
"""


ONE_RETRY = "retries: 1\nretry_delay: 1s\n"


def pipeline(folder: Path, extra: str = ONE_RETRY) -> str:
    """A pipeline whose task ``train`` runs the held job; ``extra``: more task fields (its retries), and
    its ``check_interval`` if not the 2 s a test waits least with."""
    checks = "" if "check_interval:" in extra else "check_interval: 2s\n"
    return textwrap.dedent(
        f"""\
        description: A training job that holds until the test releases it.
        schedule: null
        start_date: 2024-01-01
        tasks:
          train:
            kind: training
            entry_point: include/held/train.py
            framework: sklearn
            environment:
              PID_FILE: {folder / "pid"}
              RELEASE_FILE: {folder / "release"}
            max_runtime: 10m
        """
    ) + textwrap.indent(checks + extra, "    ")


@contextmanager
def held_stack(
    tmp: Path, pipelines: dict[str, str], executor: str = "local", examples: tuple[str, ...] = ()
) -> Iterator[RunningStack]:
    """A stack serving one held-job pipeline per DAG id (-> its task fields beyond the held job's, such as
    ``ONE_RETRY``) besides ``examples``; each DAG's pid and release files are in ``tmp/<dag id>/``. Its
    ``restart()`` starts ``make airflow`` again on the same state folder (after a Ctrl-C)."""
    include = tmp / "include"
    shutil.copytree(CHECKOUT_ROOT / "include", include)
    (include / "held").mkdir()
    (include / "held" / "train.py").write_text(HELD)
    sources = []
    for dag_id, extra in pipelines.items():
        (tmp / dag_id).mkdir()
        sources.append(tmp / f"{dag_id}.yaml")
        sources[-1].write_text(pipeline(tmp / dag_id, extra))
    mp = pytest.MonkeyPatch()
    mp.setenv("SAGEMAKER_INCLUDE_DIR", str(include))
    running = start_stack(tmp / "stack", executor=executor, pipelines=examples, extra=tuple(sources))
    running.restart = lambda: _listed(  # type: ignore[attr-defined]
        start_stack(tmp / "stack", executor=executor, pipelines=examples, extra=tuple(sources)),
        {*pipelines, *examples},
    )
    try:
        _listed(running, {*pipelines, *examples})
        yield running
    finally:
        stop_stack(running)
        mp.undo()


def _listed(running: RunningStack, dag_ids: set[str]) -> RunningStack:
    try:
        wait_until(lambda: dag_ids <= running.api.dag_ids(), 240, "the DAGs listed")
    except AssertionError:
        stop_stack(running)
        raise
    return running


def files(tmp: Path, dag_id: str) -> Path:
    """The folder of a DAG's pid and release files, emptied: a test starts with its job held."""
    folder = tmp / dag_id
    for name in ("pid", "release"):
        (folder / name).unlink(missing_ok=True)
    return folder


class Jobs:
    """The training jobs of one DAG's runs on the stack's endpoint that did not exist when made."""

    def __init__(self, running: RunningStack, dag_id: str) -> None:
        self.sagemaker = running.aws_client("sagemaker", REGION)
        self.prefix = dag_id.replace("_", "-") + "-train"
        self.before = {j["TrainingJobName"] for j in self._all()}

    def _all(self) -> list[dict]:
        pages = self.sagemaker.get_paginator("list_training_jobs").paginate(NameContains=self.prefix)
        return [job for page in pages for job in page["TrainingJobSummaries"]]

    def statuses(self) -> dict[str, str]:
        """Job name -> status, oldest try first."""
        jobs = sorted((j for j in self._all() if j["TrainingJobName"] not in self.before), key=_created)
        return {j["TrainingJobName"]: j["TrainingJobStatus"] for j in jobs}


def _created(job: dict):
    return job["CreationTime"]


def task_process(stack: RunningStack, ti_id: str) -> psutil.Process | None:
    """The task's own process: the task runner titles it ``airflow worker -- <task instance id>``."""
    for process in stack.descendants():
        if " ".join(command_line(process)).strip() == f"airflow worker -- {ti_id}":
            return process
    return None


def ti_path(dag_id: str, run_id: str) -> str:
    return f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/train"
