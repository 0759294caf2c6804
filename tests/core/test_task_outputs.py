"""``${tasks.<id>.<output>}``: another task's output as a Jinja template over its XCom - checked (the task
exists, has the output, is an upstream), allowed where the operator renders, refused elsewhere."""

from __future__ import annotations

import datetime as dt

import pytest

from sagemaker_pipelines.compile.kinds import KINDS
from tests.pipeline_texts import PREPARE_AND_TRAIN
from tests.templating import run_context

# What the provider's operators return (their XCom), trimmed to the fields the outputs read.
XCOM = {
    "train": {
        "Training": {
            "TrainingJobName": "train-20240101T000000-1",
            "ModelArtifacts": {"S3ModelArtifacts": "s3://b/models/train-1/output/model.tar.gz"},
            "FinalMetricDataList": [
                {"MetricName": "test:accuracy", "Value": 0.97},
                {"MetricName": "train:loss", "Value": 0.1},
            ],
        }
    },
    "tune": {
        "Tuning": {
            "HyperParameterTuningJobName": "tune-1",
            "BestTrainingJob": {
                "TrainingJobName": "tune-1-003-abc",
                "FinalHyperParameterTuningJobObjectiveMetric": {"Value": 0.99},
            },
        }
    },
    "model": {"Model": {"ModelName": "iris-model-1", "ModelArn": "arn:aws:sagemaker:r:1:model/iris-model-1"}},
    "score": {
        "Transform": {"TransformJobName": "score-1", "TransformOutput": {"S3OutputPath": "s3://b/out"}}
    },
    "evaluate": {
        "Processing": {
            "ProcessingJobName": "evaluate-1",
            "ProcessingOutputConfig": {
                "Outputs": [{"OutputName": "evaluation", "S3Output": {"S3Uri": "s3://b/evaluation"}}]
            },
        },
        "OutputFiles": {"evaluation": {"accuracy": 0.95, "per_class": {"setosa": 1.0}}},
    },
    "serve_config": {"EndpointConfig": {"EndpointConfigName": "serve-config-1"}},
    "serve": {"Endpoint": {"EndpointName": "iris", "EndpointArn": "arn:aws:sagemaker:r:1:endpoint/iris"}},
    "prepare": {"rows": 150, "path": "s3://b/prepared"},
}

PRODUCERS = (
    PREPARE_AND_TRAIN
    + """\
  tune:
    kind: tuning
    algorithm: knn
    output: s3://my-bucket/tuning/
    inputs: {train: "s3://my-bucket/iris/train.csv"}
    objective: {metric: "test:accuracy"}
    ranges: {k: {type: integer, min: 1, max: 9}}
  model:
    kind: model
    from: train
  score:
    kind: transform
    model: model
    input: s3://my-bucket/in/
    output: s3://my-bucket/out/
  evaluate:
    kind: processing
    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/eval:1
    command: [python3, /opt/program/evaluate.py]
    outputs: {evaluation: "s3://my-bucket/evaluation/"}
    reports: {evaluation: {output: evaluation, file: evaluation.json}}
  serve_config:
    kind: endpoint_config
    model: model
  serve:
    kind: endpoint
    endpoint_config: serve_config
"""
)

# (reference, what it renders to with the XCom above)
OUTPUTS = [
    ("${tasks.train.job_name}", "train-20240101T000000-1"),
    ("${tasks.train.model_artifacts}", "s3://b/models/train-1/output/model.tar.gz"),
    ("${tasks.train.metrics.test:accuracy}", "0.97"),
    ("${tasks.tune.job_name}", "tune-1"),
    ("${tasks.tune.best_training_job}", "tune-1-003-abc"),
    ("${tasks.tune.best_model_artifacts}", "s3://my-bucket/tuning/tune-1-003-abc/output/model.tar.gz"),
    ("${tasks.tune.best_objective}", "0.99"),
    ("${tasks.model.name}", "iris-model-1"),
    ("${tasks.model.arn}", "arn:aws:sagemaker:r:1:model/iris-model-1"),
    ("${tasks.score.job_name}", "score-1"),
    ("${tasks.score.output}", "s3://b/out"),
    ("${tasks.evaluate.job_name}", "evaluate-1"),
    ("${tasks.evaluate.outputs.evaluation}", "s3://b/evaluation"),
    ("${tasks.evaluate.reports.evaluation.accuracy}", "0.95"),
    ("${tasks.evaluate.reports.evaluation.per_class.setosa}", "1.0"),
    ("${tasks.serve_config.name}", "serve-config-1"),
    ("${tasks.serve.name}", "iris"),
    ("${tasks.serve.arn}", "arn:aws:sagemaker:r:1:endpoint/iris"),
    ("${tasks.prepare.result.rows}", "150"),
    ("prefix-${tasks.prepare.result.path}/x", "prefix-s3://b/prepared/x"),
]


