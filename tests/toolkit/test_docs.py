"""``docs``: the committed reference matches the schemas, and the schemas document every field."""

from __future__ import annotations

import json

import pytest

from sagemaker_pipelines.toolkit import docs_gen
from sagemaker_pipelines.toolkit.docs_gen import REFERENCE_PATH, default_of, is_stale, render

from .conftest import CHECKOUT_ROOT

SCHEMAS = {name: CHECKOUT_ROOT / "schemas" / f"{name}.schema.json" for name in ("pipeline", "environment")}


def test_committed_reference_is_up_to_date():
    assert REFERENCE_PATH.is_file(), "docs/pipeline-reference.md is missing: run `make docs`"
    assert not is_stale(), "docs/pipeline-reference.md is stale: run `make docs` and commit it"


def test_check_flag(tmp_path, monkeypatch, run_cli):
    assert run_cli("docs", "--check")[0] == 0
    monkeypatch.setattr(docs_gen, "REFERENCE_PATH", tmp_path / "reference.md")
    status, _, err = run_cli("docs", "--check")
    assert status == 1 and "stale" in err
    assert run_cli("docs")[0] == 0
    assert (tmp_path / "reference.md").read_text() == render()
    assert run_cli("docs", "--check")[0] == 0


def _fields(node, path="#"):
    """(path, schema) of every property and map value schema, skipping if-conditions."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "if":
                continue
            if key == "properties" and isinstance(value, dict):
                for name, prop in value.items():
                    yield f"{path}/properties/{name}", prop
            if key == "additionalProperties" and isinstance(value, dict) and value and "$ref" not in value:
                yield f"{path}/additionalProperties", value
            yield from _fields(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _fields(value, f"{path}/{index}")


@pytest.mark.parametrize("schema", SCHEMAS)
def test_every_property_has_a_description_and_an_example(schema):
    fields = list(_fields(json.loads(SCHEMAS[schema].read_text())))
    assert len(fields) > 10
    missing = [path for path, prop in fields if not prop.get("description") or not prop.get("examples")]
    assert missing == []


def test_reference_covers_every_field_and_kind():
    schema = json.loads(SCHEMAS["pipeline"].read_text())
    text = render()
    for name in schema["properties"]:
        assert f"| `{name}` |" in text, name
    for definition, node in schema["$defs"].items():
        if definition.endswith("_task"):
            kind = definition.removesuffix("_task")
            assert f"### Kind: `{kind}`" in text
            section = text.split(f"### Kind: `{kind}`", 1)[1].split("\n### ", 1)[0]
            for field in node["properties"]:
                assert f"| `{field}` |" in section, (kind, field)
    environment = json.loads(SCHEMAS["environment"].read_text())
    section = text.split("## Environment files", 1)[1]
    for name in environment["properties"]:
        assert f"| `{name}` |" in section, name


def test_long_enums_are_summarised():
    schema = json.loads(SCHEMAS["pipeline"].read_text())
    count = len(schema["$defs"]["training_instance_type"]["enum"])
    text = render()
    assert f"{count} SageMaker training instance types, e.g. `ml.m5.large`" in text
    assert "ml.p4d.24xlarge" not in text  # the full list stays in the schema


def test_defaults_are_taken_from_descriptions():
    assert default_of("The DAG's id in Airflow. Default: the file name without .yaml.") == (
        "the file name without .yaml"
    )
    assert default_of("Airflow connection. Default: the environment's (aws_default on AWS).") == (
        "the environment's (aws_default on AWS)"
    )
    assert (
        default_of("Base of the job name; default: <dag_id>-<task_id>. The run's...") == "<dag_id>-<task_id>"
    )
    assert default_of("Instance type (default from defaults.instance_type).") == "from defaults.instance_type"
    assert default_of("Default input mode of the channels.") == ""
    row = next(line for line in render().splitlines() if line.startswith("| `dag_id` |"))
    assert "| optional | the file name without .yaml |" in row
