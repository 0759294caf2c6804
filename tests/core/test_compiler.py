"""The compiler's output: SageMaker requests and operator arguments as plain data."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from sagemaker_pipelines.compile.compiled import CompiledPipeline
from sagemaker_pipelines.compile.kinds.context import deep_merge, sanitize_name, stringify
from sagemaker_pipelines.paths import include_dir
from tests.templating import run_context

from .conftest import CORE_DIR

EVERY_KIND = CORE_DIR / "good_inputs" / "every_kind.yaml"
SAGEMAKER_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")

# Where each kind's generated name is, and SageMaker's length limit for it.
NAME_FIELDS = {
    "training": ("TrainingJobName", 63),
    "tuning": ("HyperParameterTuningJobName", 32),
    "processing": ("ProcessingJobName", 63),
    "transform": ("TransformJobName", 63),
    "model": ("ModelName", 63),
    "endpoint_config": ("EndpointConfigName", 63),
    "endpoint": ("EndpointName", 63),
}


def render_name(jinja, template: str, try_number: int = 1) -> str:
    context = run_context(dt.datetime(2021, 7, 31, 23, 59, 59, tzinfo=dt.UTC), try_number)
    return jinja.from_string(template).render(**context)


def training_task(**fields) -> str:
    extra = "".join(f"\n    {k}: {v}" for k, v in fields.items())
    return f"""\
start_date: 2024-01-01
tasks:
  train:
    kind: training
    algorithm: knn
    inputs:
      train: s3://my-bucket/iris/train.csv{extra}
"""


def test_hyperparameters_are_stringified(compile_ok):
    text = training_task(
        hyperparameters="{k: 3, ratio: 0.25, big: 1.5e3, lr: 1e-4, flag: true, off: false, text: abc, n: '7'}"
    )
    # XGBoost's names are not checked (compile/hyperparameters.py): any name shows the stringification
    compiled = compile_ok(text.replace("algorithm: knn", "algorithm: xgboost"))
    assert compiled.task("train").kwargs["config"]["HyperParameters"] == {
        "k": "3",
        "ratio": "0.25",
        "big": "1500.0",
        "lr": "0.0001",
        "flag": "true",
        "off": "false",
        "text": "abc",
        "n": "7",
    }
    assert stringify(True) == "true" and stringify(0) == "0"


def test_a_run_parameter_becomes_a_template_rendered_per_run(compile_ok, jinja):
    compiled = compile_ok(
        """\
        start_date: 2024-01-01
        params:
          k: {type: integer, default: 3}
        tasks:
          train:
            kind: training
            algorithm: knn
            hyperparameters: {k: "${params.k}", sample_size: 150, predictor_type: classifier}
            inputs: {train: "s3://my-bucket/iris/train.csv"}
        """
    )
    assert compiled.dag["params"] == {"k": {"type": "integer", "default": 3}}
    value = compiled.task("train").kwargs["config"]["HyperParameters"]["k"]
    assert value == "{{ params.k }}"
    assert jinja.from_string(value).render(params={"k": 7}) == "7"


@pytest.mark.parametrize(
    ("dag_id", "task_prefix"),
    [
        ("x" * 200, "t" * 180),
        ("very.long_dag.id-" * 11, "___task___" * 18),
        ("a" * 42 + "_" + "b" * 30, "c"),  # a cut right after the separator must not leave a '-'
        ("iris", "t"),
    ],
)
@pytest.mark.parametrize("try_number", [1, 999])
def test_generated_names_fit_sagemaker_for_any_dag_and_task_ids(
    compile_ok, jinja, dag_id, task_prefix, try_number
):
    compiled = compile_ok(job_pipeline(dag_id, task_prefix))
    seen = set()
    for task in compiled.tasks:
        if task.kind not in NAME_FIELDS or task.kind == "endpoint":
            continue
        field, limit = NAME_FIELDS[task.kind]
        name = render_name(jinja, task.kwargs["config"][field], try_number)
        assert SAGEMAKER_NAME.fullmatch(name), (task.task_id, name)
        assert len(name) <= limit, (task.task_id, name)
        assert name.endswith(f"-20210731T235959-{try_number}")
        seen.add(task.kind)
    assert seen == set(NAME_FIELDS) - {"endpoint"}


def test_the_default_endpoint_name_fits_sagemaker_for_any_dag_id(check):
    result = check(job_pipeline("a" * 62 + "_" + "b" * 10, "t"))
    assert result.problems == [], [p.format() for p in result.problems]


def test_given_names_keep_their_base_and_get_the_run_suffix(compile_ok, jinja):
    compiled = compile_ok(training_task(name="Train-Iris-2"))
    name = render_name(jinja, compiled.task("train").kwargs["config"]["TrainingJobName"], 3)
    assert name == "Train-Iris-2-20210731T235959-3"


def test_default_names_are_dag_and_task_ids_sanitised():
    assert sanitize_name("iris_training-train_model") == "iris-training-train-model"
    assert sanitize_name("a..b__c--d") == "a-b-c-d"
    assert sanitize_name("___") == "job"


def job_pipeline(dag_id: str, task_prefix: str) -> str:
    t = task_prefix
    return f"""\
