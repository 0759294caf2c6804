"""request_check: generated SageMaker requests against botocore's model of the API, offline."""

from __future__ import annotations

import pytest

from sagemaker_pipelines.checker import check_file
from sagemaker_pipelines.compile.request_check import check_compiled, check_request

from .conftest import CORE_DIR, PIPELINES

GOOD_TRAINING = {
    "TrainingJobName": "train-iris-{{ dag_run.run_after | ts_nodash }}-{{ ti.try_number }}",
    "AlgorithmSpecification": {
        "TrainingImage": "404615174143.dkr.ecr.us-east-2.amazonaws.com/knn",
        "TrainingInputMode": "File",
    },
    "RoleArn": "arn:aws:iam::123456789012:role/SageMaker",
    "OutputDataConfig": {"S3OutputPath": "s3://my-bucket/out/"},
    "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
    "StoppingCondition": {"MaxRuntimeInSeconds": 6000},
    "HyperParameters": {"k": "{{ params.k }}"},
}


def test_a_good_request_passes():
    assert check_request("CreateTrainingJob", GOOD_TRAINING) == []


def test_a_single_mistake_is_reported():
    # Regression: botocore's report has no header line; skipping its first line hid the only error.
    messages = check_request("CreateTrainingJob", {**GOOD_TRAINING, "TrainingJobNam": "x"})
    assert len(messages) == 1
    assert messages[0].message.startswith(
        'Unknown parameter in input: "TrainingJobNam", must be one of: TrainingJobName'
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"ResourceConfig": {"InstanceCount": "two", "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}},
            "Invalid type for parameter ResourceConfig.InstanceCount, value: two",
        ),
        ({"RoleArn": None}, "Invalid type for parameter RoleArn"),
        (
            {"StoppingCondition": {"MaxRuntimeInSeconds": 0}},
            "Invalid value for parameter StoppingCondition.MaxRuntimeInSeconds",
        ),
        ({"OutputDataConfig": {}}, 'Missing required parameter in OutputDataConfig: "S3OutputPath"'),
        ({"TrainingJobName": "x" * 64}, "TrainingJobName: 64 characters, the API allows at most 63"),
        ({"TrainingJobName": "bad_name"}, "TrainingJobName: 'bad_name' does not match the API's pattern"),
        (
            {"OutputDataConfig": {"S3OutputPath": "http://x"}},
            "OutputDataConfig.S3OutputPath: 'http://x' does not match",
        ),
        (
            {"AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "Stream"}},
            "AlgorithmSpecification.TrainingInputMode: 'Stream' is not one of Pipe, File, FastFile",
        ),
        (
            {"ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.larg", "VolumeSizeInGB": 1}},
            "ResourceConfig.InstanceType: 'ml.m5.larg' is not one of",
        ),
    ],
)
def test_bad_requests_are_caught(change, expected):
    messages = check_request("CreateTrainingJob", {**GOOD_TRAINING, **change})
    assert any(expected in m.message for m in messages), messages


def test_missing_required_members_are_caught():
    messages = check_request("CreateTransformJob", {"TransformJobName": "x"})
    for member in ("ModelName", "TransformInput", "TransformOutput", "TransformResources"):
        assert f'Missing required parameter in input: "{member}"' in [m.message for m in messages]


def test_templates_are_sampled_with_the_type_the_api_wants():
    # An integer field holding a template is checked as an integer, a text field as text, and a try
    # number is short - so a tuning job's name with the run suffix fits SageMaker's 32 characters.
    config = {
        **GOOD_TRAINING,
        "ResourceConfig": {
            "InstanceCount": "{{ params.n }}",
            "InstanceType": "ml.m5.large",
            "VolumeSizeInGB": 1,
        },
        "EnableNetworkIsolation": "{{ params.isolate }}",
        "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "{{ params.mode }}"},
    }
    assert check_request("CreateTrainingJob", config) == []
    tuning = {
        "HyperParameterTuningJobName": "tune-xgb-abc-{{ dag_run.run_after | ts_nodash }}-{{ ti.try_number }}",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "ResourceLimits": {"MaxParallelTrainingJobs": 1},
        },
    }
    assert check_request("CreateHyperParameterTuningJob", tuning) == []


def test_operator_only_fields_are_not_sent():
    upload = {"S3Upload": [{"Path": "/x", "Bucket": "b", "Key": "k", "Tar": True}]}
    assert check_request("CreateTrainingJob", {**GOOD_TRAINING, "S3Operations": upload}) == []


