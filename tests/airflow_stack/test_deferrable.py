"""``deferrable:`` per task and as an environment default, as the operators receive it.

(The deferred job itself runs through a real triggerer in ``test_local_executor.py``.)
"""

from __future__ import annotations

import json

import pytest

from sagemaker_pipelines.checker import check_file
from sagemaker_pipelines.format.environment import load_environment
from sagemaker_pipelines.paths import CHECKOUT_ROOT

# The kinds whose operators take deferrable (SageMakerNotebookOperator too: studio_notebook).
DEFERRABLE_KINDS = ("training", "tuning", "processing", "transform", "endpoint", "studio_notebook")


def _pipeline(tmp_path, train_extra: str = "", model_extra: str = ""):
    path = tmp_path / "p.yaml"
    path.write_text(
        "start_date: 2024-01-01\ntasks:\n"
        "  train:\n    kind: training\n    algorithm: knn\n"
        "    hyperparameters: {feature_dim: 4, k: 3, predictor_type: classifier, sample_size: 10}\n"
        "    inputs: {train: s3://my-bucket/train.csv}\n"
        + train_extra
        + "  model:\n    kind: model\n    from: train\n"
        + model_extra
    )
    return path


@pytest.fixture
def environments(tmp_path, monkeypatch):
    """A copy of the environments whose local one defers by default."""
    folder = tmp_path / "environments"
    folder.mkdir()
    for name in ("aws", "local"):
        text = (CHECKOUT_ROOT / "environments" / f"{name}.yaml").read_text()
        (folder / f"{name}.yaml").write_text(text + ("deferrable: true\n" if name == "local" else ""))
    monkeypatch.setenv("SAGEMAKER_ENVIRONMENTS_DIR", str(folder))
    return folder


def _kwargs(path, environment):
    result = check_file(path, environment)
    assert result.ok, result.problems
    return {t.task_id: t.kwargs for t in result.compiled.tasks}


def test_unset_everywhere_leaves_it_to_airflow(tmp_path):
    kwargs = _kwargs(_pipeline(tmp_path), load_environment("aws"))
    assert "deferrable" not in kwargs["train"]


def test_per_task(tmp_path):
    kwargs = _kwargs(_pipeline(tmp_path, "    deferrable: true\n"), load_environment("aws"))
    assert kwargs["train"]["deferrable"] is True and kwargs["train"]["wait_for_completion"] is True


def test_environment_default_and_a_task_that_opts_out(tmp_path, environments):
    local = load_environment("local")
    assert local.deferrable is True and load_environment("aws").deferrable is None
    assert _kwargs(_pipeline(tmp_path), local)["train"]["deferrable"] is True
    assert _kwargs(_pipeline(tmp_path, "    deferrable: false\n"), local)["train"]["deferrable"] is False
    assert "deferrable" not in _kwargs(_pipeline(tmp_path), local)["model"]  # the model operator has none


def test_only_kinds_whose_operator_defers_accept_it(tmp_path):
    result = check_file(_pipeline(tmp_path, model_extra="    deferrable: true\n"), load_environment("aws"))
    assert [p.field for p in result.problems] == ["tasks.model.deferrable"]
    schema = json.loads((CHECKOUT_ROOT / "schemas" / "pipeline.schema.json").read_text())["$defs"]
    accepting = {
        name.removesuffix("_task") for name, d in schema.items() if "deferrable" in d.get("properties", {})
    }
    assert accepting == set(DEFERRABLE_KINDS)
