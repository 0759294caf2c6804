"""validate judges a task's image URI: a legacy image is a warning naming the current one, a SageMaker
image from another region's registry account or region is an error, and in a local environment a custom
processing image without a command (which can never run there) is an error."""

from __future__ import annotations

from pathlib import Path

from sagemaker_pipelines.checker import check_text
from sagemaker_pipelines.compile import images
from sagemaker_pipelines.format.environment import load_environment

LEGACY_XGBOOST = next(i for i in images.LEGACY if i.repository == "xgboost")
KNN = images.ALGORITHMS["knn"]
XGBOOST = images.ALGORITHMS["xgboost"]

TRAINING = """\
start_date: 2024-01-01
region: us-east-2
tasks:
  train:
    kind: training
    image: {image}
    hyperparameters: {{num_round: "10"}}
    inputs: {{train: s3://my-bucket/iris/train.csv}}
"""

PROCESSING = """\
start_date: 2024-01-01
region: us-east-2
tasks:
  prep:
    kind: processing
    image: 123456789012.dkr.ecr.us-east-2.amazonaws.com/prep:1
{command}"""


def _check(text: str, env: str = "local"):
    return check_text(text, Path("p.yaml"), load_environment(env))


def _uri(account: str, region: str, rest: str) -> str:
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{rest}"


def test_a_legacy_image_is_a_warning_naming_the_current_one_and_the_pipeline_still_builds():
    legacy = _uri(LEGACY_XGBOOST.accounts["us-east-2"], "us-east-2", "xgboost:1")
    result = _check(TRAINING.format(image=legacy))
    (warning,) = result.problems
    assert warning.severity == "warning"
    assert (warning.line, warning.column, warning.field) == (6, 12, "tasks.train.image")
    current = _uri(XGBOOST.accounts["us-east-2"], "us-east-2", f"{XGBOOST.repository}:{XGBOOST.tag}")
    assert (
        "xgboost:1 is a legacy image SageMaker no longer updates; "
        f"the xgboost algorithm's current image is {current}" in warning.message
    )
    assert "write algorithm: xgboost" in warning.hint
    assert result.ok and result.compiled is not None  # a warning: the DAG is built


def test_a_sagemaker_image_from_another_regions_account_is_an_error_naming_the_right_one():
    copied = _uri(KNN.accounts["us-east-1"], "us-east-2", "knn:1")  # us-east-1's account, us-east-2's host
    result = _check(TRAINING.format(image=copied))
    (error,) = result.problems
    assert error.severity == "error" and error.field == "tasks.train.image"
    assert f"account {KNN.accounts['us-east-1']} publishes SageMaker's knn images in " in error.message
    assert "not in us-east-2: SageMaker cannot pull this image" in error.message
    assert error.hint == f"in us-east-2: {_uri(KNN.accounts['us-east-2'], 'us-east-2', 'knn:1')}"
    assert not result.ok


def test_a_sagemaker_image_of_another_region_than_the_pipelines_is_an_error():
    elsewhere = _uri(KNN.accounts["us-east-1"], "us-east-1", "knn:1")
    (error,) = _check(TRAINING.format(image=elsewhere)).problems
    assert "the image is in us-east-1 but the pipeline runs in us-east-2" in error.message
    assert error.hint.endswith(_uri(KNN.accounts["us-east-2"], "us-east-2", "knn:1"))


def test_images_of_the_users_own_registry_are_not_judged():
    assert _check(TRAINING.format(image=_uri("123456789012", "us-east-2", "xgboost:1"))).problems == []


def test_locally_a_custom_processing_image_needs_its_command():
    (error,) = _check(PROCESSING.format(command="")).problems
    assert (error.line, error.field) == (6, "tasks.prep.image")
    assert "a custom processing image cannot run locally without `command`" in error.message
    assert _check(PROCESSING.format(command="    command: [python3, /opt/program/prep.py]\n")).problems == []
    assert _check(PROCESSING.format(command=""), env="aws").problems == []  # on AWS the image runs
