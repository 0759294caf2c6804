"""semantics: what the schema cannot say - the graph, cross-task references, include/ files; and secrets
(format/secrets.py; more in tests/trust/test_secrets.py)."""

from __future__ import annotations

import textwrap

import pytest

from sagemaker_pipelines.checks.semantics import check_semantics
from sagemaker_pipelines.compile.dependencies import dependencies_of
from sagemaker_pipelines.format.secrets import scan
from sagemaker_pipelines.format.yaml_source import load_document

TRAIN = """\
train:
  kind: training
  algorithm: knn
  inputs: {train: "s3://my-bucket/iris/train.csv"}
"""


def pipeline(tasks: str, head: str = "") -> str:
    """A pipeline with ``head`` fields and ``tasks`` (written at any indentation) under ``tasks:``."""
    return "start_date: 2024-01-01\n" + head + "tasks:\n" + textwrap.indent(textwrap.dedent(tasks), "  ")


def semantics(text: str):
    doc = load_document(text, "p.yaml")
    return check_semantics(doc, "p.yaml", doc.data)


def secrets(text: str):
    doc = load_document(text, "p.yaml")
    return scan(doc, "p.yaml") + check_semantics(doc, "p.yaml", doc.data)


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "DB_PASSWORD",
        "api-key",
        "secret",
        "aws_secret_access_key",
        "access_key_id",
        "token",
        "github_token",
        "private_key",
        "credentials",
        "pwd",
    ],
)
def test_secret_looking_keys_are_problems_anywhere(key):
    found = secrets(pipeline(TRAIN, head=f"default_args:\n  owner: me\nmeta:\n  deep:\n    - {{{key}: x}}\n"))
    assert [(p.field, p.code) for p in found] == [(f"meta.deep[0].{key}", "secret")]


@pytest.mark.parametrize(
    "key",
    [
        "max_tokens",
        "tokenizer",
        "token_count",
        "keyword",
        "passwords_policy_doc",
        "api_key_conn_id",
        "password_conn_id",
        "secret_arn",
        "db_secret_ARN",
    ],
)
def test_keys_that_only_look_like_secrets_are_fine(key):
    assert secrets(pipeline(TRAIN, head=f"meta:\n  {key}: x\n")) == []


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("AKIAIOSFODNN7EXAMPLE", "an AWS access key id"),
        ("ASIAIOSFODNN7EXAMPLE", "an AWS access key id"),
        ("id=AKIAIOSFODNN7EXAMPLE;", "an AWS access key id"),
        ("-----BEGIN RSA PRIVATE KEY-----", "a private key"),
        ("xoxb-1234567890-abcdef", "a Slack token"),
        ("ghp_" + "a" * 36, "a GitHub token"),
    ],
)
def test_secret_looking_values_are_problems_at_the_value(value, what):
    found = secrets(pipeline(TRAIN, head=f"meta:\n  note: '{value}'\n"))
    assert [(p.line, p.column, p.field) for p in found] == [(3, 9, "meta.note")]
    assert f"looks like {what}" in found[0].message


def test_secrets_are_reported_even_when_the_schema_fails(check):
    result = check(pipeline(TRAIN + "  unknown_field: 1\n  environment: {API_TOKEN: abc}\n"))
    assert sorted(p.code for p in result.problems) == ["schema", "secret"]


def test_references_make_dependencies_and_count_in_cycles():
    tasks = {
        "train": {"kind": "training", "depends_on": ["score"]},
        "model": {"kind": "model", "from": "train"},
        "score": {"kind": "transform", "model": "model", "depends_on": ["model"]},
    }
    assert dependencies_of("model", tasks["model"], tasks) == ["train"]
    assert dependencies_of("score", tasks["score"], tasks) == ["model"]  # not twice
    found = semantics(
        pipeline(
            """\
              train:
                kind: training
                algorithm: knn
                depends_on: [score]
                inputs: {train: "s3://my-bucket/iris/train.csv"}
              model:
                kind: model
                from: train
              score:
                kind: transform
                model: model
                input: s3://my-bucket/in/
                output: s3://my-bucket/out/
            """
        )
    )
    # Arrows run in execution order: train runs before model, model before score, score before train.
    assert [p.message for p in found] == ["dependency cycle: train -> model -> score -> train"]


def test_a_cycle_is_reported_once_even_with_several():
    found = semantics(
        pipeline(
            """\
              a: {kind: python, callable: "include/iris_data.py:prepare_iris", depends_on: [b]}
              b: {kind: python, callable: "include/iris_data.py:prepare_iris", depends_on: [a]}
              c: {kind: python, callable: "include/iris_data.py:prepare_iris", depends_on: [d]}
              d: {kind: python, callable: "include/iris_data.py:prepare_iris", depends_on: [c]}
            """
        )
    )
    assert [p.message for p in found] == ["dependency cycle: a -> b -> a"]


def test_unknown_and_self_references():
    found = semantics(
        pipeline(
            TRAIN
            + "model: {kind: model, from: trian}\n"
            + "self_model: {kind: model, from: self_model}\n"
            + "sensor: {kind: training_sensor, job: nothing_like_it}\n"
        )
    )
    messages = {p.field: (p.message, p.hint) for p in found}
    assert messages["tasks.model.from"] == ("names unknown task 'trian'", "did you mean 'train'?")
    assert messages["tasks.self_model.from"] == ("a task cannot refer to itself", "")
    assert messages["tasks.sensor.job"][0] == "names unknown task 'nothing_like_it'"
    assert messages["tasks.sensor.job"][1].startswith("tasks: train, model")


