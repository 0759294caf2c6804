"""``kind: operator`` the way ``make run`` runs it: the environment's allowed S3 operators write, copy and
delete objects on the local endpoint, a later task waits for what they wrote, and the test reads S3."""

from __future__ import annotations

import shutil

import pytest

from sagemaker_pipelines.paths import CHECKOUT_ROOT

BUCKET = "sagemaker-local"  # environments/local.yaml
FEATURE = CHECKOUT_ROOT / "tests" / "airflow_stack" / "pipelines" / "features" / "operator_s3.yaml"


@pytest.fixture(scope="module")
def operator_run(run_pipeline, tmp_path_factory):
    pipelines = tmp_path_factory.mktemp("operator-pipelines")
    shutil.copy(FEATURE, pipelines)
    conf = {"note": "written by make run"}
    return run_pipeline("operator_s3", extra_env={"SAGEMAKER_PIPELINES_DIR": str(pipelines)}, conf=conf)


def test_every_operator_task_ran_its_allowed_class(operator_run):
    assert operator_run.returncode == 0, operator_run.output[-4000:]
    operators = {t["task_id"]: (t["state"], t["operator"]) for t in operator_run.report["tasks"]}
    assert operators["write_note"] == ("success", "S3CreateObjectOperator")
    assert operators["copy_note"] == ("success", "S3CopyObjectOperator")
    assert operators["wait_for_copy"] == ("success", "S3KeySensor")
    assert operators["remove_original"] == ("success", "S3DeleteObjectsOperator")


def test_the_objects_on_the_endpoint_are_what_the_operators_did(operator_run, s3):
    assert operator_run.returncode == 0, operator_run.output[-4000:]
    copy = s3.get_object(Bucket=BUCKET, Key="operator-feature/copy/note.txt")["Body"].read()
    assert copy == b"written by make run"  # the run's param, rendered in the templated data argument
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="operator-feature/")
    assert [o["Key"] for o in listed.get("Contents", [])] == ["operator-feature/copy/note.txt"]
