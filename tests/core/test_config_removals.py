"""``config:`` can remove any field the compiler generates by setting it to null, the fields a ported DAG
never sent among them; validate refuses a null that removes nothing, at its line. (A channel's InputMode
and a variant's InitialVariantWeight, which AWS defaults, are not generated at all unless written.)"""

from __future__ import annotations

from pathlib import Path

from sagemaker_pipelines.checker import check_text
from sagemaker_pipelines.format.environment import load_environment

PIPELINE = """\
start_date: 2024-01-01
tasks:
  train:
    kind: training
    algorithm: knn
    hyperparameters: {k: 3, feature_dim: 4, predictor_type: classifier, sample_size: 100}
    inputs:
      train: {s3_uri: "s3://my-bucket/iris/train.csv", input_mode: File}
      test: {s3_uri: "s3://my-bucket/iris/test.csv", input_mode: File}
    config: {InputDataConfig: [{ChannelName: train, InputMode: null}]}
  prep:
    kind: processing
    entry_point: include/iris_data.py
    config: {StoppingCondition: null}
  model:
    kind: model
    from: train
    config: {PrimaryContainer: {Mode: null}}
  endpoint_config:
    kind: endpoint_config
    model: model
    config: {ProductionVariants: [{VariantName: AllTraffic, InitialInstanceCount: null}]}
"""


def _check(text: str):
    return check_text(text, Path("p.yaml"), load_environment("local"))


def test_null_removes_each_generated_field_and_only_it():
    result = _check(PIPELINE)
    assert result.problems == [], [p.format() for p in result.problems]
    config = {t.task_id: t.kwargs["config"] for t in result.compiled.tasks}
    channels = {c["ChannelName"]: c for c in config["train"]["InputDataConfig"]}
    assert "InputMode" not in channels["train"] and channels["test"]["InputMode"] == "File"
    assert "StoppingCondition" not in config["prep"] and "ProcessingResources" in config["prep"]
    assert "Mode" not in config["model"]["PrimaryContainer"] and config["model"]["PrimaryContainer"]["Image"]
    (variant,) = config["endpoint_config"]["ProductionVariants"]
    assert "InitialInstanceCount" not in variant and variant["InstanceType"]


def test_without_the_nulls_the_fields_are_generated():
    plain = "\n".join(line for line in PIPELINE.splitlines() if "    config:" not in line) + "\n"
    config = {t.task_id: t.kwargs["config"] for t in _check(plain).compiled.tasks}
    assert all(c["InputMode"] == "File" for c in config["train"]["InputDataConfig"])  # as written
    assert config["prep"]["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    assert config["model"]["PrimaryContainer"]["Mode"] == "SingleModel"
    (variant,) = config["endpoint_config"]["ProductionVariants"]
    assert variant["InitialInstanceCount"] == 1 and "InitialVariantWeight" not in variant  # AWS's default


def test_a_null_that_removes_nothing_is_an_error_at_its_line_naming_the_fields_there():
    text = PIPELINE.replace("{StoppingCondition: null}", "{StopingCondition: null}")
    (problem,) = _check(text).problems
    assert problem.format().startswith(
        "p.yaml:14:14: tasks.prep.config.StopingCondition: nothing to remove: the request has no "
        "StopingCondition"
    )
    assert "StoppingCondition" in problem.hint and "ProcessingResources" in problem.hint


def test_removing_a_field_aws_requires_is_refused_by_the_request_check():
    text = PIPELINE.replace("{PrimaryContainer: {Mode: null}}", "{ExecutionRoleArn: null}")
    problems = [p.format() for p in _check(text).problems]
    assert any("tasks.model" in p and "ExecutionRoleArn" in p for p in problems), problems