def render(jinja, text: str) -> str:
    context = run_context(dt.datetime(2024, 1, 1, tzinfo=dt.UTC), xcom=XCOM, params={})
    return jinja.from_string(text).render(**context)


def consumer(reference: str, field: str = "arguments", extra: str = "") -> str:
    value = {"arguments": "{value: '%s'}", "environment": "{VALUE: '%s'}"}[field] % reference
    use = "  use:\n    kind: python\n    callable: include/iris_data.py:prepare_iris\n"
    return PRODUCERS + use + f"    {field}: {value}\n{extra}"


@pytest.mark.parametrize(("reference", "rendered"), OUTPUTS, ids=[o[0] for o in OUTPUTS])
def test_each_output_renders_from_the_operators_xcom(compile_ok, jinja, reference, rendered):
    compiled = compile_ok(consumer(reference))
    template = compiled.task("use").kwargs["op_kwargs"]["arguments"]["value"]
    assert "${" not in template and "ti.xcom_pull(task_ids=" in template
    assert render(jinja, template) == rendered
    producer = reference.split(".")[1]
    assert producer in compiled.task("use").depends_on  # the producer became an upstream


def test_every_output_of_every_kind_is_covered():
    covered = {(r.split(".")[1], r.split(".")[2].rstrip("}")) for r, _ in OUTPUTS}
    kind_of = {"prepare": "python", "train": "training", "tune": "tuning", "model": "model"}
    kind_of |= {"score": "transform", "evaluate": "processing", "serve_config": "endpoint_config"}
    kind_of |= {"serve": "endpoint"}
    by_kind = {(kind_of[t], o) for t, o in covered}
    existing = {"python", "training", "tuning", "model", "transform", "processing", "endpoint_config"}
    existing |= {"endpoint"}
    expected = {(k, o) for k in existing for o in KINDS[k].outputs}
    assert expected <= by_kind


def test_outputs_work_in_job_fields_the_schema_types_strictly(compile_ok, jinja):
    compiled = compile_ok(
        PRODUCERS
        + """\
  retrain:
    kind: training
    image: ${tasks.prepare.result.image}
    instance_type: ${tasks.prepare.result.instance_type}
    instance_count: ${tasks.prepare.result.count}
    max_runtime: ${tasks.prepare.result.seconds}
    hyperparameters: {k: "${tasks.tune.best_objective}"}
    inputs: {train: "${tasks.score.output}"}
    output: s3://my-bucket/retrain/
  deploy_best:
    kind: model
    image: ${tasks.prepare.result.image}
    model_data: ${tasks.tune.best_model_artifacts}
"""
    )
    config = compiled.task("retrain").kwargs["config"]
    assert config["ResourceConfig"]["InstanceType"].endswith("['instance_type'] }}")
    assert config["ResourceConfig"]["InstanceCount"].startswith("{{ ti.xcom_pull(task_ids='prepare')")
    assert config["StoppingCondition"]["MaxRuntimeInSeconds"].endswith("['seconds'] }}")
    assert set(compiled.task("retrain").depends_on) == {"prepare", "tune", "score"}
    model = compiled.task("deploy_best").kwargs["config"]["PrimaryContainer"]
    assert render(jinja, model["ModelDataUrl"]) == "s3://my-bucket/tuning/tune-1-003-abc/output/model.tar.gz"


