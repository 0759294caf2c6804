"""The ports of the Amazon provider's SageMaker system tests run offline, as `make run` runs them: every
task's provider operator sends its request over HTTP to the local endpoint, and every task succeeds
(a gate's branch not taken is skipped, as in the original). The requests themselves are compared with
the originals' in tests/provider_ports/test_requests_equal.py."""

from __future__ import annotations

import shutil

import pytest
import yaml

from tests.provider_ports import INCLUDE, PIPELINES, PORT_ENV

# The branches the originals' gates do not take (their metrics decide it), skipped there too.
NOT_TAKEN = {"example_sagemaker_condition": {"retrain_model", "should_not_run", "logical_fail"}}

# example_sagemaker's preprocessing runs in a custom image, which the local endpoint cannot run (validate
# says so in the local environment); locally the task runs the script the image's CMD runs instead, from
# the port's include folder, uploaded first. Everything else runs as ported.
IMAGE_SCRIPT = "include/preprocessing.py"
IMAGE_COMMAND = {
    "command": ["python3", "/opt/ml/processing/code/preprocessing.py"],
    "code": {"s3_uri": "${s3.preprocessing}/code", "local_path": "/opt/ml/processing/code"},
}


def assert_every_task_succeeded(port: str, run) -> None:
    states = {t["task_id"]: t["state"] for t in run.report["tasks"]}
    assert run.returncode == 0, run.output[-6000:]
    skipped = {task for task, state in states.items() if state == "skipped"}
    assert skipped == NOT_TAKEN.get(port, set()), states
    assert {states[t] for t in states if t not in skipped} == {"success"}, states


@pytest.mark.parametrize(
    "port",
    [
        "example_sagemaker_condition",
        "example_sagemaker_notebook",
        "example_sagemaker_endpoint",
        "example_sagemaker_pipeline",
        "example_sagemaker_unified_studio",
    ],
)
def test_the_port_runs_offline_with_every_task_in_success(port, run_pipeline):
    assert_every_task_succeeded(port, run_pipeline(port, extra_env=PORT_ENV))


def with_image_command(pipeline: dict) -> dict:
    """example_sagemaker's port with its preprocessing task running the image's script as its command."""
    tasks = pipeline["tasks"]
    prep = tasks["preprocess_raw_data"]
    prep["command"] = IMAGE_COMMAND["command"]
    prep["inputs"]["code"] = IMAGE_COMMAND["code"]
    prep["depends_on"] = [*prep["depends_on"], "upload_image_script"]
    tasks["upload_image_script"] = {
        "kind": "s3_upload",
        "file": IMAGE_SCRIPT,
        "to": "${s3.preprocessing}/code/preprocessing.py",
    }
    return pipeline


def test_the_sagemaker_port_runs_offline_with_the_images_script(run_pipeline, tmp_path):
    text = (PIPELINES / "example_sagemaker.yaml").read_text()
    modeline = text.splitlines()[0]
    folder = tmp_path / "pipelines"
    folder.mkdir()
    variant = with_image_command(yaml.safe_load(text))
    (folder / "example_sagemaker.yaml").write_text(modeline + "\n" + yaml.safe_dump(variant, sort_keys=False))
    include = tmp_path / "include"
    shutil.copytree(INCLUDE, include)
    run = run_pipeline(
        "example_sagemaker",
        extra_env={"SAGEMAKER_PIPELINES_DIR": str(folder), "SAGEMAKER_INCLUDE_DIR": str(include)},
    )
    assert_every_task_succeeded("example_sagemaker", run)