@pytest.mark.parametrize(
    ("task", "field", "message"),
    [
        (
            "{kind: training, algorithm: knn, image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/x'}",
            "tasks.t",
            "a training task needs only one of: algorithm, image, entry_point",
        ),
        (
            "{kind: training, algorithm: knn, framework: sklearn}",
            "tasks.t.framework",
            "framework is only used with entry_point",
        ),
        (
            "{kind: model, image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/x'}",
            "tasks.t",
            "a model with an image needs model_data",
        ),
        (
            "{kind: processing, entry_point: include/iris_sklearn/train.py, command: [python3]}",
            "tasks.t.command",
            "command is only used with a custom image",
        ),
        (
            "{kind: endpoint}",
            "tasks.t",
            "an endpoint task needs one of: endpoint_config, endpoint_config_name",
        ),
        (
            "{kind: tuning, algorithm: knn, objective: {metric: m}, ranges: {a: {type: categorical}}}",
            "tasks.t.ranges.a",
            "a categorical range needs values",
        ),
        (
            "{kind: tuning, algorithm: knn, objective: {metric: m}, ranges: {a: {type: continuous, min: 1}}}",
            "tasks.t.ranges.a",
            "a continuous range needs min and max",
        ),
        (
            "{kind: tuning, algorithm: knn, objective: {metric: m}, ranges: {a: {type: integer, max: 1}}}",
            "tasks.t.ranges.a",
            "an integer range needs min and max",
        ),
        (
            "{kind: s3_upload, file: include/nothing.csv, to: 's3://my-bucket/x'}",
            "tasks.t.file",
            "'include/nothing.csv' does not exist",
        ),
        (
            "{kind: training, entry_point: include/nope/train.py, framework: sklearn}",
            "tasks.t.entry_point",
            "'include/nope/train.py' does not exist",
        ),
        (
            "{kind: s3_upload, file: include/../pipelines/iris_training.yaml, to: 's3://my-bucket/x'}",
            "tasks.t.file",
            "is outside include/",
        ),
        ("{kind: python, callable: 'include/data/test.csv.py:f'}", "tasks.t.callable", "does not exist"),
    ],
)
def test_task_rules(task, field, message):
    found = semantics(pipeline(f"t: {task}\n"))
    assert [p.field for p in found] == [field]
    assert message in found[0].message


def test_a_tuning_range_may_use_exponent_notation(check):
    result = check(
        pipeline(
            """\
              tune:
                kind: tuning
                algorithm: xgboost
                inputs: {train: "s3://my-bucket/x"}
                objective: {metric: "validation:auc"}
                ranges:
                  eta: {type: continuous, min: 1e-4, max: 3e-1, scaling: Logarithmic}
            """
        )
    )
    assert result.problems == [], [p.format() for p in result.problems]
    ranges = result.compiled.task("tune").kwargs["config"]["HyperParameterTuningJobConfig"]["ParameterRanges"]
    assert ranges["ContinuousParameterRanges"] == [
        {"Name": "eta", "MinValue": "0.0001", "MaxValue": "0.3", "ScalingType": "Logarithmic"}
    ]


def test_callables_are_read_without_being_imported(tmp_path, monkeypatch):
    (tmp_path / "steps.py").write_text(
        "import does_not_exist\n\ndef run():\n    pass\n\nasync def later():\n    pass\n"
    )
    (tmp_path / "broken.py").write_text("def (:\n")
    monkeypatch.setenv("SAGEMAKER_INCLUDE_DIR", str(tmp_path))
    assert semantics(pipeline("a: {kind: python, callable: 'include/steps.py:run'}\n")) == []
    assert semantics(pipeline("a: {kind: python, callable: 'include/steps.py:later'}\n")) == []
    found = semantics(pipeline("a: {kind: python, callable: 'include/broken.py:run'}\n"))
    assert [(p.message, p.hint) for p in found] == [
        ("'include/broken.py' defines no function 'run'", "functions: none")
    ]


@pytest.mark.parametrize(
    ("head", "field", "message"),
    [
        ("", None, None),
        ("end_date: 2024-01-01\n", None, None),
        ("end_date: 2023-12-31T23:59:59Z\n", "end_date", "end_date is before start_date"),
        ("end_date: 2024-02-30\n", "end_date", "'2024-02-30' is not a real date"),
        ("schedule: '*/5 * * * 1-5'\n", None, None),
        ("schedule: '0 24 * * *'\n", "schedule", "'0 24 * * *' is not a valid cron expression"),
        ("schedule: '0 0 31 2 mon-fri'\n", None, None),
        ("schedule: '0 0 * * 8'\n", "schedule", "is not a valid cron expression"),
        ("schedule: '@daily'\n", None, None),
        ("schedule: none\n", None, None),
        ("schedule: '@continuous'\nmax_active_runs: 1\n", None, None),
        ("schedule: '@continuous'\nmax_active_runs: 2\n", "max_active_runs", "allows max_active_runs 1 only"),
        ("schedule: '@daily'\nmax_active_runs: 2\n", None, None),
    ],
)
def test_dates_and_schedules(head, field, message):
    found = semantics(pipeline(TRAIN, head=head))
    if field is None:
        assert found == []
    else:
        assert [(p.field, p.code) for p in found] == [(field, "semantics")]
        assert message in found[0].message
