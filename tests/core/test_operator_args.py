"""Operator arguments a task may set (how an operator waits, what a sensor does on failure), with the
environment's defaults under them, reach the provider's operators - which accept every one of them."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from sagemaker_pipelines.airflow.dag_builder import build_dag

from .conftest import CORE_DIR

EVERY_KIND = CORE_DIR / "good_inputs" / "every_kind.yaml"

OPTIONS = """\
start_date: 2024-01-01
tasks:
  train:
    kind: training
    algorithm: knn
    hyperparameters: {k: 3, feature_dim: 4, predictor_type: classifier, sample_size: 100}
    inputs: {train: "s3://my-bucket/iris/train.csv"}
    check_interval: 2m
    max_ingestion_time: 6h
    max_attempts: 120
    action_if_job_exists: fail
    check_if_job_exists: false
    print_log: true
  process:
    kind: processing
    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1
    command: [python3, /opt/program/prep.py]
    max_ingestion_time: 90
    action_if_job_exists: timestamp
    print_log: false
  score:
    kind: transform
    model_name: existing-model
    input: s3://my-bucket/in/
    output: s3://my-bucket/out/
    max_attempts: 5
    check_if_job_exists: true
  tune:
    kind: tuning
    algorithm: knn
    inputs: {train: "s3://my-bucket/iris/train.csv"}
    objective: {metric: "test:accuracy"}
    ranges: {k: {type: integer, min: 1, max: 9}}
    check_interval: 10
    max_ingestion_time: 1d
  deploy:
    kind: endpoint
    endpoint_config_name: existing-config
    max_ingestion_time: 1h
  watch:
    kind: training_sensor
    job: train
    soft_fail: true
    print_log: false
  wait_for_data:
    kind: s3_key_sensor
    key: s3://my-bucket/in/data.csv
    soft_fail: true
"""


def test_task_options_become_operator_arguments(compile_ok):
    compiled = compile_ok(OPTIONS)
    kwargs = {t.task_id: t.kwargs for t in compiled.tasks}
    # config is the request; pre_execute is the local environment's loopback guard.
    assert {k: kwargs["train"][k] for k in kwargs["train"] if k not in ("config", "pre_execute")} == {
        "aws_conn_id": "aws_local",
        "region_name": "us-east-2",
        "wait_for_completion": True,
        "check_interval": 120,
        "max_ingestion_time": 21600,
        "max_attempts": 120,
        "action_if_job_exists": "fail",
        "check_if_job_exists": False,
        "print_log": True,
    }
    assert (kwargs["process"]["max_ingestion_time"], kwargs["process"]["print_log"]) == (90, False)
    assert kwargs["process"]["action_if_job_exists"] == "timestamp"
    assert (kwargs["score"]["max_attempts"], kwargs["score"]["check_if_job_exists"]) == (5, True)
    assert (kwargs["tune"]["check_interval"], kwargs["tune"]["max_ingestion_time"]) == (10, 86400)
    assert kwargs["deploy"]["max_ingestion_time"] == 3600
    assert (kwargs["watch"]["soft_fail"], kwargs["watch"]["print_log"]) == (True, False)
    assert kwargs["wait_for_data"]["soft_fail"] is True


def test_unset_options_are_left_to_the_operator(compile_ok):
    kwargs = {t.task_id: t.kwargs for t in compile_ok(OPTIONS).tasks}
    assert "max_ingestion_time" not in kwargs["score"] and "action_if_job_exists" not in kwargs["score"]
    assert "soft_fail" not in kwargs["deploy"]
    assert kwargs["score"]["check_interval"] == 1  # the local environment's check_interval


def test_environment_defaults_apply_where_a_task_says_nothing(compile_ok, local_env):
    environment = dataclasses.replace(
        local_env,
        operator_defaults={
            "max_ingestion_time": 600,
            "max_attempts": 7,
            "action_if_job_exists": "fail",
            "check_if_job_exists": False,
            "soft_fail": True,
        },
    )
    kwargs = {t.task_id: t.kwargs for t in compile_ok(OPTIONS, environment=environment).tasks}
    assert kwargs["score"]["max_ingestion_time"] == 600  # the environment's
    assert kwargs["train"]["max_ingestion_time"] == 21600  # the task's own wins
    assert kwargs["score"]["action_if_job_exists"] == "fail"
    assert kwargs["process"]["action_if_job_exists"] == "timestamp"
    assert kwargs["deploy"]["max_ingestion_time"] == 3600
    assert kwargs["tune"]["max_ingestion_time"] == 86400
    assert kwargs["process"]["max_attempts"] == 7
    assert kwargs["score"]["check_if_job_exists"] is True and kwargs["train"]["check_if_job_exists"] is False
    assert "check_if_job_exists" not in kwargs["process"]  # the processing operator has no such argument
    assert kwargs["wait_for_data"]["soft_fail"] is True and kwargs["watch"]["soft_fail"] is True


def test_print_log_is_on_where_cloudwatch_logs_exist(compile_ok, aws_env, local_env):
    text = OPTIONS.replace("    print_log: true\n", "").replace("    print_log: false\n", "")
    on_aws = {t.task_id: t.kwargs for t in compile_ok(text, environment=aws_env).tasks}
    local = {t.task_id: t.kwargs for t in compile_ok(text).tasks}
    assert (aws_env.print_log, local_env.print_log) == (True, False)
    for task_id in ("train", "process", "watch"):
        assert on_aws[task_id]["print_log"] is True, task_id
        assert local[task_id]["print_log"] is False, task_id
    unset = dataclasses.replace(aws_env, print_log=None)
    assert compile_ok(text, environment=unset).task("train").kwargs["print_log"] is True
    unset_local = dataclasses.replace(local_env, print_log=None)
    assert compile_ok(text, environment=unset_local).task("train").kwargs["print_log"] is False


def test_bad_option_values_are_schema_problems(check):
    result = check(OPTIONS.replace("action_if_job_exists: fail", "action_if_job_exists: overwrite"))
    assert [(p.field, p.line) for p in result.problems] == [("tasks.train.action_if_job_exists", 11)]
    assert "expected one of: timestamp, fail" in result.problems[0].message
    result = check(OPTIONS.replace("soft_fail: true\n    print_log", "soft_fail: maybe\n    print_log"))
    assert [p.field for p in result.problems] == ["tasks.watch.soft_fail"]
    result = check(OPTIONS.replace("max_ingestion_time: 90", "max_ingestion_time: soon"))
    assert [p.field for p in result.problems] == ["tasks.process.max_ingestion_time"]


def _accepted(operator: type) -> set[str]:
    names: set[str] = set()
    for cls in operator.__mro__:
        init = cls.__dict__.get("__init__")
        if init is not None:
            names |= set(inspect.signature(init).parameters) - {"self", "args", "kwargs"}
    return names


@pytest.mark.parametrize("source", ["options", "every_kind"])
def test_the_operators_accept_every_argument_and_the_dag_builds(compile_ok, aws_env, source):
    text = OPTIONS if source == "options" else EVERY_KIND.read_text()
    compiled = compile_ok(text, name=source, environment=aws_env)
    dag = build_dag(compiled)  # instantiates every operator with its compiled arguments
    for task in compiled.tasks:
        operator = type(dag.get_task(task.task_id))
        unknown = set(task.kwargs) - _accepted(operator)
        assert not unknown, (task.task_id, operator.__name__, unknown)
        for name in ("check_interval", "max_ingestion_time", "print_log", "soft_fail"):
            if name in task.kwargs:
                assert getattr(dag.get_task(task.task_id), name) == task.kwargs[name], (task.task_id, name)
