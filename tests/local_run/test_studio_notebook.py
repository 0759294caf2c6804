"""A studio_notebook task under `make run`: the provider's SageMakerNotebookOperator and its sagemaker_studio
SDK, unchanged, against the local endpoint - DataZone's project lookup, the SSM public parameter of the
SageMaker Distribution image, the training job that really executes the notebook's cells.

The project is a temporary one: its pipeline and its notebook (``include/iris_report.ipynb``, which the
task names as ``src/iris_report.ipynb`` of the Git project) are written here.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import textwrap

import pytest

from sagemaker_pipelines.local.aws.datazone import project_s3_path
from sagemaker_pipelines.local.studio import LOCAL_DOMAIN, LOCAL_PROJECT
from sagemaker_pipelines.paths import CHECKOUT_ROOT

BUCKET = "sagemaker-local"  # environments/local.yaml

NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3"}},
    "cells": [
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": ["min_accuracy = 0.5\n"]},
        {
            "cell_type": "code",
            "metadata": {},
            "source": [
                "from sklearn.datasets import load_iris\n",
                "from sklearn.model_selection import cross_val_score\n",
                "from sklearn.neighbors import KNeighborsClassifier\n",
                "X, y = load_iris(return_X_y=True)\n",
                "accuracy = cross_val_score(KNeighborsClassifier(n_neighbors=3), X, y, cv=5).mean()\n",
                "print(f'accuracy={accuracy:.3f} min={min_accuracy}')\n",
            ],
        },
        {
            "cell_type": "code",
            "metadata": {},
            "source": ["assert accuracy >= min_accuracy, 'below the bar'\n"],
        },
    ],
}

STEPS = textwrap.dedent(
    """
    from pathlib import Path


    def record(s3_path, marker):
        Path(marker).write_text(s3_path)
    """
)

PIPELINE = """\
start_date: 2024-01-01
schedule: null
default_args: {{retries: 0}}
params:
  min_accuracy: {{type: number, default: 0.5}}
tasks:
  iris_report:
    kind: studio_notebook
    notebook: src/iris_report.ipynb
    parameters: {{min_accuracy: "${{params.min_accuracy}}"}}
    max_runtime: 10m
  record:
    kind: python
    callable: include/steps.py:record
    arguments: {{s3_path: "${{tasks.iris_report.s3_path}}", marker: "{marker}"}}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("studio-project")
    include = root / "include"
    shutil.copytree(CHECKOUT_ROOT / "include", include)
    (include / "iris_report.ipynb").write_text(json.dumps(NOTEBOOK))
    (include / "steps.py").write_text(STEPS)
    pipelines = root / "pipelines"
    pipelines.mkdir()
    marker = root / "s3_path.txt"
    (pipelines / "studio_case.yaml").write_text(PIPELINE.format(marker=marker))
    env = {"SAGEMAKER_PIPELINES_DIR": str(pipelines), "SAGEMAKER_INCLUDE_DIR": str(include)}
    return env, marker


def _executed_notebook(s3, uri: str) -> dict:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith(".ipynb"))
        return json.load(archive.extractfile(member))


def test_the_notebook_runs_and_its_output_lands_in_s3(run_pipeline, project, s3):
    env, marker = project
    result = run_pipeline("studio_case", extra_env=env, conf={"min_accuracy": 0.9})
    assert result.report["state"] == "success", result.output[-4000:]
    assert result.task("iris_report")["state"] == "success"
    s3_path = marker.read_text()  # what the hook pushed, read by the next task through its reference
    assert s3_path.startswith(f"{project_s3_path(BUCKET, LOCAL_DOMAIN, LOCAL_PROJECT)}/workflows/output/")
    notebook = _executed_notebook(s3, s3_path)
    printed = "".join(o.get("text", "") for c in notebook["cells"] for o in c.get("outputs", []))
    assert "min=0.9" in printed  # the run's parameter reached the notebook
    assert float(printed.split("accuracy=")[1].split()[0]) >= 0.9


def test_a_failing_cell_fails_the_task(run_pipeline, project):
    env, _ = project
    result = run_pipeline("studio_case", extra_env=env, conf={"min_accuracy": 1.01})
    assert result.report["state"] == "failed" and result.returncode == 1
    assert result.task("iris_report")["state"] == "failed"
    assert result.task("record")["state"] == "upstream_failed"
    assert "AssertionError: below the bar" in result.output
