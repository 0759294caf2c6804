"""Each shipped example, end to end on the local backend, judged by the outputs it really wrote."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import tarfile
from pathlib import Path

import joblib
import numpy as np
import pytest

from sagemaker_pipelines.local.aws import algorithms
from sagemaker_pipelines.local.summary import parse_prediction

BUCKET = "sagemaker-local"  # environments/local.yaml
IRIS_INPUT = "iris/processed-input-data"


def _text(s3, key: str) -> str:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()


def _model_dir(s3, key: str, into: Path) -> Path:
    archive = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _accuracy(predictions: list[float], labels: list[float]) -> float:
    return float(np.mean([round(p) == round(y) for p, y in zip(predictions, labels, strict=True)]))


RERUN_DATE = "2024-03-01T00:00:00+00:00"


@pytest.fixture(scope="module")
def iris_run(run_pipeline):
    """The example's run; at a fixed logical date, so that the rerun test runs that date once more."""
    return run_pipeline("iris_training", logical_date=RERUN_DATE)


def test_iris_training_succeeds_task_by_task(iris_run):
    assert iris_run.returncode == 0, iris_run.output[-4000:]
    assert iris_run.report["state"] == "success"
    assert [t["state"] for t in iris_run.report["tasks"]] == ["success"] * 4
    assert "== iris_training: success" in iris_run.output  # the printed summary


def test_iris_model_archive_exists_and_loads(iris_run, s3, tmp_path):
    archives = [o["uri"] for o in iris_run.report["s3_objects"] if o["uri"].endswith("/output/model.tar.gz")]
    assert len(archives) == 1
    key = archives[0].removeprefix(f"s3://{BUCKET}/")
    model = algorithms.load(_model_dir(s3, key, tmp_path))
    features = np.loadtxt(io.StringIO(_text(s3, f"{IRIS_INPUT}/test.csv")), delimiter=",")
    assert len(model.predict(features)) == len(features)


def test_iris_transform_writes_one_prediction_per_row_with_knn_accuracy(iris_run, s3):
    rows = _text(s3, f"{IRIS_INPUT}/test.csv").splitlines()
    labels = [float(x) for x in _text(s3, f"{IRIS_INPUT}/test_labels.csv").splitlines()]
    predictions = [
        parse_prediction(x) for x in _text(s3, "iris/results/test.csv.out").splitlines() if x.strip()
    ]
    assert len(rows) == len(labels) == len(predictions) == 45
    assert _accuracy(predictions, labels) >= 0.9
    assert iris_run.report["accuracy"]["test_model"]["accuracy"] >= 0.9


def test_batch_inference_loads_predictions_into_the_warehouse(run_pipeline, state_dir, s3):
    result = run_pipeline("batch_inference")
    assert result.returncode == 0, result.output[-4000:]
    records = Path("include/data/test.csv").read_text().splitlines()
    predictions = _text(s3, "demo-sagemaker-xgboost-adult-income-prediction/output/test.csv.out").splitlines()
    assert len(predictions) == len(records)
    with sqlite3.connect(state_dir / "warehouse.db") as db:
        rows = db.execute("SELECT prediction FROM results").fetchall()
    assert len(rows) >= len(records) and len(rows) % len(records) == 0  # one load per run
    assert all(0.0 <= float(value) <= 1.0 for (value,) in rows)  # XGBoost binary:logistic scores
    assert result.report["warehouse"]["tables"]["results"] == len(rows)


def test_script_mode_trains_your_script_and_serves_it(run_pipeline, s3, tmp_path):
    result = run_pipeline("iris_script_mode")
    assert result.returncode == 0, result.output[-4000:]
    archive = next(o["uri"] for o in result.report["s3_objects"] if o["uri"].endswith("model.tar.gz"))
    model = joblib.load(_model_dir(s3, archive.removeprefix(f"s3://{BUCKET}/"), tmp_path) / "model.joblib")
    assert type(model).__name__ == "KNeighborsClassifier" and model.n_neighbors == 5  # the params default
    source = next(o["uri"] for o in result.report["s3_objects"] if o["uri"].endswith("sourcedir.tar.gz"))
    assert source.startswith(f"s3://{BUCKET}/iris_script_mode/code/")
    predictions = _text(s3, "iris-script-mode/output/predictions/test.csv.out").split()
    labels = _text(s3, "iris-script-mode/input/test_labels.csv").split()
    assert predictions and len(predictions) == len(labels)
    assert all(p in {"0", "1", "2"} for p in predictions)  # output_fn of the script: integer labels
    assert _accuracy([float(p) for p in predictions], [float(y) for y in labels]) >= 0.9


def test_deploy_reaches_in_service_and_answers(run_pipeline, local_aws, sagemaker):
    import boto3

    result = run_pipeline("iris_deploy")
    assert result.returncode == 0, result.output[-4000:]
    assert result.task("wait_for_endpoint")["state"] == "success"
    assert sagemaker.describe_endpoint(EndpointName="Iris-KNN")["EndpointStatus"] == "InService"
    runtime = boto3.client("sagemaker-runtime", **local_aws.client_kwargs("us-east-2"))
    answer = runtime.invoke_endpoint(
        EndpointName="Iris-KNN", ContentType="text/csv", Body=b"5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"
    )
    assert answer["ContentType"] == "application/json"  # KNN's documented answer without Accept
    labels = [p["predicted_label"] for p in json.loads(answer["Body"].read())["predictions"]]
    assert labels == [2.0, 0.0]  # setosa, virginica in the guide's encoding