@pytest.mark.parametrize(
    ("change", "path", "valid"),
    [
        ({"TrainingJobNam": "x"}, ("TrainingJobNam",), "TrainingJobName"),
        (
            {
                "ResourceConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 1,
                    "Foo": 1,
                }
            },
            ("ResourceConfig", "Foo"),
            "InstanceCount",
        ),
        (
            {"ResourceConfig": {"InstanceCount": "two", "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}},
            ("ResourceConfig", "InstanceCount"),
            None,
        ),
        ({"RoleArn": None}, ("RoleArn",), None),
        ({"OutputDataConfig": {}}, ("OutputDataConfig",), None),  # a missing member: at its parent
        (
            {"InputDataConfig": [{"ChannelName": "a b", "DataSource": {"S3DataSource": {}}}]},
            ("InputDataConfig", 0, "DataSource", "S3DataSource"),
            None,
        ),
        (
            {"InputDataConfig": [{"ChannelName": "a b", "DataSource": {}}]},
            ("InputDataConfig", 0, "ChannelName"),
            None,
        ),
    ],
)
def test_a_problem_names_the_member_it_is_about_as_data(change, path, valid):
    """botocore's own records, not its text parsed back: the member as keys and indexes, and for an unknown
    member the names the API allows there (the reporter's did-you-mean)."""
    problems = check_request("CreateTrainingJob", {**GOOD_TRAINING, **change})
    assert path in [p.path for p in problems], [(p.path, p.message) for p in problems]
    if valid:
        assert valid in next(p for p in problems if p.path == path).valid_names


@pytest.mark.parametrize("environment", ["local", "aws"])
@pytest.mark.parametrize(
    "path",
    [*sorted(PIPELINES.glob("*.yaml")), CORE_DIR / "good_inputs" / "every_kind.yaml"],
    ids=lambda p: p.name,
)
def test_every_generated_request_of_the_good_pipelines_passes(path, environment, request):
    env = request.getfixturevalue(f"{environment}_env")
    result = check_file(path, env)
    assert result.problems == [], [p.format() for p in result.problems]
    assert check_compiled(result.compiled) == {}


def test_request_problems_point_at_the_config_entry_or_else_the_task(check):
    result = check(
        """\
        start_date: 2024-01-01
        tasks:
          train:
            kind: training
            algorithm: knn
            inputs: {train: "s3://my-bucket/iris/train.csv"}
            config:
              ResourceConfig:
                InstanceType: ml.m5.larg
              InputDataConfig:
                - ChannelName: "bad name"
                  DataSource: {S3DataSource: {S3DataType: S3Prefix, S3Uri: "s3://my-bucket/x"}}
              StoppingCondition: {MaxRuntimeInSeconds: 0}
        """
    )
    found = {p.field: p for p in result.problems}
    assert set(found) == {
        "tasks.train.config.ResourceConfig.InstanceType",
        "tasks.train.config.InputDataConfig[0].ChannelName",
        "tasks.train.config.StoppingCondition.MaxRuntimeInSeconds",
    }, [p.format() for p in result.problems]
    instance_type = found["tasks.train.config.ResourceConfig.InstanceType"]
    assert (instance_type.line, instance_type.column) == (9, 9)
    assert "'ml.m5.larg' is not one of" in instance_type.message
    assert all(
        p.code == "request" and p.message.startswith("CreateTrainingJob request: ") for p in result.problems
    )


def test_a_problem_in_a_generated_field_is_located_at_the_task(check):
    # The tuning name budget is the schema's job; a config override of a generated name is the request's.
    result = check(
        """\
        start_date: 2024-01-01
        tasks:
          score:
            kind: transform
            model_name: my-model
            input: s3://my-bucket/in/
            output: s3://my-bucket/out/
            config: {ModelName: "not a name"}
        """
    )
    assert [(p.line, p.field) for p in result.problems] == [(8, "tasks.score.config.ModelName")]
    assert "does not match the API's pattern" in result.problems[0].message


def test_a_whole_value_known_at_run_time_is_not_judged_as_a_timestamp(check):
    # A role or a name given whole by a run param has a form only the run knows: no sample
    # value fits every pattern, so only its type is checked (the guardrails judge the rendered request).
    result = check(
        """\
        start_date: 2024-01-01
        params:
          role_arn: {type: string, default: "arn:aws:iam::123456789012:role/sagemaker-local"}
        role_arn: ${params.role_arn}
        tasks:
          train:
            kind: training
            algorithm: knn
            hyperparameters: {k: 3, sample_size: 100, predictor_type: classifier}
            inputs: {train: "s3://my-bucket/iris/train.csv"}
        """
    )
    assert result.problems == [], [p.format() for p in result.problems]
    embedded = {**GOOD_TRAINING, "TrainingJobName": "x" * 60 + "-{{ ti.try_number }}-{{ ts_nodash }}"}
    assert check_request("CreateTrainingJob", embedded)  # a template inside text is still sampled
