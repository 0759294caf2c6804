"""Fixtures for the local AWS endpoint tests: one real server process per test module, boto3 over HTTP."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import numpy as np
import pytest

from sagemaker_pipelines.compile.images import algorithm_image_uri, framework_image_uri
from sagemaker_pipelines.local.aws import LocalAws, start_local_aws
from tests.waiting import wait_until

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/sagemaker"
BUCKET = "local-aws-tests"
KNN_IMAGE = algorithm_image_uri("knn", REGION)
LINEAR_IMAGE = algorithm_image_uri("linear-learner", REGION)
XGB_IMAGE = algorithm_image_uri("xgboost", REGION)
SKLEARN_IMAGE = framework_image_uri("sklearn", REGION, serving=False)
SKLEARN_SERVING_IMAGE = framework_image_uri("sklearn", REGION, serving=True)


@pytest.fixture(scope="module")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    aws = start_local_aws(tmp_path_factory.mktemp("local-aws-state"))
    try:
        yield aws
    finally:
        aws.stop()


def client(aws: LocalAws, service: str) -> Any:
    return boto3.client(service, **aws.client_kwargs(REGION))


@pytest.fixture(scope="module")
def sm(local_aws: LocalAws) -> Any:
    return client(local_aws, "sagemaker")


@pytest.fixture(scope="module")
def s3(local_aws: LocalAws) -> Any:
    s3 = client(local_aws, "s3")
    s3.create_bucket(Bucket=BUCKET)
    return s3


def iris_split(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Iris as label-first rows, 70/30 split with a fixed seed."""
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    data = load_iris()
    rows = np.column_stack([data.target.astype(float), data.data])
    train, test = train_test_split(rows, test_size=0.3, random_state=seed, stratify=data.target)
    return train, test


def to_csv(rows: np.ndarray) -> bytes:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows).encode() + b"\n"


def put(s3: Any, key: str, data: bytes) -> str:
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    return f"s3://{BUCKET}/{key}"


def get(s3: Any, uri: str) -> bytes:
    bucket, _, key = uri[len("s3://") :].partition("/")
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def pack_source(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def seen_first_in(
    status: str, describe: Callable[[], dict[str, Any]], key: str, created: float
) -> dict[str, Any]:
    """Assert the first Describe after a create shows ``status`` (InProgress, Creating), as on AWS; returns
    it. The endpoint holds the next status back until a Describe has seen this one, or for
    MIN_JOB_SECONDS when nobody asks: a machine too loaded to ask that soon may rightly see a later one.
    ``created``: ``time.monotonic()`` before the create call."""
    import time

    from sagemaker_pipelines.local.aws.backend import MIN_JOB_SECONDS

    first = describe()
    assert first[key] == status or time.monotonic() - created >= MIN_JOB_SECONDS, first[key]
    return first


def wait_for(
    describe: Callable[[], dict[str, Any]], key: str, done: tuple[str, ...], timeout: float = 60
) -> dict[str, Any]:
    """Poll a Describe call until ``key`` reaches one of ``done``; returns the last answer."""
    answers: list[dict[str, Any]] = []

    def ended() -> dict[str, Any] | None:
        answers.append(describe())
        return answers[-1] if answers[-1][key] in done else None

    return wait_until(ended, timeout, f"{key} in {done} ({answers[-1] if answers else None})", interval=0.25)


def training_job(
    sm: Any,
    name: str,
    image: str,
    hyperparameters: dict[str, str],
    channels: dict[str, str],
    *,
    content_type: str | None = "text/csv",
    **extra: Any,
) -> dict[str, Any]:
    """CreateTrainingJob with S3Prefix channels; returns the create answer."""
    return sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File", **extra.pop("spec", {})},
        RoleArn=ROLE,
        HyperParameters=hyperparameters,
        InputDataConfig=[
            {
                "ChannelName": channel,
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}},
                **({"ContentType": content_type} if content_type else {}),
            }
            for channel, uri in channels.items()
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/output"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": extra.pop("max_runtime", 600)},
        **extra,
    )


def wait_training(sm: Any, name: str, timeout: float = 90) -> dict[str, Any]:
    return wait_for(
        lambda: sm.describe_training_job(TrainingJobName=name),
        "TrainingJobStatus",
        ("Completed", "Failed", "Stopped"),
        timeout,
    )


def wait_transform(sm: Any, name: str, timeout: float = 90) -> dict[str, Any]:
    return wait_for(
        lambda: sm.describe_transform_job(TransformJobName=name),
        "TransformJobStatus",
        ("Completed", "Failed", "Stopped"),
        timeout,
    )


def create_endpoint(sm: Any, name: str, model: str) -> None:
    """An endpoint config serving ``model`` on one variant, and the endpoint ``name`` from it."""
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": "main",
                "ModelName": model,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def wait_endpoint(sm: Any, name: str, timeout: float = 60) -> dict[str, Any]:
    return wait_for(
        lambda: sm.describe_endpoint(EndpointName=name), "EndpointStatus", ("InService", "Failed"), timeout
    )


def transform_job(sm: Any, name: str, model: str, input_uri: str, output_uri: str, **extra: Any) -> None:
    sm.create_transform_job(
        TransformJobName=name,
        ModelName=model,
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": output_uri, **extra.pop("output", {})},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
        **extra,
    )


def failing_processing_job(sm: Any, s3: Any, name: str, message: str) -> dict[str, Any]:
    """A processing job whose script exits with ``message``, run to its end: its Describe* answer."""
    put(s3, f"{name}/code/broken.py", f"import sys\nsys.exit({message!r})\n".encode())
    sm.create_processing_job(
        ProcessingJobName=name,
        RoleArn=ROLE,
        AppSpecification={
            "ImageUri": "img",
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/code/broken.py"],
        },
        ProcessingInputs=[
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": f"s3://{BUCKET}/{name}/code/broken.py",
                    "LocalPath": "/opt/ml/processing/code",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
        ],
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5}
        },
    )
    return wait_for(
        lambda: sm.describe_processing_job(ProcessingJobName=name),
        "ProcessingJobStatus",
        ("Completed", "Failed"),
    )