dag_id: {dag_id}
start_date: 2024-01-01
tasks:
  {t}_train:
    kind: training
    algorithm: knn
    inputs: {{train: "s3://my-bucket/iris/train.csv"}}
  {t}_tune:
    kind: tuning
    algorithm: knn
    inputs: {{train: "s3://my-bucket/iris/train.csv"}}
    objective: {{metric: "test:accuracy"}}
    ranges: {{k: {{type: integer, min: 1, max: 9}}}}
  {t}_process:
    kind: processing
    image: 123456789012.dkr.ecr.us-east-2.amazonaws.com/prep:1
    command: [python3, /opt/program/prep.py]
  {t}_model:
    kind: model
    from: {t}_train
  {t}_score:
    kind: transform
    model: {t}_model
    input: s3://my-bucket/iris/test.csv
    output: s3://my-bucket/out/
  {t}_config:
    kind: endpoint_config
    model: {t}_model
  {t}_endpoint:
    kind: endpoint
    endpoint_config: {t}_config
"""


def test_config_escape_hatch_deep_merges(compile_ok):
    compiled = compile_ok(
        training_task(
            config="{ResourceConfig: {VolumeSizeInGB: 100, KeepAlivePeriodInSeconds: 60}, "
            "StoppingCondition: {MaxRuntimeInSeconds: 10}, RetryStrategy: {MaximumRetryAttempts: 2}, "
            "InputDataConfig: [{ChannelName: only, DataSource: {S3DataSource: "
            "{S3DataType: S3Prefix, S3Uri: 's3://my-bucket/x'}}}]}"
        )
    )
    config = compiled.task("train").kwargs["config"]
    assert config["ResourceConfig"] == {
        "InstanceCount": 1,
        "InstanceType": "ml.m5.large",  # generated, kept
        "VolumeSizeInGB": 100,  # overridden
        "KeepAlivePeriodInSeconds": 60,  # added
    }
    assert config["StoppingCondition"] == {"MaxRuntimeInSeconds": 10}
    assert config["RetryStrategy"] == {"MaximumRetryAttempts": 2}  # added
    # a channel of a new name is added after the generated one (lists of named items merge by name)
    assert [c["ChannelName"] for c in config["InputDataConfig"]] == ["train", "only"]


def test_config_merges_named_items_by_name_and_replaces_other_lists(compile_ok):
    compiled = compile_ok(
        """\
        start_date: 2024-01-01
        tasks:
          prep:
            kind: processing
            image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1
            command: [python3, /opt/program/prep.py]
            arguments: [--fraction, "0.3"]
            inputs: {raw: "s3://my-bucket/raw/", lookup: "s3://my-bucket/lookup/"}
            outputs: {clean: "s3://my-bucket/clean/"}
            config:
              ProcessingInputs:
                - {InputName: lookup, S3Input: {S3DataDistributionType: ShardedByS3Key}}
              ProcessingOutputConfig:
                Outputs: [{OutputName: clean, S3Output: {S3UploadMode: Continuous}}]
              AppSpecification: {ContainerArguments: [--fraction, "0.5"]}
          train:
            kind: training
            algorithm: knn
            inputs: {train: "s3://my-bucket/iris/train.csv"}
            config:
              InputDataConfig: [{ChannelName: train, InputMode: Pipe}]
          model:
            kind: model
            from: train
          serve:
            kind: endpoint_config
            model: model
            config:
              ProductionVariants: [{VariantName: AllTraffic, InitialInstanceCount: 2}]
        """
    )
    inputs = compiled.task("prep").kwargs["config"]["ProcessingInputs"]
    assert [i["InputName"] for i in inputs] == ["raw", "lookup"]
    assert inputs[1]["S3Input"] == {
        "S3Uri": "s3://my-bucket/lookup/",
        "LocalPath": "/opt/ml/processing/input/lookup",
        "S3DataType": "S3Prefix",
        "S3InputMode": "File",
        "S3DataDistributionType": "ShardedByS3Key",  # the one field added, not the whole list repeated
    }
    assert "S3DataDistributionType" not in inputs[0]["S3Input"]
    output = compiled.task("prep").kwargs["config"]["ProcessingOutputConfig"]["Outputs"][0]
    assert output["S3Output"]["S3UploadMode"] == "Continuous" and output["S3Output"]["S3Uri"]
    app = compiled.task("prep").kwargs["config"]["AppSpecification"]
    assert app["ContainerArguments"] == ["--fraction", "0.5"]  # a list of plain values: replaced
    channel = compiled.task("train").kwargs["config"]["InputDataConfig"]
    assert len(channel) == 1 and channel[0]["InputMode"] == "Pipe"
    assert channel[0]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://my-bucket/iris/train.csv"
    variant = compiled.task("serve").kwargs["config"]["ProductionVariants"]
    assert len(variant) == 1 and variant[0]["InitialInstanceCount"] == 2
    assert variant[0]["InstanceType"] == "ml.m5.large"


def test_deep_merge_of_named_lists_keeps_order_and_inputs():
    base = {"L": [{"Name": "a", "v": 1}, {"Name": "b", "v": 2}]}
    override = {"L": [{"Name": "b", "w": 3}, {"Name": "c"}]}
    assert deep_merge(base, override) == {
        "L": [{"Name": "a", "v": 1}, {"Name": "b", "v": 2, "w": 3}, {"Name": "c"}]
    }
    assert base == {"L": [{"Name": "a", "v": 1}, {"Name": "b", "v": 2}]}
    # items named by different keys, or not all named: the override's list wins whole
    assert deep_merge({"L": [{"Name": "a"}]}, {"L": [{"Key": "x"}]}) == {"L": [{"Key": "x"}]}
    assert deep_merge({"L": [1, 2]}, {"L": [3]}) == {"L": [3]}


def test_training_without_inputs_sends_no_input_data_config(compile_ok):
    compiled = compile_ok(
        """\
        start_date: 2024-01-01
        tasks:
          train:
            kind: training
            image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/synthetic:1
          tune:
            kind: tuning
            image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/synthetic:1
            objective: {metric: loss, type: Minimize}
            ranges: {lr: {type: continuous, min: 0.001, max: 0.1}}
        """
    )
    assert "InputDataConfig" not in compiled.task("train").kwargs["config"]
    assert "InputDataConfig" not in compiled.task("tune").kwargs["config"]["TrainingJobDefinition"]


def test_builtin_algorithm_images_carry_the_sdk_tag(compile_ok):
    compiled = compile_ok(training_task())
    image = compiled.task("train").kwargs["config"]["AlgorithmSpecification"]["TrainingImage"]
    assert image == "404615174143.dkr.ecr.us-east-2.amazonaws.com/knn:1"


def test_deep_merge_does_not_change_its_inputs():
    base = {"a": {"b": 1, "c": [1]}}
    override = {"a": {"b": 2}}
    assert deep_merge(base, override) == {"a": {"b": 2, "c": [1]}}
    assert base == {"a": {"b": 1, "c": [1]}}


def test_script_mode_uploads_the_source_and_names_the_program(compile_ok, jinja):
    compiled = compile_ok(
        """\
        start_date: 2024-01-01
        tasks:
          train:
            kind: training
            entry_point: include/iris_sklearn/train.py
            framework: sklearn
            hyperparameters: {n_neighbors: 5, weights: distance}
            inputs: {train: "s3://my-bucket/iris/train.csv"}
          create_model:
            kind: model
            from: train
        """,
        name="script",
    )
    config = compiled.task("train").kwargs["config"]
    hp = config["HyperParameters"]
    stamp = "{{ dag_run.run_after | ts_nodash }}"
    submit = f"s3://sagemaker-local/script/code/{stamp}/train/sourcedir.tar.gz"
    assert hp["sagemaker_program"] == '"train.py"'
    assert hp["sagemaker_submit_directory"] == json.dumps(submit)
    assert hp["sagemaker_region"] == '"us-east-2"'
    assert hp["n_neighbors"] == "5" and hp["weights"] == '"distance"'  # JSON-encoded, as the SDK does
    assert config["S3Operations"] == {
        "S3Upload": [
            {
                "Path": str(include_dir() / "iris_sklearn"),
                "Bucket": "sagemaker-local",
                "Key": f"script/code/{stamp}/train/sourcedir.tar.gz",
                "Tar": True,
            }
        ]
    }
    assert "sagemaker-scikit-learn:1.2-1-cpu-py3" in config["AlgorithmSpecification"]["TrainingImage"]
    container = compiled.task("create_model").kwargs["config"]["PrimaryContainer"]
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "train.py"
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == submit
    assert "sagemaker-scikit-learn:1.2-1-cpu-py3" in container["Image"]
    assert render_name(jinja, submit).endswith("/code/20210731T235959/train/sourcedir.tar.gz")


def test_a_model_from_tuning_serves_the_best_training_job(compile_ok):
    compiled = compile_ok(EVERY_KIND.read_text(), name="every_kind")
    container = compiled.task("best_model").kwargs["config"]["PrimaryContainer"]
    assert container["ModelDataUrl"] == (
        "s3://sagemaker-local/every_kind/tune/"
        "{{ ti.xcom_pull(task_ids='tune')['Tuning']['BestTrainingJob']['TrainingJobName'] }}"
        "/output/model.tar.gz"
    )
    assert container["Image"].endswith("/sagemaker-xgboost:1.7-1")


def test_a_model_from_training_serves_that_job(compile_ok):
    compiled = compile_ok(
        training_task(output="s3://my-bucket/models/") + "  create_model:\n    kind: model\n    from: train\n"
    )
    assert compiled.task("create_model").kwargs["config"]["PrimaryContainer"]["ModelDataUrl"] == (
        "s3://my-bucket/models/{{ ti.xcom_pull(task_ids='train')['Training']['TrainingJobName'] }}"
        "/output/model.tar.gz"
    )


def test_every_kind_compiles_to_its_operator_with_implied_dependencies(compile_ok, aws_env):
    local = compile_ok(EVERY_KIND.read_text(), name="every_kind")
    operators = {t.task_id: t.operator.rsplit(".", 1)[1] for t in local.tasks}
    assert operators == {
        "prepare": "PythonOperator",
        "upload": "LocalFilesystemToS3Operator",
        "wait_for_data": "S3KeySensor",
        "process": "SageMakerProcessingOperator",
        "train": "SageMakerTrainingOperator",
        "watch_training": "SageMakerTrainingSensor",
        "tune": "SageMakerTuningOperator",
        "watch_tuning": "SageMakerTuningSensor",
        "best_model": "SageMakerModelOperator",
        "score": "SageMakerTransformOperator",
        "watch_scoring": "SageMakerTransformSensor",
        "endpoint_config": "SageMakerEndpointConfigOperator",
        "endpoint": "SageMakerEndpointOperator",
        "endpoint_up": "SageMakerEndpointSensor",
        "load_redshift": "S3ToRedshiftOperator",
        "load_sql": "S3ToSqlOperator",
        "load_warehouse": "S3ToSqlOperator",  # the alias, in the local environment
        "watch_processing": "SageMakerProcessingSensor",
        "experiment": "SageMakerCreateExperimentOperator",
        "gate": "SageMakerConditionOperator",
        "register": "SageMakerRegisterModelVersionOperator",
        "registered_model": "SageMakerModelOperator",
        "retire_model": "SageMakerDeleteModelOperator",
        "delete_registered_model": "SageMakerDeleteModelOperator",
        "autopilot": "SageMakerAutoMLOperator",
        "watch_autopilot": "SageMakerAutoMLSensor",
        "run_pipeline": "SageMakerStartPipelineOperator",
        "watch_pipeline": "SageMakerPipelineSensor",
        "stop_run": "SageMakerStopPipelineOperator",
        "explore": "SageMakerCreateNotebookOperator",
        "pause_explore": "SageMakerStopNotebookOperator",
        "resume_explore": "SageMakerStartNoteBookOperator",
        "stop_explore": "SageMakerStopNotebookOperator",
        "remove_explore": "SageMakerDeleteNotebookOperator",
        "iris_report": "SageMakerNotebookOperator",
        "watch_report": "SageMakerNotebookSensor",
        "create_pipeline": "SageMakerUpsertPipelineOperator",  # the clean-ups and set-ups: the project's
        "delete_pipeline": "SageMakerDeletePipelineOperator",
        "stop_autopilot": "SageMakerStopAutoMLJobOperator",
        "delete_endpoint": "SageMakerDeleteEndpointOperator",
        "delete_endpoint_config": "SageMakerDeleteEndpointConfigOperator",
        "delete_version": "SageMakerDeleteModelPackageOperator",
        "delete_group": "SageMakerDeleteModelPackageGroupOperator",
        "delete_experiment": "SageMakerDeleteExperimentOperator",
        "delete_tuning_experiment": "SageMakerDeleteExperimentOperator",
        "delete_automl_experiment": "SageMakerDeleteExperimentOperator",
        "mark_done": "S3CreateObjectOperator",  # kind: operator, from the environment's allowed_operators
    }
    # the experiments SageMaker makes for a tuning and an AutoML job, named after the job
    assert local.task("delete_tuning_experiment").kwargs["experiment_name"] == (
        "{{ ti.xcom_pull(task_ids='tune')['Tuning']['HyperParameterTuningJobName'] }}-aws-tuning-job"
    )
    automl_job = local.task("stop_autopilot").kwargs["job_name"]
    assert local.task("delete_automl_experiment").kwargs["experiment_name"] == automl_job + "-aws-auto-ml-job"
    assert local.task("delete_automl_experiment").depends_on == ["autopilot"]
    deps = {t.task_id: t.depends_on for t in local.tasks}
    assert deps["best_model"] == ["watch_tuning", "tune"]  # explicit first, then the referenced task
    assert deps["score"] == ["best_model"]
    assert deps["watch_training"] == ["train"]
    assert deps["endpoint"] == ["endpoint_config"]
    assert deps["endpoint_up"] == ["endpoint"]

    aws = compile_ok(EVERY_KIND.read_text(), name="every_kind", environment=aws_env)
    load = aws.task("load_warehouse")
    assert (load.kind, load.operator.rsplit(".", 1)[1]) == ("s3_to_redshift", "S3ToRedshiftOperator")
    assert load.kwargs["redshift_conn_id"] == "redshift_default"
    assert (
        aws.task("train")
        .kwargs["config"]["AlgorithmSpecification"]["TrainingImage"]
        .startswith("257758044811.dkr.ecr.us-east-2.amazonaws.com/")
    )


def test_durations_defaults_and_dag_arguments(compile_ok, aws_env):
    compiled = compile_ok(EVERY_KIND.read_text(), name="every_kind", environment=aws_env)
    dag = compiled.dag
    assert dag["dagrun_timeout"] == 12 * 3600
    assert dag["default_args"] == {
        "owner": "data-science",
        "retries": 2,
        "retry_delay": 300,
        "execution_timeout": 6 * 3600,
    }
    assert dag["tags"] == ["kitchen-sink", "sagemaker"]
    assert dag["start_date"] == "2024-01-01T06:00:00Z" and dag["end_date"] == "2030-12-31"
    assert "every_kind.yaml" in dag["doc_md"] and "kind: tuning" in dag["doc_md"]
    train = compiled.task("train").kwargs["config"]
    assert train["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"  # from defaults:
    assert train["StoppingCondition"]["MaxRuntimeInSeconds"] == 7200  # defaults.max_runtime: 2h
    assert (
        compiled.task("process").kwargs["config"]["ProcessingResources"]["ClusterConfig"]["InstanceType"]
        == "ml.t3.medium"
    )  # the task's own field wins
    sensor = compiled.task("wait_for_data").kwargs
    assert (sensor["timeout"], sensor["poke_interval"]) == (3600, 60)


def test_the_local_environment_shortens_retry_delays(compile_ok):
    compiled = compile_ok(EVERY_KIND.read_text(), name="every_kind")
    assert compiled.dag["default_args"]["retry_delay"] == 2
    assert compiled.task("train").kwargs["check_interval"] == 1


def test_compiled_pipelines_are_plain_json_data(compile_ok):
    compiled = compile_ok(EVERY_KIND.read_text(), name="every_kind")
    data = json.loads(json.dumps(compiled.as_dict()))
    assert CompiledPipeline.from_dict(data) == compiled
