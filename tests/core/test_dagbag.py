"""The pipelines as Airflow's DagBag sees them, over a DAGs folder, in a fresh interpreter per scenario
(Airflow reads its settings at import, so nothing is shared between scenarios). What the real
dag-processor does with the result is proven in tests/airflow/test_dag_processor.py."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sagemaker_pipelines.paths import CHECKOUT_ROOT
from tests.pipeline_texts import PREPARE_AND_TRAIN
from tests.projects import clean_env, make_project

from .conftest import BAD_INPUTS, GOOD_PIPELINE, PIPELINES

PROBE = Path(__file__).with_name("dagbag_probe.py")

_SM = "airflow.providers.amazon.aws.operators.sagemaker"
_JOBS = (
    "sagemaker_pipelines.airflow.jobs.operators"  # the provider's job operators, one job per task instance
)
IRIS_TRAINING = {
    "data_prep": ("PythonOperator", "airflow.providers.standard.operators.python", []),
    "train_model": ("SageMakerTrainingOperator", _JOBS, ["data_prep"]),
    "create_model": ("SageMakerModelOperator", _SM, ["train_model"]),
    "test_model": ("SageMakerTransformOperator", _JOBS, ["create_model"]),
}
IRIS_DEPLOY = {
    **IRIS_TRAINING,
    "endpoint_config": ("SageMakerEndpointConfigOperator", _SM, ["create_model", "test_model"]),
    "deploy": ("SageMakerEndpointOperator", "sagemaker_pipelines.airflow.jobs.endpoint", ["endpoint_config"]),
    "wait_for_endpoint": (
        "SageMakerEndpointSensor",
        "airflow.providers.amazon.aws.sensors.sagemaker",
        ["deploy"],
    ),
}


def batch_inference(environment: str) -> dict:
    load = {
        "local": ("S3ToSqlOperator", "sagemaker_pipelines.airflow.warehouse"),
        "aws": ("S3ToRedshiftOperator", "airflow.providers.amazon.aws.transfers.s3_to_redshift"),
    }[environment]
    return {
        "upload_data": (
            "LocalFilesystemToS3Operator",
            "airflow.providers.amazon.aws.transfers.local_to_s3",
            [],
        ),
        "predict": ("SageMakerTransformOperator", _JOBS, ["upload_data"]),
        "save_results": (*load, ["predict"]),
    }


def load_dagbag(tmp_path: Path, dags_dir: Path, environment: str) -> dict:
    """Run Airflow's DagBag over ``dags_dir`` in a subprocess with a throwaway AIRFLOW_HOME; its report."""
    home = tmp_path / "airflow_home"
    home.mkdir()
    report = tmp_path / "dagbag.json"
    env = clean_env(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="false",
        AIRFLOW__CORE__DAGS_FOLDER=str(dags_dir),
        SAGEMAKER_PIPELINES_ENV=environment,
        SAGEMAKER_PIPELINES_CACHE_DIR=str(tmp_path / "cache"),
    )
    done = subprocess.run(
        [sys.executable, str(PROBE), str(report)],
        cwd=CHECKOUT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    return json.loads(report.read_text())


def tasks_of(report: dict, dag_id: str) -> dict:
    return {
        task_id: (task["operator"], task["module"], task["upstream"])
        for task_id, task in report["dags"][dag_id]["tasks"].items()
    }


def shipped_dag_ids() -> set[str]:
    return {p.stem for p in PIPELINES.glob("*.yaml")}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("environment", ["local", "aws"])
def test_shipped_pipelines_load_without_import_errors(tmp_path, environment):
    report = load_dagbag(tmp_path, CHECKOUT_ROOT / "dags", environment)  # the committed DAG files

    assert report["import_errors"] == {}
    assert set(report["dags"]) == shipped_dag_ids()
    assert tasks_of(report, "iris_training") == IRIS_TRAINING
    assert tasks_of(report, "iris_deploy") == IRIS_DEPLOY
    assert tasks_of(report, "batch_inference") == batch_inference(environment)
    for dag_id, dag in report["dags"].items():
        assert dag["fileloc"] == str(CHECKOUT_ROOT / "dags" / f"{dag_id}.py")  # one DAG file per pipeline
        assert "sagemaker" in dag["tags"]
        # Each DAG file pre-imports the Airflow modules of its own operators (in every environment).
        source = Path(dag["fileloc"]).read_text()
        preimported = {a.name for n in ast.parse(source).body if isinstance(n, ast.Import) for a in n.names}
        used = {t["module"] for t in dag["tasks"].values() if t["module"].startswith("airflow.")}
        assert used <= preimported, dag_id


BROKEN_TYPO = """\
start_date: 2024-01-01
tasks:
  train:
    kind: training
    algorithm: knn
    instance_typ: ml.m5.large
    inputs:
      train: s3://my-bucket/iris/train.csv
"""

BROKEN_GRAPH = PREPARE_AND_TRAIN.replace("algorithm: knn\n", "algorithm: knn\n    depends_on: [prepair]\n")


@pytest.mark.timeout(300)
def test_broken_pipelines_are_import_errors_and_good_ones_still_load(tmp_path):
    project = make_project(
        tmp_path / "project", {"broken_typo.yaml": BROKEN_TYPO, "broken_graph.yaml": BROKEN_GRAPH}
    )

    report = load_dagbag(tmp_path, project / "dags", "local")

    assert set(report["dags"]) == shipped_dag_ids()
    assert tasks_of(report, "iris_training") == IRIS_TRAINING
    assert tasks_of(report, "batch_inference") == batch_inference("local")
    # Airflow keys import errors by DAG file: each broken pipeline is an error of its own file alone.
    assert sorted(Path(key).name for key in report["import_errors"]) == ["broken_graph.py", "broken_typo.py"]
    errors = {Path(key).stem: message for key, message in report["import_errors"].items()}
    typo = re.fullmatch(
        r"PipelineInvalid: pipelines/broken_typo\.yaml:(\d+):(\d+): (\S+): (.*)", errors["broken_typo"]
    )
    graph = re.fullmatch(
        r"PipelineInvalid: pipelines/broken_graph\.yaml:(\d+):(\d+): (\S+): (.*)", errors["broken_graph"]
    )
    assert typo and graph, errors
    assert typo.groups()[:3] == ("6", "5", "tasks.train.instance_typ")
    assert "unknown field 'instance_typ'" in typo[4] and "did you mean 'instance_type'?" in typo[4]
    assert graph.groups()[:3] == ("9", "18", "tasks.train.depends_on[0]")
    assert "depends on unknown task 'prepair'" in graph[4] and "did you mean 'prepare'?" in graph[4]
    assert "Traceback" not in errors["broken_typo"] + errors["broken_graph"]
    # The corpus file of the same mistake agrees with what Airflow shows.
    assert (BAD_INPUTS / "typo_task_key.yaml").read_text() == BROKEN_TYPO


def test_an_orphaned_or_renamed_dag_file_says_how_to_fix_it(tmp_path):
    project = make_project(tmp_path / "project", shipped=False, pipelines={"small.yaml": GOOD_PIPELINE})
    dag_file = project / "dags" / "small.py"
    (project / "dags" / "gone.py").write_text(dag_file.read_text().replace("small.yaml", "gone.yaml"))
    (project / "dags" / "renamed.py").write_text(dag_file.read_text())

    report = load_dagbag(tmp_path, project / "dags", "local")

    assert set(report["dags"]) == {"small"}
    errors = {Path(key).stem: message for key, message in report["import_errors"].items()}
    assert "builds pipelines/gone.yaml, which does not exist" in errors["gone"]
    assert "run `make sync`" in errors["gone"]
    assert "pipelines/small.yaml:1:1: dag_id: the pipeline's DAG id is 'small'" in errors["renamed"]
