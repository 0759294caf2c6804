"""for_each under `make run` (Airflow's dag.test()): KNN trained once per k of a literal list, once per
element of an array param set with CONF, and once per element a Python step returned - each a distinct
training job on the local endpoint, with the k it was given - then one model per model the first
mapped task trained (a field output of a mapped task is the list of it over its instances)."""

from __future__ import annotations

import pytest

from tests.projects import run_folders

STEPS = """
def choose(ks):
    return [{"k": k, "tag": f"k{k}"} for k in ks]
"""

TRAINING = """\
    depends_on: [data_prep]
    algorithm: knn
    hyperparameters: {{predictor_type: classifier, feature_dim: 4, k: "{k}", sample_size: 150}}
    inputs:
      train: {{s3_uri: "${{s3.input}}/train.csv", content_type: text/csv}}
    output: ${{s3.output}}/
    volume_size: 1
    max_runtime: 10m
"""

# The Iris data every pipeline here trains on.
DATA_PREP = """\
tasks:
  data_prep:
    kind: python
    callable: include/iris_data.py:prepare_iris
    arguments:
      data_url: ${env.iris_data_url}
      input_uri: ${s3.input}
      aws_conn_id: ${env.aws_conn_id}
"""

PIPELINE = f"""\
start_date: 2024-01-01
schedule: null
default_args: {{retries: 0}}
s3:
  prefixes: {{input: fanout/input, output: fanout/results}}
params:
  ks: {{type: array, default: [2, 4], description: "Neighbour counts: one training job each."}}
{DATA_PREP}  train_literal:
    kind: training
    for_each: [1, 3, 5]
    name: fan-lit
{TRAINING.format(k="${item}")}
  train_param:
    kind: training
    for_each: ${{params.ks}}
    name: fan-par
{TRAINING.format(k="${item}")}
  choose:
    kind: python
    callable: include/fan_steps.py:choose
    arguments: {{ks: [6, 8]}}
  train_chosen:
    kind: training
    for_each: ${{tasks.choose.result}}
    name: fan-${{item.tag}}
{TRAINING.format(k="${item.k}")}
  model_each:
    kind: model
    for_each: ${{tasks.train_literal.model_artifacts}}
    name: fan-model
    image: 404615174143.dkr.ecr.us-east-2.amazonaws.com/knn:1
    model_data: ${{item}}
"""


