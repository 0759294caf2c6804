"""``new``: pipelines from templates validate as written, in every environment."""

from __future__ import annotations

import pytest

from sagemaker_pipelines.format.environment import environment_names
from sagemaker_pipelines.format.versions import CURRENT, schema_url
from sagemaker_pipelines.toolkit.scaffold import template_names
from sagemaker_pipelines.toolkit.validation import validate

from .conftest import run_module

TEMPLATES = ["batch-inference", "deploy", "training"]
SCHEMA_LINE = f"# yaml-language-server: $schema={schema_url(CURRENT)}"  # new files: the current format


def test_the_three_templates_ship():
    assert template_names() == TEMPLATES


@pytest.mark.parametrize("template", TEMPLATES)
def test_new_pipeline_validates_in_every_environment(template, pipelines_dir, run_cli):
    name = f"my-{template}.v1"
    status, out, err = run_cli("new", name, "--template", template)
    assert status == 0, out + err
    path = pipelines_dir / f"{name}.yaml"
    text = path.read_text()
    assert text.splitlines()[0] == SCHEMA_LINE
    assert "__NAME__" not in text and "__TABLE__" not in text and name in text
    assert "it validates" in out
    for environment in environment_names():
        summary = validate([str(path)], environment)
        assert summary.valid, [p.format() for p in summary.problems]


def test_new_through_python_dash_m(pipelines_dir):
    result = run_module("new", "from_cli")
    assert result.returncode == 0, result.stderr
    assert (pipelines_dir / "from_cli.yaml").is_file()  # the default template: training
    assert "kind: training" in (pipelines_dir / "from_cli.yaml").read_text()
    dag_file = pipelines_dir.parent / "dags" / "from_cli.py"  # Airflow sees it at once: no Python to write
    assert f'pipeline="{pipelines_dir / "from_cli.yaml"}")' in dag_file.read_text()
    assert f"wrote {dag_file}" in result.stdout


def test_refuses_to_overwrite_without_force(pipelines_dir, run_cli):
    existing = pipelines_dir / "taken.yaml"
    existing.write_text("# mine\n")
    status, _, err = run_cli("new", "taken", "--template", "deploy")
    assert status == 2 and "already exists" in err and "--force" in err
    assert existing.read_text() == "# mine\n"
    assert run_cli("new", "taken", "--template", "deploy", "--force")[0] == 0
    assert "kind: endpoint" in existing.read_text()


def test_refuses_a_dag_id_another_pipeline_uses(pipelines_dir, run_cli):
    (pipelines_dir / "team").mkdir()
    (pipelines_dir / "team" / "other.yaml").write_text("dag_id: churn\nstart_date: 2024-01-01\ntasks: {}\n")
    status, _, err = run_cli("new", "churn")
    assert status == 2 and "DAG id 'churn' is already used by" in err and "other.yaml" in err
    assert not (pipelines_dir / "churn.yaml").exists()


@pytest.mark.parametrize("name", ["has space", "slash/name", "", "x" * 201, "quote'd"])
def test_name_must_be_a_dag_id(name, pipelines_dir, run_cli):
    status, _, err = run_cli("new", name)
    assert status == 2
    assert "not a valid DAG id" in err
    assert list(pipelines_dir.iterdir()) == []


def test_unknown_template_is_a_usage_error(pipelines_dir, run_cli):
    status, _, err = run_cli("new", "x", "--template", "nope")
    assert status == 2 and "invalid choice" in err
