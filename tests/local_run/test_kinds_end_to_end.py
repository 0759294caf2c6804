"""Every kind beyond the guide's in one real Airflow run against the local endpoint: the provider's own
operators and sensors send their requests over HTTP, and the test reads what the emulator then holds."""

from __future__ import annotations

import shutil
import textwrap

import pytest
from botocore.exceptions import ClientError

from sagemaker_pipelines.paths import CHECKOUT_ROOT

BUCKET = "sagemaker-local"  # environments/local.yaml

SETUP = textwrap.dedent(
    '''
    """Test-only setup: Iris with a header for AutoML, and two SageMaker pipelines (quick, slow)."""
    import json

    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    SCRIPT = "import sys, time; time.sleep(float(sys.argv[1]))"
    IMAGE = "257758044811.dkr.ecr.us-east-2.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


    def _definition(seconds, role_arn):
        step = {
            "Name": "Wait",
            "Type": "Processing",
            "Arguments": {
                "ProcessingResources": {
                    "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
                },
                "AppSpecification": {
                    "ImageUri": IMAGE,
                    "ContainerEntrypoint": ["python3", "-c", SCRIPT],
                    "ContainerArguments": [{"Get": "Parameters.Seconds"}],
                },
                "RoleArn": role_arn,
            },
        }
        parameters = [{"Name": "Seconds", "Type": "String", "DefaultValue": str(seconds)}]
        return json.dumps({"Version": "2020-12-01", "Parameters": parameters, "Steps": [step]})


    def setup(data_uri, aws_conn_id, role_arn):
        bucket, _, prefix = data_uri.removeprefix("s3://").partition("/")
        s3 = S3Hook(aws_conn_id=aws_conn_id)
        rows = s3.read_key(f"{prefix}/train.csv", bucket).splitlines()
        header = "species,sepal_length,sepal_width,petal_length,petal_width"
        s3.load_string("\\n".join([header, *rows]) + "\\n", f"{prefix}/automl/iris.csv", bucket, replace=True)
        sagemaker = AwsBaseHook(aws_conn_id=aws_conn_id, client_type="sagemaker").get_conn()
        # kinds-slow runs until stop_slow stops it (the endpoint stops its running step's job), however
        # late that comes on a loaded machine: Stopped is then the only way it can end.
        for name, seconds in (("kinds-quick", 0), ("kinds-slow", 3600)):
            sagemaker.create_pipeline(
                PipelineName=name, RoleArn=role_arn, PipelineDefinition=_definition(seconds, role_arn)
            )
        return {"rows": len(rows)}
    '''
)

PIPELINE = """\
start_date: 2024-01-01
schedule: null
default_args: {retries: 0}
s3:
  prefixes: {data: kinds/data, out: kinds/out}
tasks:
  data_prep:
    kind: python
    callable: include/iris_data.py:prepare_iris
    arguments: {data_url: "${env.iris_data_url}", input_uri: "${s3.data}", aws_conn_id: "${env.aws_conn_id}"}
  setup:
    kind: python
    depends_on: [data_prep]
    callable: include/kinds_setup.py:setup
    arguments: {data_uri: "${s3.data}", aws_conn_id: "${env.aws_conn_id}", role_arn: "${env.role_arn}"}
  experiment:
    kind: experiment
    name: kinds
    description: Every kind in one run.
  train:
    kind: training
    depends_on: [data_prep]
    algorithm: knn
    hyperparameters: {predictor_type: classifier, feature_dim: 4, k: 3, sample_size: 105}
    inputs: {train: {s3_uri: "${s3.data}/train.csv", content_type: text/csv}}
    output: ${s3.out}/models/
    config: {ExperimentConfig: {ExperimentName: "${tasks.experiment.name}", TrialName: "kinds-trial"}}
  gate:
    kind: condition
    conditions:
      - {left: "${tasks.train.metrics.train:accuracy}", op: ">=", right: 0.5}
      - not: {left: "${tasks.setup.result.rows}", op: "<", right: 100}
    if: [register]
    else: [never]
  never:
    kind: python
    callable: include/kinds_setup.py:setup
  register:
    kind: register_model
    from: train
    group: kinds-knn
    description: "KNN, train accuracy ${tasks.train.metrics.train:accuracy}"
    approval: Approved
  registered_model:
    kind: model
    model_package: register
  delete_registered_model:
    kind: delete_model
    model: registered_model
    teardown: true
  process:
    kind: processing
    depends_on: [data_prep]
    image: 257758044811.dkr.ecr.us-east-2.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3
    command: [python3, -c, "import shutil, sys; shutil.copy(sys.argv[1] + '/train.csv', sys.argv[2])"]
    arguments: [/opt/ml/processing/input/raw, /opt/ml/processing/output/copy]
    inputs: {raw: "${s3.data}/train.csv"}
    outputs: {copy: "${s3.out}/copy"}
    wait_for_completion: false
  watch_process:
    kind: processing_sensor
    job: process
  autopilot:
    kind: automl
    depends_on: [setup]
    input: ${s3.data}/automl/iris.csv
    target: species
    max_candidates: 2
    wait_for_completion: false
  watch_autopilot:
    kind: automl_sensor
    job: autopilot
  run_quick:
    kind: start_pipeline
    depends_on: [setup]
    pipeline_name: kinds-quick
    parameters: {Seconds: 1}
    wait_for_completion: false
  watch_quick:
    kind: pipeline_sensor
    execution: run_quick
  run_slow:
    kind: start_pipeline
    depends_on: [setup]
    pipeline_name: kinds-slow
    wait_for_completion: false
  stop_slow:
    kind: stop_pipeline
    execution: run_slow
  notebook:
    kind: notebook
    instance_name: kinds-notebook
  stop_notebook:
    kind: stop_notebook
    notebook: notebook
  start_notebook:
    kind: start_notebook
    notebook: notebook
    depends_on: [stop_notebook]
  stop_again:
    kind: stop_notebook
    instance_name: kinds-notebook
    depends_on: [start_notebook]
  delete_notebook:
    kind: delete_notebook
    notebook: notebook
    depends_on: [stop_again]
"""


