"""``render`` and ``graph``: what a pipeline becomes, in text, JSON and pictures."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from sagemaker_pipelines.compile.images import algorithm_image_uri
from sagemaker_pipelines.format.environment import load_environment
from sagemaker_pipelines.toolkit import graph

from .conftest import BROKEN, PIPELINES, run_module, write

JOB_NAME = "train-iris-{{ dag_run.run_after | ts_nodash }}-{{ ti.try_number }}"


def test_render_shows_requests_in_full():
    result = run_module("render", "iris_training")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    knn = algorithm_image_uri("knn", load_environment("local").region)
    assert f'"TrainingImage": "{knn}"' in out
    assert f'"TrainingJobName": "{JOB_NAME}"' in out  # Jinja as written
    assert '"k": "{{ params.k }}"' in out
    assert "train_model  (training -> SageMakerTrainingOperator)" in out
    assert "config: the CreateTrainingJob request" in out
    assert "depends on: data_prep" in out
    assert "schedule: @daily" in out
    # the run-time guardrail check in a few words (the guardrails themselves are the environment file's)
    assert (
        "pre_execute: the guardrails of environment 'local' on the rendered training request, "
        "after LoopbackOnly(environment=local, aws_conn_id=aws_local)" in out
    )


def test_render_json_and_environment(run_cli):
    status, out, _ = run_cli("render", PIPELINES / "iris_training.yaml", "--format", "json", "--env", "aws")
    assert status == 0
    data = json.loads(out)
    assert data["environment"] == "aws"
    train = next(t for t in data["tasks"] if t["task_id"] == "train_model")
    assert train["operator_class"] == "SageMakerTrainingOperator"
    assert train["api_operation"] == "CreateTrainingJob"
    assert train["kwargs"]["config"]["TrainingJobName"] == JOB_NAME
    assert train["kwargs"]["aws_conn_id"] == load_environment("aws").aws_conn_id


def test_render_invalid_and_unknown(pipelines_dir, run_cli):
    bad = write(pipelines_dir, "bad.yaml", BROKEN)
    status, out, err = run_cli("render", "bad")
    assert status == 1
    assert out.startswith(f"{bad}:6:5: tasks.train.instance_typ:")
    assert "nothing generated" in err
    status, _, err = run_cli("render", "no_such_pipeline")
    assert status == 2 and "no pipeline 'no_such_pipeline'" in err
    assert run_cli("render", "iris_training", "--env", "mars")[0] == 2


def test_graph_writes_svg_png_and_mermaid(tmp_path, run_cli):
    status, out, _ = run_cli("graph", "iris_training", "--out", tmp_path)
    assert status == 0
    mmd = (tmp_path / "iris_training.mmd").read_text()
    assert mmd.startswith("flowchart LR\n")
    assert 't_train_model["train_model<br/>training<br/>ml.m5.large"]' in mmd
    assert 't_create_model["create_model<br/>model"]' in mmd  # no instance type: none shown
    assert "t_data_prep --> t_train_model" in mmd
    assert mmd in out and "iris_training.mmd" in out
    if shutil.which("dot") is None:
        pytest.skip("Graphviz 'dot' is not installed")
    assert (tmp_path / "iris_training.png").read_bytes().startswith(b"\x89PNG")
    svg = (tmp_path / "iris_training.svg").read_text()
    assert "<svg" in svg and "train_model" in svg and "ml.m5.large" in svg


def test_graph_without_dot_writes_mermaid_only(tmp_path, monkeypatch, run_cli):
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    status, out, err = run_cli("graph", "iris_deploy", "--out", tmp_path)
    assert status == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["iris_deploy.mmd"]
    assert "Graphviz 'dot' is not installed" in err
    assert "t_deploy --> t_wait_for_endpoint" in out


def test_readme_graph_is_committed():
    graphs = PIPELINES.parent / "docs" / "graphs"
    assert (graphs / "iris_training.mmd").is_file()
    assert {p.suffix for p in graphs.glob("iris_training.*")} >= {".mmd", ".svg", ".png"}


@pytest.mark.parametrize(
    ("pipeline", "groups"),
    [("iris_training", "job hosting data"), ("iris_deploy", "job hosting sensor data")],
)
def test_graph_has_a_legend_of_the_colours_it_uses(pipeline, groups, tmp_path, run_cli):
    assert run_cli("graph", pipeline, "--out", tmp_path)[0] == 0
    mmd = (tmp_path / f"{pipeline}.mmd").read_text()
    assert 'subgraph legend["Legend"]' in mmd and "legend_read[" in mmd
    shown = [name for name in ("job", "hosting", "sensor", "data") if f"legend_{name}[" in mmd]
    assert shown == groups.split()
    for name in shown:  # each legend entry has its group's colours
        assert re.search(rf"^    class \S*legend_{name}\S* {name}$", mmd, re.M), name
    if shutil.which("dot") is not None:
        svg = (tmp_path / f"{pipeline}.svg").read_text()
        assert "SageMaker job: training, tuning, processing, transform" in svg and "each box: task id" in svg


def test_render_shows_the_assets_a_pipeline_runs_on_and_publishes(run_cli):
    status, out, _ = run_cli("render", "iris_batch_on_model")
    assert status == 0
    assert "Assets\n    scheduled on: s3://sagemaker-local/iris/results\n" in out
    assert "    publishes: s3://sagemaker-local/iris/scored-on-new-model  (task score)\n" in out
    status, out, _ = run_cli("render", "iris_training")
    assert "    publishes: s3://sagemaker-local/iris/results  (task train_model)\n" in out
    assert "scheduled on:" not in out
    status, out, _ = run_cli("render", "batch_inference")
    assert "\nAssets\n" not in out  # nothing published, not scheduled on assets


def test_graph_draws_assets_into_first_tasks_and_out_of_publishers(tmp_path, run_cli):
    assert run_cli("graph", "iris_batch_on_model", "--out", tmp_path)[0] == 0
    mmd = (tmp_path / "iris_batch_on_model.mmd").read_text()
    assert '    asset_0[("s3://sagemaker-local/iris/results")]\n    asset_1[' in mmd
    assert "    asset_0 -.-> t_newest_model\n    t_score -.-> asset_1\n" in mmd
    assert "legend_asset[" in mmd and re.search(r"^    class asset_0,asset_1,legend_asset asset$", mmd, re.M)
    if shutil.which("dot") is not None:
        svg = (tmp_path / "iris_batch_on_model.svg").read_text()
        assert "s3://sagemaker&#45;local/iris/results" in svg and "asset: what starts the pipeline" in svg


ON_UPLOAD_QUEUE = "https://sqs.us-east-2.amazonaws.com/123456789012/sagemaker-local-s3-events"
ON_UPLOAD_PREFIX = "s3://sagemaker-local/demo-sagemaker-xgboost-adult-income-prediction/incoming"


def test_render_shows_the_watcher_and_its_trigger(run_cli):
    status, out, _ = run_cli("render", "batch_inference_on_upload")
    assert status == 0
    assert (
        f"    scheduled on: {ON_UPLOAD_PREFIX}\n    watcher: SQS queue {ON_UPLOAD_QUEUE} -> objects created "
        f"under it (S3 event notifications) update {ON_UPLOAD_PREFIX}\n"
    ) in out
    assert f'"s3_events": "{ON_UPLOAD_PREFIX}"' in out and '"aws_conn_id": "aws_local"' in out


def test_graph_draws_the_watchers_queue_into_the_asset(tmp_path, run_cli):
    assert run_cli("graph", "batch_inference_on_upload", "--out", tmp_path)[0] == 0
    mmd = (tmp_path / "batch_inference_on_upload.mmd").read_text()
    assert f'    asset_0[("{ON_UPLOAD_PREFIX}")]\n' in mmd
    assert f'    watcher>"{ON_UPLOAD_QUEUE}"]\n    watcher -. "S3 events" .-> asset_0\n' in mmd
    assert re.search(r"^    class watcher,legend_watcher watcher$", mmd, re.M)
    if shutil.which("dot") is not None:
        svg = (tmp_path / "batch_inference_on_upload.svg").read_text()
        assert "sagemaker&#45;local&#45;s3&#45;events" in svg and "watcher: the SQS queue" in svg


def test_render_shows_what_each_sagemaker_task_reads_and_writes(run_cli):
    status, out, _ = run_cli("render", "iris_training")
    assert status == 0
    section = out.split("Lineage (S3 locations each SageMaker task reads and writes)\n", 1)[1].split("\n\n")[
        0
    ]
    assert section.splitlines() == [
        "    train_model reads s3://sagemaker-local/iris/processed-input-data/train.csv",
        "    train_model writes s3://sagemaker-local/iris/results/",
        "    create_model reads s3://sagemaker-local/iris/results/{{ ti.xcom_pull(task_ids='train_model')"
        "['Training']['TrainingJobName'] }}/output/model.tar.gz",
        "    test_model reads s3://sagemaker-local/iris/processed-input-data/test.csv",
        "    test_model writes s3://sagemaker-local/iris/results",
    ]
    status, out, _ = run_cli("render", "batch_inference_summary")
    assert "Lineage (" not in out  # a Python task: nothing the SageMaker request says


def test_graph_draws_what_each_sagemaker_task_reads_and_writes(tmp_path, run_cli):
    assert run_cli("graph", "iris_training", "--out", tmp_path)[0] == 0
    mmd = (tmp_path / "iris_training.mmd").read_text()
    # Each location once, a run-time part as "…"; an asset the task writes is the asset's node.
    assert '    s3_0[/"s3://sagemaker-local/iris/processed-input-data/train.csv"/]\n' in mmd
    assert '    s3_1[/"s3://sagemaker-local/iris/results/…/output/model.tar.gz"/]\n' in mmd
    edges = ["s3_0 -.-> t_train_model", "s3_1 -.-> t_create_model", "t_test_model -.-> asset_0"]
    assert all(f"    {edge}\n" in mmd for edge in edges)
    assert mmd.count("    t_train_model -.-> asset_0\n") == 1  # published: drawn once, as the asset
    assert re.search(r"^    class s3_0,s3_1,s3_2,legend_lineage lineage$", mmd, re.M)
    assert run_cli("graph", "batch_inference_summary", "--out", tmp_path)[0] == 0
    assert "legend_lineage" not in (tmp_path / "batch_inference_summary.mmd").read_text()  # Python only
