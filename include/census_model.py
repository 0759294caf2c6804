"""The "existing model" of the batch-inference example, made reproducibly.

On AWS the guide's model came from a SageMaker notebook (XGBoost on the census "adult income" data).
With no AWS account and no network, `make run` makes an equivalent one first: it generates
census-like records (a fixed seed, so runs compare), trains SageMaker's built-in XGBoost on them
through the SageMaker API, and registers the model under the name the environment gives.
`python include/census_model.py` rewrites include/data/test.csv, the records the pipeline scores.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import numpy as np

FEATURES = ["age", "education_num", "hours_per_week", "capital_gain", "capital_loss", "is_married"]
TEST_CSV = Path(__file__).parent / "data" / "test.csv"


def census_records(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features and a >50K income label that depends on them as in the real data (roughly)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(17, 80, rows)
    education = rng.integers(1, 17, rows)
    hours = np.clip(rng.normal(40, 12, rows).round(), 1, 99)
    gain = np.where(rng.random(rows) < 0.08, rng.integers(1000, 30000, rows), 0)
    loss = np.where(rng.random(rows) < 0.04, rng.integers(100, 3000, rows), 0)
    married = (rng.random(rows) < 0.45).astype(int)
    features = np.column_stack([age, education, hours, gain, loss, married]).astype(float)
    score = -9 + 0.04 * age + 0.35 * education + 0.03 * hours + 0.0002 * gain + 1.4 * married
    label = (rng.random(rows) < 1 / (1 + np.exp(-score))).astype(int)
    return features, label


def _csv(rows: np.ndarray) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([f"{v:g}" for v in row])
    return buffer.getvalue()


def write_test_csv(rows: int = 200, seed: int = 7) -> Path:
    features, _ = census_records(rows, seed)
    TEST_CSV.write_text(_csv(features))
    return TEST_CSV


def create_existing_model(
    sagemaker, s3, *, model_name: str, bucket: str, role_arn: str, image: str, timeout: float = 300
) -> str:
    """Train XGBoost on census-like data through the SageMaker API and create ``model_name``.

    ``sagemaker`` and ``s3`` are boto3 clients for the environment's endpoint.
    """
    features, label = census_records(2000, seed=11)
    key = f"existing-models/{model_name}/train.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=_csv(np.column_stack([label, features])).encode())
    job = f"{model_name}-train-{int(time.time())}"
    sagemaker.create_training_job(
        TrainingJobName=job,
        AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
        HyperParameters={"objective": "binary:logistic", "num_round": "50", "max_depth": "4", "eta": "0.2"},
        InputDataConfig=[
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{key}"}},
                "ContentType": "text/csv",
            }
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/existing-models/{model_name}/"},
        ResourceConfig={"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
        RoleArn=role_arn,
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    deadline = time.monotonic() + timeout
    while True:
        described = sagemaker.describe_training_job(TrainingJobName=job)
        if described["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"training {job} did not finish in {timeout} s")
        time.sleep(0.5)
    if described["TrainingJobStatus"] != "Completed":
        raise RuntimeError(f"training {job} failed: {described.get('FailureReason')}")
    sagemaker.create_model(
        ModelName=model_name,
        ExecutionRoleArn=role_arn,
        PrimaryContainer={"Image": image, "ModelDataUrl": described["ModelArtifacts"]["S3ModelArtifacts"]},
    )
    return model_name


if __name__ == "__main__":
    print(f"wrote {write_test_csv()}")