@pytest.mark.parametrize(
    ("reference", "message", "hint"),
    [
        ("${tasks.trian.job_name}", "names unknown task 'trian'", "did you mean 'train'?"),
        ("${tasks.train.jobname}", "'train' is a training task, which has no output 'jobname'", "job_name"),
        ("${tasks.train.weights}", "no output 'weights'", "outputs of a training task: job_name, model"),
        ("${tasks.train.metrics}", "'metrics' needs a key", "${tasks.train.metrics.<name>}"),
        ("${tasks.train.job_name.x}", "'job_name' takes no key", ""),
        ("${tasks.evaluate.outputs.evaluaton}", "'evaluate' declares no outputs 'evaluaton'", "evaluation"),
        ("${tasks.evaluate.reports.metrics.x}", "declares no reports 'metrics'", "declared: evaluation"),
        ("${tasks.serve.endpoint}", "no output 'endpoint'", "outputs of an endpoint task: name, arn"),
        ("${tasks.train}", "write ${tasks.<task id>.<output>}", ""),
        ("${tasks.use.result}", "a task cannot use its own output", ""),
    ],
)
def test_bad_task_references_are_located_problems(check, reference, message, hint):
    result = check(consumer(reference))
    assert len(result.problems) == 1, [p.format() for p in result.problems]
    problem = result.problems[0]
    assert problem.field == "tasks.use.arguments.value" and problem.code == "reference"
    assert problem.line == PRODUCERS.count("\n") + 4
    assert message in problem.message, problem.message
    assert hint in problem.hint, problem.hint


@pytest.mark.parametrize(
    ("task", "field", "message"),
    [
        (
            "  later:\n    kind: python\n    callable: include/iris_data.py:prepare_iris\n"
            "    depends_on: ['${tasks.train.job_name}']\n",
            "tasks.later.depends_on[0]",
            "read when the DAG is built",
        ),
        (
            "  later:\n    kind: model\n    from: ${tasks.train.job_name}\n",
            "tasks.later.from",
            "when the DAG is built",
        ),
        (
            "  later:\n    kind: transform\n    model_name: m\n    input: s3://my-bucket/in/\n"
            "    output: s3://my-bucket/out/\n    check_interval: ${tasks.prepare.result.seconds}\n",
            "tasks.later.check_interval",
            "SageMakerTransformOperator does not render this field",
        ),
        (
            "  later:\n    kind: training\n    algorithm: ${tasks.prepare.result.algorithm}\n"
            "    inputs: {train: 's3://my-bucket/x'}\n",
            "tasks.later.algorithm",
            "needed when the DAG is built",
        ),
        (
            "  later:\n    kind: python\n    callable: include/iris_data.py:prepare_iris\n"
            "    retries: ${tasks.prepare.result.retries}\n",
            "tasks.later.retries",
            "does not render this field",
        ),
    ],
)
def test_task_outputs_only_stand_where_they_are_rendered(check, task, field, message):
    result = check(PRODUCERS + task)
    assert [p.field for p in result.problems] == [field], [p.format() for p in result.problems]
    assert message in result.problems[0].message


def test_outside_tasks_a_task_output_means_nothing(check):
    result = check("description: ${tasks.train.job_name}\n" + PRODUCERS)
    assert [(p.field, p.line) for p in result.problems] == [("description", 1)]
    assert "can only be used in a task's fields" in result.problems[0].message


def test_a_cycle_through_outputs_is_found(check):
    result = check(
        PRODUCERS.replace(
            "  train:\n    kind: training\n", "  train:\n    kind: training\n    depends_on: [use]\n"
        )
        + "  use:\n    kind: python\n    callable: include/iris_data.py:prepare_iris\n"
        + "    arguments: {job: '${tasks.train.job_name}'}\n"
    )
    assert any("dependency cycle" in p.message for p in result.problems), [
        p.format() for p in result.problems
    ]


def test_reports_must_name_one_of_the_outputs(check):
    result = check(PRODUCERS.replace("{output: evaluation, file", "{output: evalution, file"))
    assert [p.field for p in result.problems] == ["tasks.evaluate.reports.evaluation.output"]
    assert "did you mean 'evaluation'?" in result.problems[0].hint


def test_reports_become_the_operators_output_files(compile_ok):
    compiled = compile_ok(PRODUCERS)
    assert compiled.task("evaluate").kwargs["output_files_to_xcom"] == [
        {"output_name": "evaluation", "file_name": "evaluation.json", "result_name": "evaluation"}
    ]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_templated_fields_are_the_operators_own(kind):
    module, _, name = KINDS[kind].operator.rpartition(".")
    operator = getattr(__import__(module, fromlist=[name]), name)
    assert set(KINDS[kind].templated) == set(operator.template_fields)
