"""The secret scanner: key names in any case style, known token formats, random values under weaker
names; over pipelines and environment files; and templates that read connections or Variables."""

from __future__ import annotations

import pytest

from sagemaker_pipelines.checker import check_text
from sagemaker_pipelines.format.environment import load_environment
from sagemaker_pipelines.format.secrets import key_words, scan
from sagemaker_pipelines.format.yaml_source import load_document
from sagemaker_pipelines.paths import CHECKOUT_ROOT
from sagemaker_pipelines.problems import PipelineInvalid

PIPELINE = CHECKOUT_ROOT / "pipelines" / "t.yaml"


def found(key: str, value: str) -> list[tuple[str, str]]:
    doc = load_document(f"meta:\n  {key}: {value}\n", "p.yaml")
    return [(p.field, p.code) for p in scan(doc, "p.yaml")]


def test_key_words_split_every_case_style():
    assert key_words("dbPassword") == ["db", "password"]
    assert key_words("secretAccessKey") == ["secret", "access", "key"]
    assert key_words("AWS_SECRET_ACCESS_KEY") == ["aws", "secret", "access", "key"]
    assert key_words("x-api-key") == ["x", "api", "key"]
    assert key_words("APIToken") == ["api", "token"]


@pytest.mark.parametrize(
    "key",
    [
        "dbPassword", "secretAccessKey", "apiToken", "passphrase", "signingPassphrase", "client-secret",
        "privateKey", "AUTH_TOKEN", "x-api-key", "sessionToken", "adminpassword", "githubToken",
        "Credentials", "bearer", "apikey", "encryption_key", "passwd", "refresh-token",
    ],
)  # fmt: skip
def test_secret_names_in_any_case_style(key):
    assert found(key, "not-a-real-value") == [(f"meta.{key}", "secret")]


@pytest.mark.parametrize(
    "key",
    [
        "max_tokens", "tokenizer", "token_count", "keyword", "password_conn_id", "api_key_conn_id",
        "secret_arn", "DbSecretArn", "kms_key_id", "KmsKeyId", "next_token", "password_length",
        "secret_name", "s3_key", "dest_key", "primary_key", "key", "auth", "token_variable", "secret_uri",
    ],
)  # fmt: skip
def test_names_that_point_to_or_measure_a_secret_are_fine(key):
    assert found(key, "some-ordinary-value") == []


@pytest.mark.parametrize(
    ("key", "value"), [("key", "8Jf2kL9xQ1mZ7pR4vT6w"), ("auth", "Zm9vYmFyYmF6cXV4MTIzNDU2")]
)
def test_weaker_names_with_random_values(key, value):
    assert found(key, value) == [(f"meta.{key}", "secret")]
    assert found(key, "iris/train.csv") == []


SECRETS = {
    "AKIAIOSFODNN7EXAMPLE": "an AWS access key id",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY": "an AWS secret access key",
    "ghp_" + "A1b2" * 9: "a GitHub token",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz": "a GitHub token",
    "glpat-abcdefghij0123456789": "a GitLab token",
    "xoxb-123456789012-abcdefABCDEF": "a Slack token",
    "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX": "a Slack webhook URL",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc": "a Stripe secret key",
    "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI": "a Google API key",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlMTIzNDU2": "a JSON Web Token",
    "'-----BEGIN OPENSSH PRIVATE KEY-----'": "a private key",
    "https://user:password@example.com/x": "a URL with a password",
    "postgresql://analyst:pw@db:5432/warehouse": "a URL with a password",
    "sk-proj-" + "a1B2" * 10: "an OpenAI or Anthropic API key",
    "hf_" + "aBcD" * 9: "a Hugging Face token",
}


@pytest.mark.parametrize("value", sorted(SECRETS))
def test_known_token_formats_under_a_neutral_key(value):
    doc = load_document(f"meta:\n  note: {value}\n", "p.yaml")
    (problem,) = scan(doc, "p.yaml")
    assert (problem.line, problem.column, problem.code) == (2, 9, "secret")
    assert f"looks like {SECRETS[value]}" in problem.message


