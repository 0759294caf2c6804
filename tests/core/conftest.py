"""Fixtures of the core tests: environments, the project's folders, and a one-call pipeline checker."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sagemaker_pipelines.checker import CheckResult, check_text
from sagemaker_pipelines.format.environment import Environment, load_environment
from sagemaker_pipelines.paths import CHECKOUT_ROOT

CORE_DIR = Path(__file__).resolve().parent
BAD_INPUTS = CORE_DIR / "bad_inputs"
PIPELINES = CHECKOUT_ROOT / "pipelines"
SCHEMAS = CHECKOUT_ROOT / "schemas"

# A small pipeline that passes every check; tests change one thing in it.
GOOD_PIPELINE = """\
start_date: 2024-01-01
tasks:
  train:
    kind: training
    algorithm: knn
    hyperparameters:
      k: 3
      sample_size: 150
      predictor_type: classifier
      feature_dim: 4
    inputs:
      train: s3://my-bucket/iris/train.csv
"""


@pytest.fixture(scope="session")
def local_env() -> Environment:
    return load_environment("local")


@pytest.fixture(scope="session")
def aws_env() -> Environment:
    return load_environment("aws")


@pytest.fixture
def check(local_env):
    """``check(yaml_text, name="t")`` -> CheckResult, as if read from ``pipelines/<name>.yaml``."""

    def run(text: str, name: str = "t", environment: Environment | None = None) -> CheckResult:
        path = PIPELINES / f"{name}.yaml"
        return check_text(textwrap.dedent(text), path, environment or local_env)

    return run


@pytest.fixture
def compile_ok(check):
    """Like ``check`` but asserts the pipeline is clean and returns its CompiledPipeline."""

    def run(text: str, name: str = "t", environment: Environment | None = None):
        result = check(text, name, environment)
        assert result.problems == [], [p.format() for p in result.problems]
        assert result.compiled is not None
        return result.compiled

    return run
