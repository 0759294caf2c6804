"""Built-in algorithms (knn, xgboost, linear-learner) trained and served by the local endpoint."""

from __future__ import annotations

import io
import json
import tarfile
import time

import joblib
import numpy as np
import pytest

from sagemaker_pipelines.compile.images import LEGACY

from .conftest import (
    BUCKET,
    KNN_IMAGE,
    LINEAR_IMAGE,
    ROLE,
    XGB_IMAGE,
    get,
    iris_split,
    put,
    seen_first_in,
    to_csv,
    training_job,
    transform_job,
    wait_training,
    wait_transform,
)

# The XGBoost algorithm's image from before its framework container, which older DAGs still name: the
# endpoint runs it as the current xgboost algorithm.
LEGACY_XGB = next(i for i in LEGACY if i.repository == "xgboost")
LEGACY_XGB_IMAGE = (
    f"{LEGACY_XGB.accounts['us-east-1']}.dkr.ecr.us-east-1.amazonaws.com/xgboost:{LEGACY_XGB.tag}"
)

KNN_HPS = {"k": "5", "feature_dim": "4", "predictor_type": "classifier", "sample_size": "200"}


def test_knn_trains_and_transforms_iris(sm, s3, tmp_path):
    train, test = iris_split()
    put(s3, "iris/train/train.csv", to_csv(train))
    put(s3, "iris/test/test.csv", to_csv(test[:, 1:]))
    created = time.monotonic()
    training_job(sm, "knn-iris", KNN_IMAGE, KNN_HPS, {"train": f"s3://{BUCKET}/iris/train/"})
    describe = lambda: sm.describe_training_job(TrainingJobName="knn-iris")  # noqa: E731
    seen_first_in("InProgress", describe, "TrainingJobStatus", created)
    done = wait_training(sm, "knn-iris")
    assert done["TrainingJobStatus"] == "Completed", done.get("FailureReason")
    artifact = done["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == f"s3://{BUCKET}/output/knn-iris/output/model.tar.gz"
    assert done["TrainingStartTime"] <= done["TrainingEndTime"]
    assert any(m["MetricName"] == "train:accuracy" for m in done["FinalMetricDataList"])

    with tarfile.open(fileobj=io.BytesIO(get(s3, artifact))) as tar:
        tar.extractall(tmp_path, filter="data")
    meta = json.loads((tmp_path / "local-aws-model.json").read_text())
    assert meta["algorithm"] == "knn"
    estimator = joblib.load(tmp_path / meta["artifact"])
    assert estimator.n_neighbors == 5

    sm.create_model(
        ModelName="knn-iris-model",
        PrimaryContainer={"Image": KNN_IMAGE, "ModelDataUrl": artifact},
        ExecutionRoleArn=ROLE,
    )
    created = time.monotonic()
    transform_job(
        sm, "knn-iris-transform", "knn-iris-model", f"s3://{BUCKET}/iris/test/", f"s3://{BUCKET}/iris/pred/"
    )
    describe = lambda: sm.describe_transform_job(TransformJobName="knn-iris-transform")  # noqa: E731
    seen_first_in("InProgress", describe, "TransformJobStatus", created)
    result = wait_transform(sm, "knn-iris-transform")
    assert result["TransformJobStatus"] == "Completed", result.get("FailureReason")
    lines = get(s3, f"s3://{BUCKET}/iris/pred/test.csv.out").decode().splitlines()
    assert len(lines) == len(test)
    predicted = np.array([json.loads(line)["predicted_label"] for line in lines])
    assert (predicted == test[:, 0]).mean() >= 0.9


@pytest.mark.parametrize("image", [XGB_IMAGE, LEGACY_XGB_IMAGE], ids=["current", "legacy-xgboost-1"])
def test_xgboost_builtin_trains_and_transforms_csv(sm, s3, image):
    job = "xgb-binary" if image == XGB_IMAGE else "xgb-legacy"
    train, test = iris_split(seed=1)
    binary_train = train.copy()
    binary_train[:, 0] = (binary_train[:, 0] == 2).astype(float)
    binary_test = test.copy()
    binary_test[:, 0] = (binary_test[:, 0] == 2).astype(float)
    put(s3, "xgb/train/data.csv", to_csv(binary_train))
    put(s3, "xgb/validation/data.csv", to_csv(binary_test))
    put(s3, "xgb/batch/rows.csv", to_csv(binary_test[:, 1:]))
    hps = {"objective": "binary:logistic", "num_round": "20", "max_depth": "3", "eta": "0.3"}
    training_job(
        sm,
        job,
        image,
        hps,
        {"train": f"s3://{BUCKET}/xgb/train", "validation": f"s3://{BUCKET}/xgb/validation"},
    )
    done = wait_training(sm, job)
    assert done["TrainingJobStatus"] == "Completed", done.get("FailureReason")
    metrics = {m["MetricName"]: m["Value"] for m in done["FinalMetricDataList"]}
    assert metrics["validation:error"] < 0.2 and "validation:auc" in metrics

    sm.create_model(
        ModelName=f"{job}-model",
        PrimaryContainer={"Image": image, "ModelDataUrl": done["ModelArtifacts"]["S3ModelArtifacts"]},
        ExecutionRoleArn=ROLE,
    )
    transform_job(
        sm,
        f"{job}-transform",
        f"{job}-model",
        f"s3://{BUCKET}/xgb/batch/rows.csv",
        f"s3://{BUCKET}/xgb/{job}",
        output={"Accept": "text/csv", "AssembleWith": "Line"},
    )
    result = wait_transform(sm, f"{job}-transform")
    assert result["TransformJobStatus"] == "Completed", result.get("FailureReason")
    scores = [float(v) for v in get(s3, f"s3://{BUCKET}/xgb/{job}/rows.csv.out").decode().split()]
    assert len(scores) == len(binary_test)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert ((np.array(scores) > 0.5) == binary_test[:, 0]).mean() >= 0.85


def test_linear_learner_multiclass(sm, s3):
    train, _ = iris_split(seed=2)
    put(s3, "ll/train/train.csv", to_csv(train))
    hps = {"predictor_type": "multiclass_classifier", "num_classes": "3", "feature_dim": "4"}
    training_job(sm, "ll-iris", LINEAR_IMAGE, hps, {"train": f"s3://{BUCKET}/ll/train/"})
    done = wait_training(sm, "ll-iris")
    assert done["TrainingJobStatus"] == "Completed", done.get("FailureReason")
    metrics = {m["MetricName"]: m["Value"] for m in done["FinalMetricDataList"]}
    assert metrics["train:multiclass_accuracy"] > 0.9 and "train:objective_loss" in metrics


def test_knn_missing_hyperparameter_fails_like_aws(sm, s3):
    put(s3, "iris/train/train.csv", to_csv(iris_split()[0]))
    hps = {"feature_dim": "4", "predictor_type": "classifier", "sample_size": "200"}
    training_job(sm, "knn-no-k", KNN_IMAGE, hps, {"train": f"s3://{BUCKET}/iris/train/"})
    done = wait_training(sm, "knn-no-k")
    assert done["TrainingJobStatus"] == "Failed"
    assert "k" in done["FailureReason"] and "missing required hyperparameter" in done["FailureReason"]


def test_missing_train_channel_fails_plainly(sm, s3):
    put(s3, "iris/validation/v.csv", to_csv(iris_split()[1]))
    training_job(sm, "knn-no-train", KNN_IMAGE, KNN_HPS, {"validation": f"s3://{BUCKET}/iris/validation/"})
    done = wait_training(sm, "knn-no-train")
    assert done["TrainingJobStatus"] == "Failed"
    assert "channel 'train' is missing" in done["FailureReason"]


def test_unsupported_image_fails_plainly(sm, s3):
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-own-algorithm:latest"
    training_job(sm, "custom-image", image, {}, {"train": f"s3://{BUCKET}/iris/train/"})
    done = wait_training(sm, "custom-image")
    assert done["TrainingJobStatus"] == "Failed"
    assert f"unsupported algorithm image '{image}'" in done["FailureReason"]


def test_empty_channel_prefix_fails_plainly(sm, s3):
    training_job(sm, "knn-no-data", KNN_IMAGE, KNN_HPS, {"train": f"s3://{BUCKET}/nothing/here/"})
    done = wait_training(sm, "knn-no-data")
    assert done["TrainingJobStatus"] == "Failed"
    assert "No S3 objects found" in done["FailureReason"]


def test_transform_with_unknown_model_fails(sm, s3):
    put(s3, "iris/test2/t.csv", to_csv(iris_split()[1][:, 1:]))
    transform_job(
        sm, "no-model-transform", "no-such-model", f"s3://{BUCKET}/iris/test2/", f"s3://{BUCKET}/x/"
    )
    result = wait_transform(sm, "no-model-transform")
    assert result["TransformJobStatus"] == "Failed"
    assert "no-such-model" in result["FailureReason"]


def test_transform_data_processing_filters_and_joins(sm, s3):
    # Reuses the knn model of the first test: rows keep their label, the filter drops it for the model.
    _, test = iris_split()
    put(s3, "iris/labelled/test.csv", to_csv(test))
    transform_job(
        sm,
        "knn-iris-join",
        "knn-iris-model",
        f"s3://{BUCKET}/iris/labelled/",
        f"s3://{BUCKET}/iris/joined/",
        output={"Accept": "text/csv"},
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    )
    result = wait_transform(sm, "knn-iris-join")
    assert result["TransformJobStatus"] == "Completed", result.get("FailureReason")
    pairs = [
        line.split(",") for line in get(s3, f"s3://{BUCKET}/iris/joined/test.csv.out").decode().splitlines()
    ]
    assert len(pairs) == len(test)
    assert np.mean([float(label) == float(pred) for label, pred in pairs]) >= 0.9