def test_rerun_of_the_same_run_does_not_collide_on_job_names(iris_run, run_pipeline, sagemaker):
    second = run_pipeline("iris_training", logical_date=RERUN_DATE)
    assert iris_run.returncode == 0 and second.returncode == 0, second.output[-4000:]
    created = [re.search(r"Creating SageMaker training job (\S+)\.", r.output)[1] for r in (iris_run, second)]
    assert created[0] != created[1], created  # the same logical date, yet each run its own job
    names = {
        j["TrainingJobName"] for j in sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]
    }
    assert set(created) <= names
    assert second.task("train_model")["tries"] >= 1


@pytest.fixture(scope="module")
def lifecycle_run(run_pipeline):
    return run_pipeline("iris_lifecycle")


def test_lifecycle_registers_deploys_and_cleans_up(lifecycle_run, sagemaker, s3, local_aws):
    import boto3

    result = lifecycle_run
    assert result.returncode == 0, result.output[-6000:]
    assert result.report["state"] == "success"
    assert {t["state"] for t in result.report["tasks"]} == {"success"}
    # The summary names the registered version, and the registry holds it, approved.
    (registered,) = result.report["registered"]
    arn = registered["model_package_arn"]
    assert f"Registered model package (register): {arn}" in result.output
    assert arn.startswith("arn:aws:sagemaker:us-east-2:123456789012:model-package/iris-knn/")
    version = sagemaker.describe_model_package(ModelPackageName=arn)
    assert version["ModelApprovalStatus"] == "Approved"
    assert version["ModelPackageDescription"].startswith("KNN, k=3, held-out accuracy 0.9")
    (gate,) = result.report["gates"]
    assert gate["state"] == "success" and gate["conditions"][0].endswith(" >= 0.9")
    assert float(gate["conditions"][0].split()[0]) >= 0.9  # the evaluation report's accuracy
    # The endpoint serves the registered version.
    assert sagemaker.describe_endpoint(EndpointName="iris-lifecycle")["EndpointStatus"] == "InService"
    runtime = boto3.client("sagemaker-runtime", **local_aws.client_kwargs("us-east-2"))
    answer = runtime.invoke_endpoint(
        EndpointName="iris-lifecycle", ContentType="text/csv", Body=b"5.1,3.5,1.4,0.2\n"
    )
    assert json.loads(answer["Body"].read()) == {"predictions": [{"predicted_label": 2.0}]}  # setosa
    # The evaluation report the gate read, and the teardown that deleted the scoring model.
    report = json.loads(_text(s3, "iris-lifecycle/output/evaluation/evaluation.json"))
    assert report["records"] == 45 and report["accuracy"] == report["correct"] / 45
    models = [m["ModelName"] for m in sagemaker.list_models()["Models"]]
    assert not any(m.startswith("iris-lifecycle-candidate-model-") for m in models)
    assert any(m.startswith("iris-lifecycle-model-") for m in models)  # the deployed one stays


def test_lifecycle_stops_at_the_gate_when_the_model_is_not_good_enough(
    lifecycle_run, run_pipeline, sagemaker
):
    before = sagemaker.list_model_packages(ModelPackageGroupName="iris-knn")["ModelPackageSummaryList"]
    result = run_pipeline("iris_lifecycle", conf={"min_accuracy": 1.01})
    assert result.returncode == 1 and result.report["state"] == "failed"
    states = {t["task_id"]: t["state"] for t in result.report["tasks"]}
    assert states["evaluate"] == "success" and states["gate"] == "failed"
    for task_id in ("register", "model", "endpoint_config", "deploy", "wait_for_endpoint"):
        assert states[task_id] == "upstream_failed", task_id  # never run
    assert states["clean_up"] == "success"  # the teardown ran all the same
    (gate,) = result.report["gates"]
    assert gate["conditions"][0].endswith(" >= 1.01")
    assert gate["not_run"] == ["deploy", "endpoint_config", "model", "register", "wait_for_endpoint"]
    assert "Gate gate FAILED: its conditions were not met (0.9" in result.output
    assert "not run: deploy, endpoint_config, model, register, wait_for_endpoint" in result.output
    assert result.report["registered"] == [] and "Registered model package" not in result.output
    after = sagemaker.list_model_packages(ModelPackageGroupName="iris-knn")["ModelPackageSummaryList"]
    assert len(after) == len(before)  # nothing registered


def test_run_params_reach_the_run(run_pipeline, sagemaker):
    result = run_pipeline("iris_training", conf={"k": 5})
    assert result.returncode == 0, result.output[-4000:]
    (archive,) = [o["uri"] for o in result.report["s3_objects"] if o["uri"].endswith("/output/model.tar.gz")]
    job = sagemaker.describe_training_job(TrainingJobName=archive.split("/")[-3])  # <output>/<job>/output/
    assert job["HyperParameters"]["k"] == "5"  # the params default is 3