@pytest.mark.parametrize(
    "value",
    [
        "3f786850e387550fdab836ed7e6dc881de23001b",  # a git SHA: 40 characters, but hex
        "Models/XGBoost2021/TrainingJobs/Run12345",  # 40 base64 characters, but words
        "iris/processed-input-data/train.csv",
        "arn:aws:iam::123456789012:role/SageMakerExecutionRole",
        "https://user@example.com/x",
        "'postgresql://analyst:${env.pw}@db/warehouse'",
        "sagemaker-xgboost-2021-08-03-23-25-30-873",
        "s3://sagemaker-us-east-2-559345414282/iris",
    ],
)
def test_ordinary_values_are_not_secrets(value):
    assert scan(load_document(f"meta:\n  note: {value}\n", "p.yaml"), "p.yaml") == []


def test_the_shipped_pipelines_and_environments_are_clean():
    for path in [
        *(CHECKOUT_ROOT / "pipelines").glob("*.yaml"),
        *(CHECKOUT_ROOT / "environments").glob("*.yaml"),
    ]:
        assert scan(load_document(path.read_text(), path.name), path.name) == [], path


TEMPLATES = ["{{ conn.warehouse.password }}", "{{ var.value.token }}", "{{ var.json.cfg.key }}",
             "x-{{ conn['db'].login }}", "{% if var.value.x %}a{% endif %}", "{{ (conn).db }}"]  # fmt: skip


@pytest.mark.parametrize("template", TEMPLATES)
def test_templates_that_read_connections_or_variables_are_refused(template):
    text = "start_date: 2024-01-01\ntasks:\n  t:\n    kind: python\n"
    text += f'    callable: include/iris_data.py:prepare_iris\n    arguments: {{x: "{template}"}}\n'
    result = check_text(text, PIPELINE, load_environment("local"))
    assert [(p.field, p.code) for p in result.problems] == [("tasks.t.arguments.x", "template")]
    assert "Airflow logs the rendered value" in result.problems[0].message


@pytest.mark.parametrize(
    "template", ["{{ params.var }}", "{{ ds }}", "{{ ti.xcom_pull(task_ids='a') }}", "${params.k}"]
)
def test_other_templates_are_fine(template):
    doc = load_document(f'meta:\n  x: "{template}"\n', "p.yaml")
    assert scan(doc, "p.yaml") == []


def _environments(tmp_path, monkeypatch, extra: str):
    folder = tmp_path / "environments"
    folder.mkdir()
    (folder / "local.yaml").write_text((CHECKOUT_ROOT / "environments" / "local.yaml").read_text() + extra)
    monkeypatch.setenv("SAGEMAKER_ENVIRONMENTS_DIR", str(folder))


def test_an_environment_may_allow_templates(tmp_path, monkeypatch):
    _environments(tmp_path, monkeypatch, "allow_templates: [var]\n")
    env = load_environment("local")
    assert env.allow_templates == ("var",)
    doc = load_document('meta:\n  a: "{{ var.value.x }}"\n  b: "{{ conn.db.password }}"\n', "p.yaml")
    assert [p.field for p in scan(doc, "p.yaml", allow_templates=env.allow_templates)] == ["meta.b"]


def test_allow_templates_only_takes_known_scopes(tmp_path, monkeypatch):
    _environments(tmp_path, monkeypatch, "allow_templates: [conn, secrets]\n")
    with pytest.raises(PipelineInvalid) as caught:
        load_environment("local")
    assert [p.field for p in caught.value.problems] == ["allow_templates[1]"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("  db_password: hunter2\n", "values.db_password"),
        (
            "  webhook: https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX\n",
            "values.webhook",
        ),
        ('  url: "{{ conn.x.password }}"\n', "values.url"),
    ],
)
def test_environment_files_are_scanned_too(tmp_path, monkeypatch, extra, field):
    _environments(tmp_path, monkeypatch, extra)
    with pytest.raises(PipelineInvalid) as caught:
        load_environment("local")
    (problem,) = caught.value.problems
    assert problem.field == field and problem.file.endswith("local.yaml")
    assert "environment files" in problem.message or problem.code == "template"
