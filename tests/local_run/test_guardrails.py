"""Guardrails at run time, for real (`make run` against the local endpoint): values that validate cannot
know - a trigger's conf, another task's output - are refused before the request is sent, with the
guardrail's message, and the endpoint never sees a job (environments/local.yaml's guardrails)."""

from __future__ import annotations

import shutil

import pytest

from sagemaker_pipelines.paths import CHECKOUT_ROOT

STEPS = """
def choose():
    return {"instance_type": "ml.p5.48xlarge"}
"""

TRAINING = """\
    algorithm: knn
    hyperparameters: {predictor_type: classifier, feature_dim: 4, k: 3, sample_size: 150}
    inputs: {train: "s3://sagemaker-local/guarded/train.csv"}
    volume_size: 1
    max_runtime: 10m
"""

PIPELINE = f"""\
start_date: 2024-01-01
schedule: null
default_args: {{retries: 0}}
params:
  types: {{type: array, default: [ml.m5.large]}}
  ks: {{type: array, default: [1]}}
tasks:
  by_type:
    kind: training
    for_each: ${{params.types}}
    name: guarded-type
    instance_type: ${{item}}
{TRAINING}
  wide:
    kind: training
    for_each: ${{params.ks}}
    name: guarded-wide
{TRAINING.replace("k: 3", 'k: "${item}"')}
  choose:
    kind: python
    callable: include/guard_steps.py:choose
  from_output:
    kind: training
    name: guarded-output
    instance_type: ${{tasks.choose.result.instance_type}}
{TRAINING}
"""


@pytest.fixture(scope="module")
def guarded_run(run_pipeline, tmp_path_factory):
    root = tmp_path_factory.mktemp("guardrails")
    include = root / "include"
    shutil.copytree(CHECKOUT_ROOT / "include", include)
    (include / "guard_steps.py").write_text(STEPS)
    pipelines = root / "pipelines"
    pipelines.mkdir()
    (pipelines / "guarded.yaml").write_text(PIPELINE)
    env = {"SAGEMAKER_PIPELINES_DIR": str(pipelines), "SAGEMAKER_INCLUDE_DIR": str(include)}
    # local.yaml: ml.p5.* is no allowed instance type; a task fans out to at most 32 elements
    conf = {"types": ["ml.m5.large", "ml.p5.48xlarge"], "ks": list(range(1, 41))}
    return run_pipeline("guarded", extra_env=env, conf=conf)


def test_the_refused_tasks_fail_with_the_guardrails_message(guarded_run):
    assert guarded_run.returncode == 1, guarded_run.output[-4000:]
    assert guarded_run.task("by_type__items")["state"] == "failed"
    assert guarded_run.task("wide__items")["state"] == "failed"
    assert guarded_run.task("choose")["state"] == "success"
    assert guarded_run.task("from_output")["state"] == "failed"
    assert all(
        t["state"] != "success" for t in guarded_run.report["tasks"] if t["task_id"] in ("by_type", "wide")
    )
    output = guarded_run.output
    assert (
        "for_each element 1: guardrail instance_types: instance type 'ml.p5.48xlarge' is not allowed for "
        "training tasks in environment 'local'" in output
    )
    assert "guardrail max_fan_out.per_task: for_each: 40 elements; a task in environment 'local'" in output
    assert "task from_output: guardrail instance_types: instance type 'ml.p5.48xlarge'" in output
    assert "Refused before any AWS call" in output


def test_the_endpoint_never_saw_a_job(guarded_run, sagemaker):
    names = [
        j["TrainingJobName"]
        for page in sagemaker.get_paginator("list_training_jobs").paginate(NameContains="guarded-")
        for j in page["TrainingJobSummaries"]
    ]
    assert names == []  # not even element 0 of by_type, whose instance type is allowed