@pytest.fixture(scope="module")
def kinds_run(run_pipeline, tmp_path_factory):
    folder = tmp_path_factory.mktemp("kinds")
    include = folder / "include"
    shutil.copytree(CHECKOUT_ROOT / "include", include)
    (include / "kinds_setup.py").write_text(SETUP)
    pipelines = folder / "pipelines"
    pipelines.mkdir()
    (pipelines / "every_new_kind.yaml").write_text(PIPELINE)
    env = {"SAGEMAKER_PIPELINES_DIR": str(pipelines), "SAGEMAKER_INCLUDE_DIR": str(include)}
    return run_pipeline("every_new_kind", extra_env=env)


def test_every_task_ran_through_its_provider_operator(kinds_run):
    states = {t["task_id"]: t["state"] for t in kinds_run.report["tasks"]}
    assert kinds_run.returncode == 0, kinds_run.output[-6000:]
    assert states.pop("never") == "skipped"  # the gate's else branch
    assert set(states.values()) == {"success"}, states
    operators = {t["task_id"]: t["operator"] for t in kinds_run.report["tasks"]}
    assert operators["gate"] == "SageMakerConditionOperator"
    (gate,) = kinds_run.report["gates"]
    assert gate["branch"] == "if" and "Gate gate passed (" in kinds_run.output
    assert operators["watch_autopilot"] == "SageMakerAutoMLSensor"
    assert operators["stop_slow"] == "SageMakerStopPipelineOperator"


def test_the_registry_holds_the_approved_version_and_its_model_was_cleaned_up(kinds_run, sagemaker):
    packages = sagemaker.list_model_packages(ModelPackageGroupName="kinds-knn")["ModelPackageSummaryList"]
    assert len(packages) == 1 and packages[0]["ModelApprovalStatus"] == "Approved"
    version = sagemaker.describe_model_package(ModelPackageName=packages[0]["ModelPackageArn"])
    assert version["ModelPackageDescription"].startswith("KNN, train accuracy 0.9")  # a rendered metric
    url = version["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    assert url.startswith(f"s3://{BUCKET}/kinds/out/models/every-new-kind-train-")
    assert url.endswith("/output/model.tar.gz")
    models = [m["ModelName"] for m in sagemaker.list_models()["Models"]]
    assert not any("registered-model" in m for m in models)  # the teardown deleted it


def test_the_training_job_joined_the_runs_experiment(kinds_run, sagemaker):
    jobs = sagemaker.list_training_jobs(NameContains="every-new-kind-train")["TrainingJobSummaries"]
    job = sagemaker.describe_training_job(TrainingJobName=jobs[0]["TrainingJobName"])
    name = job["ExperimentConfig"]["ExperimentName"]
    assert name.startswith("kinds-")
    assert sagemaker.describe_experiment(ExperimentName=name)["ExperimentName"] == name


def test_automl_and_pipeline_executions_ended_as_asked(kinds_run, sagemaker):
    candidates = [o["uri"] for o in kinds_run.report["s3_objects"] if "/candidates/" in o["uri"]]
    assert len(candidates) == 2 and all(c.endswith("/model.tar.gz") for c in candidates)  # max_candidates
    job = candidates[0].split("/")[5]  # s3://<bucket>/<dag_id>/<task_id>/<job>/candidates/...
    described = sagemaker.describe_auto_ml_job(AutoMLJobName=job)
    assert described["AutoMLJobStatus"] == "Completed"
    assert described["BestCandidate"]["FinalAutoMLJobObjectiveMetric"]["Value"] >= 0.9
    for pipeline, status in (("kinds-quick", "Succeeded"), ("kinds-slow", "Stopped")):
        executions = sagemaker.list_pipeline_executions(PipelineName=pipeline)["PipelineExecutionSummaries"]
        assert [e["PipelineExecutionStatus"] for e in executions] == [status], pipeline


def test_the_notebook_instance_is_gone(kinds_run, sagemaker):
    with pytest.raises(ClientError):
        sagemaker.describe_notebook_instance(NotebookInstanceName="kinds-notebook")
