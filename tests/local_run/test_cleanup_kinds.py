"""The clean-up and set-up kinds in a real run: a pipeline creates an endpoint (and its config), a model
registry version and group, an experiment, an AutoML job and a SageMaker pipeline (twice: the second
updates it), then its teardowns delete or stop each - every clean-up twice, the second finding the thing
gone (or ended), as a teardown after a retry or a second run does - and every task succeeds.
"""

from __future__ import annotations

import shutil

import pytest
from botocore.exceptions import ClientError

from sagemaker_pipelines.paths import CHECKOUT_ROOT

GROUP = "cleanup-kinds-run"
ENDPOINT = "cleanup-kinds-run"
SAGEMAKER_PIPELINE = "cleanup-kinds-run"

PIPELINE = f"""\
start_date: 2024-01-01
schedule: null
default_args: {{retries: 0}}
s3:
  prefixes:
    input: cleanup-kinds/input
    output: cleanup-kinds/output
tasks:
  data_prep:
    kind: python
    callable: include/iris_data.py:prepare_iris
    arguments:
      data_url: ${{env.iris_data_url}}
      input_uri: ${{s3.input}}
      aws_conn_id: ${{env.aws_conn_id}}
  upload_table:
    kind: s3_upload
    file: include/data/churn.csv
    to: ${{s3.input}}/automl/churn.csv
  train:
    kind: training
    depends_on: [data_prep]
    algorithm: knn
    hyperparameters: {{predictor_type: classifier, feature_dim: 4, k: 3, sample_size: 150}}
    inputs:
      train: {{s3_uri: "${{s3.input}}/train.csv", content_type: text/csv}}
    output: ${{s3.output}}/models/
    volume_size: 1
    max_runtime: 30m
  register:
    kind: register_model
    from: train
    group: {GROUP}
  model:
    kind: model
    from: train
  endpoint_config:
    kind: endpoint_config
    model: model
  deploy:
    kind: endpoint
    endpoint_config: endpoint_config
    endpoint_name: {ENDPOINT}
  experiment:
    kind: experiment
    name: cleanup-kinds-run
  autopilot:
    kind: automl
    depends_on: [upload_table]
    input: ${{s3.input}}/automl/
    target: churned
    max_candidates: 4
    wait_for_completion: false
  create_pipeline:
    kind: upsert_pipeline
    pipeline_name: {SAGEMAKER_PIPELINE}
    definition: {{Version: "2020-12-01", Parameters: [], Steps: []}}
  update_pipeline:
    kind: upsert_pipeline
    depends_on: [create_pipeline]
    pipeline_name: {SAGEMAKER_PIPELINE}
    description: The second upsert of the same pipeline updates it.
    definition:
      Version: "2020-12-01"
      Parameters: [{{Name: Rows, Type: Integer, DefaultValue: 1}}]
      Steps: []
  work_done:
    kind: python
    depends_on: [deploy, register, experiment, autopilot, update_pipeline]
    callable: include/cleanup_steps.py:done
{{cleanups}}
"""

# Each clean-up, as (task id, fields); each runs twice, the second after the first.
CLEANUPS = [
    ("delete_endpoint", "kind: delete_endpoint\n    endpoint: deploy"),
    ("delete_endpoint_config", "kind: delete_endpoint_config\n    endpoint_config: endpoint_config"),
    ("delete_version", "kind: delete_model_package\n    model_package: register"),
    ("delete_group", "kind: delete_model_package_group\n    group: register"),
    ("delete_experiment", "kind: delete_experiment\n    experiment: experiment"),
    ("stop_autopilot", "kind: stop_automl\n    job: autopilot"),
    ("delete_pipeline", "kind: delete_pipeline\n    pipeline: update_pipeline"),
]
ORDER = {"delete_endpoint_config": "delete_endpoint_again", "delete_group": "delete_version_again"}

STEPS = """
def done():
    return "the work is done; the teardowns clean up"
"""


def _cleanups() -> str:
    lines = []
    for task_id, fields in CLEANUPS:
        before = ORDER.get(task_id, "work_done")
        for suffix, after in (("", before), ("_again", task_id)):
            lines += [
                f"  {task_id}{suffix}:",
                f"    {fields}",
                f"    depends_on: [{after}]",
                "    teardown: true",
            ]
    return "\n".join(lines)


def _churn_csv() -> str:
    rows = ["tenure,monthly,churned"]
    rows += [f"{t},{20 + (t * 7) % 60},{1 if t % 5 < 2 else 0}" for t in range(1, 121)]
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def result(run_pipeline, tmp_path_factory):
    root = tmp_path_factory.mktemp("cleanup-kinds")
    include = root / "include"
    shutil.copytree(CHECKOUT_ROOT / "include", include)
    (include / "data").mkdir(exist_ok=True)
    (include / "data" / "churn.csv").write_text(_churn_csv())
    (include / "cleanup_steps.py").write_text(STEPS)
    pipelines = root / "pipelines"
    pipelines.mkdir()
    (pipelines / "cleanup_kinds.yaml").write_text(PIPELINE.replace("{cleanups}", _cleanups()))
    env = {"SAGEMAKER_PIPELINES_DIR": str(pipelines), "SAGEMAKER_INCLUDE_DIR": str(include)}
    return run_pipeline("cleanup_kinds", extra_env=env)


def test_every_task_succeeds_and_each_cleanup_ran_twice(result):
    states = {t["task_id"]: t["state"] for t in result.report["tasks"]}
    assert result.returncode == 0, result.output[-6000:]
    assert set(states.values()) == {"success"}, states
    for task_id, _ in CLEANUPS:
        assert states[task_id] == states[f"{task_id}_again"] == "success"
    assert len(states) == 12 + 2 * len(CLEANUPS)


def test_the_second_clean_up_found_the_thing_gone(result):
    assert result.output.count("is already gone") >= 6, result.output[-6000:]


def test_nothing_the_run_made_is_left(result, sagemaker):
    endpoints = sagemaker.list_endpoints(NameContains=ENDPOINT)["Endpoints"]
    assert endpoints == []
    configs = sagemaker.list_endpoint_configs(NameContains="cleanup-kinds")["EndpointConfigs"]
    assert configs == []
    groups = sagemaker.list_model_package_groups(NameContains=GROUP)["ModelPackageGroupSummaryList"]
    assert groups == []
    experiments = sagemaker.list_experiments()["ExperimentSummaries"]
    assert not [e for e in experiments if e["ExperimentName"].startswith("cleanup-kinds-run")]
    with pytest.raises(ClientError) as gone:
        sagemaker.describe_pipeline(PipelineName=SAGEMAKER_PIPELINE)
    assert gone.value.response["Error"]["Code"] in ("ResourceNotFound", "ValidationException")
