"""Script mode: a user's training script run like the SageMaker training toolkit, served via model_fn."""

from __future__ import annotations

import json
import time

import numpy as np

from .conftest import (
    BUCKET,
    ROLE,
    SKLEARN_IMAGE,
    SKLEARN_SERVING_IMAGE,
    client,
    create_endpoint,
    get,
    iris_split,
    pack_source,
    put,
    seen_first_in,
    to_csv,
    training_job,
    transform_job,
    wait_endpoint,
    wait_training,
    wait_transform,
)

TRAIN_SCRIPT = """
import argparse, json, os, sys

import joblib
import numpy as np
from sklearn.tree import DecisionTreeClassifier


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def predict_fn(input_data, model):
    return model.predict(input_data) + 100  # proves predict_fn is used, not model.predict


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-depth", type=int, default=1)
    parser.add_argument("--criterion", type=str, default="gini")
    parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
    parser.add_argument("--train", default=os.environ["SM_CHANNEL_TRAIN"])
    args = parser.parse_args()
    assert json.loads(os.environ["SM_CHANNELS"]) == ["train"], os.environ["SM_CHANNELS"]
    assert json.loads(os.environ["SM_HPS"]) == {"criterion": "entropy", "max-depth": 3}, os.environ["SM_HPS"]
    assert os.environ["SM_CURRENT_HOST"] == "algo-1" and os.environ["SM_NUM_GPUS"] == "0"
    config = os.environ["SM_INPUT_CONFIG_DIR"]
    assert "train" in json.load(open(os.path.join(config, "inputdataconfig.json")))
    data = np.loadtxt(os.path.join(args.train, "train.csv"), delimiter=",")
    model = DecisionTreeClassifier(max_depth=args.max_depth, criterion=args.criterion, random_state=0)
    model.fit(data[:, 1:], data[:, 0])
    print(f"train_accuracy={model.score(data[:, 1:], data[:, 0]):.4f}")
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
    with open("/opt/ml/output/data/notes.txt", "w") as fh:  # literal /opt/ml path: remapped locally
        fh.write("trained")
"""

FAILING_SCRIPT = """
import sys
print("about to fail")
raise ValueError("the training data is cursed")
"""


def _script_hps(submit: str, program: str, **user: object) -> dict[str, str]:
    """Hyperparameters as the SageMaker SDK sends them: every value json.dumps'ed."""
    hps = {"sagemaker_program": program, "sagemaker_submit_directory": submit, **user}
    return {k: json.dumps(v) for k, v in hps.items()}


def test_script_mode_trains_and_serves_through_model_fn(sm, s3):
    created = time.monotonic()
    train, test = iris_split()
    put(s3, "script/train/train.csv", to_csv(train))
    put(s3, "script/batch/test.csv", to_csv(test[:, 1:]))
    submit = put(s3, "script/code/sourcedir.tar.gz", pack_source({"train.py": TRAIN_SCRIPT}))
    hps = _script_hps(submit, "train.py", **{"max-depth": 3, "criterion": "entropy"})
    training_job(
        sm,
        "script-tree",
        SKLEARN_IMAGE,
        hps,
        {"train": f"s3://{BUCKET}/script/train/"},
        spec={"MetricDefinitions": [{"Name": "train:accuracy", "Regex": "train_accuracy=([0-9.]+)"}]},
    )
    describe = lambda: sm.describe_training_job(TrainingJobName="script-tree")  # noqa: E731
    seen_first_in("InProgress", describe, "TrainingJobStatus", created)
    done = wait_training(sm, "script-tree")
    assert done["TrainingJobStatus"] == "Completed", done.get("FailureReason")
    metrics = {m["MetricName"]: m["Value"] for m in done["FinalMetricDataList"]}
    assert metrics["train:accuracy"] > 0.9
    artifact = done["ModelArtifacts"]["S3ModelArtifacts"]
    assert get(s3, artifact.replace("model.tar.gz", "output.tar.gz"))

    sm.create_model(
        ModelName="script-tree-model",
        PrimaryContainer={
            "Image": SKLEARN_SERVING_IMAGE,
            "ModelDataUrl": artifact,
            "Environment": {"SAGEMAKER_PROGRAM": "train.py", "SAGEMAKER_SUBMIT_DIRECTORY": submit},
        },
        ExecutionRoleArn=ROLE,
    )
    transform_job(
        sm,
        "script-tree-transform",
        "script-tree-model",
        f"s3://{BUCKET}/script/batch/",
        f"s3://{BUCKET}/script/pred/",
        output={"Accept": "text/csv"},
    )
    result = wait_transform(sm, "script-tree-transform")
    assert result["TransformJobStatus"] == "Completed", result.get("FailureReason")
    predictions = np.array([float(v) for v in get(s3, f"s3://{BUCKET}/script/pred/test.csv.out").split()])
    assert len(predictions) == len(test)
    assert ((predictions - 100) == test[:, 0]).mean() >= 0.9


def test_script_that_raises_fails_with_its_message(sm, s3):
    put(s3, "script/train/train.csv", to_csv(iris_split()[0]))
    submit = put(s3, "script/bad/sourcedir.tar.gz", pack_source({"bad.py": FAILING_SCRIPT}))
    training_job(
        sm,
        "script-bad",
        SKLEARN_IMAGE,
        _script_hps(submit, "bad.py"),
        {"train": f"s3://{BUCKET}/script/train/"},
    )
    done = wait_training(sm, "script-bad")
    assert done["TrainingJobStatus"] == "Failed"
    assert "ValueError: the training data is cursed" in done["FailureReason"]
    assert done["FailureReason"].startswith("AlgorithmError")


def test_script_exceeding_max_runtime_is_killed(sm, s3):
    submit = put(
        s3, "script/slow/sourcedir.tar.gz", pack_source({"slow.py": "import time\ntime.sleep(60)\n"})
    )
    training_job(
        sm,
        "script-slow",
        SKLEARN_IMAGE,
        _script_hps(submit, "slow.py"),
        {"train": f"s3://{BUCKET}/script/train/"},
        max_runtime=2,
    )
    done = wait_training(sm, "script-slow", timeout=120)
    assert done["TrainingJobStatus"] == "Failed"
    assert done["FailureReason"].startswith("MaxRuntimeExceeded")


def test_script_model_endpoint_answers_through_predict_fn(sm, local_aws):
    # Reuses the model of the first test (same module, same server).
    create_endpoint(sm, "script-tree", "script-tree-model")
    done = wait_endpoint(sm, "script-tree")
    assert done["EndpointStatus"] == "InService", done.get("FailureReason")
    runtime = client(local_aws, "sagemaker-runtime")
    answer = runtime.invoke_endpoint(
        EndpointName="script-tree",
        ContentType="text/csv",
        Accept="application/json",
        Body=b"5.1,3.5,1.4,0.2\n",
    )
    assert json.loads(answer["Body"].read()) == [100.0]