# k = 0 fails in KNN on every try: each try of the mapped instance must create a job of its own.
RETRIED = f"""\
start_date: 2024-01-01
schedule: null
default_args: {{retries: 1, retry_delay: 1s}}
s3:
  prefixes: {{input: fanout/input, output: fanout/results}}
params:
  ks: {{type: array, default: [0]}}
{DATA_PREP}  train_retried:
    kind: training
    for_each: ${{params.ks}}
    name: fan-retry
{TRAINING.format(k="${item}")}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    pipelines = {"fan_out_case.yaml": PIPELINE, "fan_out_retried.yaml": RETRIED}
    return run_folders(tmp_path_factory.mktemp("fan-out"), pipelines, {"fan_steps.py": STEPS})


@pytest.fixture(scope="module")
def fan_out_run(run_pipeline, project):
    return run_pipeline("fan_out_case", extra_env=project, conf={"ks": [7, 9, 11]})


def _jobs(sagemaker, prefix: str) -> dict[str, str]:
    """name -> k of the training jobs whose names start with ``prefix``."""
    names = [
        j["TrainingJobName"]
        for page in sagemaker.get_paginator("list_training_jobs").paginate(NameContains=prefix)
        for j in page["TrainingJobSummaries"]
        if j["TrainingJobName"].startswith(prefix)
    ]
    described = [sagemaker.describe_training_job(TrainingJobName=n) for n in names]
    assert all(d["TrainingJobStatus"] == "Completed" for d in described), described
    return {d["TrainingJobName"]: d["HyperParameters"]["k"] for d in described}


def test_the_run_succeeds_with_one_task_instance_per_element(fan_out_run):
    assert fan_out_run.returncode == 0, fan_out_run.output[-4000:]
    instances = {}
    for t in fan_out_run.report["tasks"]:
        instances.setdefault(t["task_id"], []).append(t)
    counts = {"train_literal": 3, "train_param": 3, "train_chosen": 2, "model_each": 3}
    for task_id, count in counts.items():
        assert sorted(t["map_index"] for t in instances[task_id]) == list(range(count))
        assert {t["state"] for t in instances[task_id]} == {"success"}
    assert {t["operator"] for t in instances["train_param"]} == {"SageMakerTrainingOperator"}
    # a run-time list is turned into one request per element by the task's <task>__items step
    assert [t["state"] for t in instances["train_param__items"]] == ["success"]
    assert "train_literal__items" not in instances  # a literal list is compiled per element
    assert "train_literal[2]" in fan_out_run.output  # the summary names each mapped instance


def test_a_literal_list_trains_one_job_per_k(fan_out_run, sagemaker):
    jobs = _jobs(sagemaker, "fan-lit-")
    assert sorted(jobs.values()) == ["1", "3", "5"]
    assert sorted(n.split("-")[2] for n in jobs) == ["0", "1", "2"]  # fan-lit-<map index>-<run>-<try>


def test_an_array_param_from_conf_trains_one_job_per_element(fan_out_run, sagemaker):
    jobs = _jobs(sagemaker, "fan-par-")
    assert sorted(jobs.values(), key=int) == ["7", "9", "11"]  # CONF's list, not the default [2, 4]
    assert all(n.endswith("-1") for n in jobs)  # the mapped task's own try number, filled in as it ran


def test_a_python_steps_list_trains_one_job_per_element(fan_out_run, sagemaker):
    jobs = {**_jobs(sagemaker, "fan-k6-"), **_jobs(sagemaker, "fan-k8-")}  # name: fan-${item.tag}
    assert sorted(jobs.values()) == ["6", "8"]
    assert sorted(n.split("-")[2] for n in jobs) == ["0", "1"]


def test_a_mapped_tasks_outputs_are_a_list_for_the_next_fan_out(fan_out_run, sagemaker):
    trained = {
        sagemaker.describe_training_job(TrainingJobName=n)["ModelArtifacts"]["S3ModelArtifacts"]
        for n in _jobs(sagemaker, "fan-lit-")
    }
    # moto's ListModels ignores NameContains: the other tests' models are on this endpoint too
    names = [
        m["ModelName"] for m in sagemaker.list_models()["Models"] if m["ModelName"].startswith("fan-model-")
    ]
    assert sorted(n.split("-")[2] for n in names) == ["0", "1", "2"]
    served = {sagemaker.describe_model(ModelName=n)["PrimaryContainer"]["ModelDataUrl"] for n in names}
    assert served == trained and len(served) == 3  # one model per trained model, each its own


def test_a_retried_instance_of_a_run_time_list_gets_a_new_job_name(run_pipeline, project, sagemaker):
    result = run_pipeline("fan_out_retried", extra_env=project)
    assert result.returncode == 1
    (instance,) = [t for t in result.report["tasks"] if t["task_id"] == "train_retried"]
    assert (instance["map_index"], instance["state"], instance["tries"]) == (0, "failed", 2)
    names = [
        j["TrainingJobName"]
        for j in sagemaker.list_training_jobs(NameContains="fan-retry-0-")["TrainingJobSummaries"]
    ]
    assert sorted(n.rsplit("-", 1)[1] for n in names) == ["1", "2"]  # one job per try, no name reused
    reasons = {sagemaker.describe_training_job(TrainingJobName=n).get("FailureReason", "") for n in names}
    assert reasons == {"ClientError: k and sample_size must be positive integers"}  # KNN's, both times
