"""``validate`` warns about an asset a pipeline is scheduled on that no pipeline of the project publishes:
shown in every format, annotated as a warning on GitHub, and never a failure."""

from __future__ import annotations

import json

from sagemaker_pipelines.problems import WARNING, Problem
from sagemaker_pipelines.toolkit.reporter import Summary, github_annotation

from .conftest import run_module, write

PRODUCER = """\
start_date: 2024-01-01
tasks:
  train:
    kind: training
    algorithm: knn
    inputs: {train: "s3://my-bucket/iris/train.csv"}
    output: s3://my-bucket/models/
    publish: true
"""
CONSUMER = """\
start_date: 2024-01-01
schedule: {any: ["s3://my-bucket/models/", "s3://my-bucket/typo"]}
tasks:
  score:
    kind: transform
    model_name: iris
    input: s3://my-bucket/in/
    output: s3://my-bucket/out/
"""


def test_an_asset_nobody_publishes_is_a_warning_that_names_it(pipelines_dir):
    write(pipelines_dir, "producer.yaml", PRODUCER)
    consumer = write(pipelines_dir, "consumer.yaml", CONSUMER)
    result = run_module("validate", "--env", "local")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        f"{consumer}:2:1: warning: schedule: no pipeline publishes asset 's3://my-bucket/typo' and no watcher"
    )
    assert "s3://my-bucket/models" not in result.stdout  # the producer publishes it
    assert lines[-1] == "2 pipelines valid (environment local), 1 warning"


def test_the_producer_counts_when_only_the_consumer_is_given(pipelines_dir):
    write(pipelines_dir, "producer.yaml", PRODUCER)
    consumer = write(pipelines_dir, "consumer.yaml", CONSUMER.replace(', "s3://my-bucket/typo"', ""))
    result = run_module("validate", "--env", "local", consumer)
    assert result.returncode == 0 and result.stdout.strip() == "1 pipeline valid (environment local)"
    (pipelines_dir / "producer.yaml").unlink()
    result = run_module("validate", "--env", "local", "--format", "json", consumer)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["summary"]["valid"] and report["summary"]["warnings"] == 1
    (warning,) = report["problems"]
    assert warning["severity"] == "warning" and "'s3://my-bucket/models'" in warning["message"]


def test_warnings_pass_and_errors_fail():
    warning = Problem("p.yaml", 2, 1, "schedule", "no pipeline publishes asset 'x'", severity=WARNING)
    error = Problem("p.yaml", 3, 1, "tasks", "bad")
    assert Summary(1, ["local"], [warning]).valid
    assert not Summary(1, ["local"], [warning, error]).valid
    assert Summary(1, ["local"], [warning, error]).text() == "1 problem in 1 of 1 file, 1 warning"
    assert github_annotation(warning).startswith("::warning file=p.yaml,line=2,col=1,title=schedule::")
    assert warning.format() == "p.yaml:2:1: warning: schedule: no pipeline publishes asset 'x'"


WATCHER = """\
start_date: 2024-01-01
schedule:
  s3_events: s3://my-bucket/incoming/
  queue: https://sqs.us-east-2.amazonaws.com/123456789012/s3-events
tasks:
  score:
    kind: transform
    model_name: iris
    input: s3://my-bucket/incoming/
    output: s3://my-bucket/out/
"""


def test_a_watched_prefix_is_fed_for_every_pipeline_on_it(pipelines_dir):
    write(pipelines_dir, "watcher.yaml", WATCHER)
    write(
        pipelines_dir,
        "also.yaml",
        CONSUMER.replace(', "s3://my-bucket/typo"', "").replace("models", "incoming"),
    )
    result = run_module("validate", "--env", "local")
    assert result.returncode == 0 and result.stdout.strip() == "2 pipelines valid (environment local)", (
        result.stdout
    )
