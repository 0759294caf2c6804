"""The pipeline schema itself: valid JSON Schema 2020-12, documented at every level, and in step with the
kinds table, the image table and the example files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from jsonschema import Draft202012Validator

from sagemaker_pipelines.compile import images
from sagemaker_pipelines.compile.kinds import ALIASES, KINDS
from sagemaker_pipelines.format.schema_check import check_against_schema, load_schema
from sagemaker_pipelines.format.versions import CURRENT, schema_url
from sagemaker_pipelines.format.yaml_source import load_document
from sagemaker_pipelines.paths import CHECKOUT_ROOT

from .conftest import PIPELINES, SCHEMAS

PIPELINE = json.loads((SCHEMAS / "pipeline.schema.json").read_text())
ENVIRONMENT = json.loads((SCHEMAS / "environment.schema.json").read_text())


def subschemas(node, path: str = "") -> Iterator[tuple[str, dict]]:
    """Every schema object, with its JSON pointer; ``if`` conditions are selectors, not documentation."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key in ("if", "enum", "const", "examples", "default", "required"):
                continue
            yield from subschemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from subschemas(value, f"{path}/{i}")


@pytest.mark.parametrize("schema", [PIPELINE, ENVIRONMENT], ids=["pipeline", "environment"])
def test_schemas_are_valid_draft_2020_12(schema):
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("schema", [PIPELINE, ENVIRONMENT], ids=["pipeline", "environment"])
def test_every_property_at_every_level_has_description_and_examples(schema):
    missing = []
    for path, node in subschemas(schema):
        for name, prop in (node.get("properties") or {}).items():
            if "description" not in prop or "examples" not in prop:
                missing.append(f"{path}/properties/{name}")
        value = node.get("additionalProperties")
        documented = isinstance(value, dict) and "description" in value and "examples" in value
        if isinstance(value, dict) and set(value) != {"$ref"} and not documented:
            missing.append(f"{path}/additionalProperties")
    assert missing == []


def _concrete(example):
    """An example as it is after references are resolved (``${s3.x}`` -> an S3 URI)."""
    text = json.dumps(example)
    text = re.sub(r"\$\{s3\.(\w+)\}", r"s3://my-bucket/\1", text)
    return json.loads(text)


def test_every_example_is_valid_for_its_own_schema():
    wrong = []
    checked = 0
    for path, node in subschemas(PIPELINE):
        if "examples" not in node:
            continue
        own = Draft202012Validator(
            {**{k: v for k, v in node.items() if k != "examples"}, "$defs": PIPELINE["$defs"]}
        )
        for example in node["examples"]:
            example = _concrete(example)
            if "${" in json.dumps(example):
                continue  # ${env.x} / ${params.x}: only valid once the environment or run says what they are
            checked += 1
            errors = [e.message for e in own.iter_errors(example)]
            if errors:
                wrong.append((path, example, errors[0]))
    assert checked > 300
    assert wrong == []


def test_every_task_kind_has_a_schema_branch_and_vice_versa():
    names = {*KINDS, *ALIASES}
    task = PIPELINE["$defs"]["task"]
    assert set(task["properties"]["kind"]["enum"]) == names
    branches = {}
    for rule in task["allOf"]:
        kind = rule["if"]["properties"]["kind"]["const"]
        assert rule["if"]["required"] == ["kind"]
        branches[kind] = rule["then"]["$ref"]
    assert set(branches) == names
    for kind, ref in branches.items():
        assert ref == f"#/$defs/{kind}_task"
        branch = PIPELINE["$defs"][f"{kind}_task"]
        assert branch["properties"]["kind"]["const"] == kind
        assert branch["additionalProperties"] is False
        assert "title" in branch  # named in "unknown field 'x' in <title>"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_fields_the_kinds_table_reads_are_in_the_schema_branch(kind):
    branch = PIPELINE["$defs"][f"{kind}_task"]["properties"]
    for field in KINDS[kind].references:
        assert branch[field]["$ref"] == "#/$defs/task_ref", field
    for group in KINDS[kind].one_of:
        for field in group:
            assert field in branch, field


def test_alias_branches_allow_what_their_targets_need():
    # warehouse_load compiles to s3_to_redshift or s3_to_sql: what they require, it requires.
    alias = PIPELINE["$defs"]["warehouse_load_task"]
    for target in ("s3_to_redshift", "s3_to_sql"):
        required = set(PIPELINE["$defs"][f"{target}_task"]["required"]) - {"kind"}
        assert required <= set(alias["required"]), target


def test_region_enum_equals_the_image_table_regions():
    assert PIPELINE["properties"]["region"]["enum"] == list(images.REGIONS)
    assert ENVIRONMENT["properties"]["region"].get("enum", list(images.REGIONS)) == list(images.REGIONS)


def test_algorithms_and_frameworks_match_the_image_table():
    for kind in ("training", "tuning"):
        props = PIPELINE["$defs"][f"{kind}_task"]["properties"]
        assert props["algorithm"]["enum"] == sorted(images.ALGORITHMS)
        assert props["framework"]["enum"] == sorted(images.FRAMEWORKS)


def test_name_lengths_leave_room_for_the_run_suffix():
    from sagemaker_pipelines.compile.kinds.context import _SUFFIX_BUDGET

    assert PIPELINE["$defs"]["resource_name"]["maxLength"] <= 63 - _SUFFIX_BUDGET
    assert PIPELINE["$defs"]["tuning_task"]["properties"]["name"]["maxLength"] <= 32 - _SUFFIX_BUDGET


@pytest.mark.parametrize("path", sorted(PIPELINES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_pipelines_point_editors_at_the_schema(path):
    first = path.read_text().splitlines()[0]
    assert first == f"# yaml-language-server: $schema={schema_url(CURRENT)}"  # the current format version


@pytest.mark.parametrize(
    "path", sorted((CHECKOUT_ROOT / "environments").glob("*.yaml")), ids=lambda p: p.name
)
def test_environment_files_point_at_their_schema_and_are_valid(path):
    text = path.read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../schemas/environment.schema.json"
    doc = load_document(text, path.name)
    assert check_against_schema(doc, path.name, schema="environment") == []


def test_load_schema_reads_the_files():
    assert load_schema("pipeline") == PIPELINE
    assert load_schema("environment") == ENVIRONMENT


def test_schema_problems_are_sorted_deduplicated_and_skip_bad_references():
    doc = load_document(
        "start_date: 2024-01-01\ncatchup: 1\ntasks:\n  t: {kind: python, callable: x, extra: 1}\n", "p.yaml"
    )
    found = check_against_schema(doc, "p.yaml")
    assert [(p.line, p.field) for p in found] == [
        (2, "catchup"),
        (4, "tasks.t.callable"),
        (4, "tasks.t.extra"),
    ]
    skipped = check_against_schema(doc, "p.yaml", skip={("tasks", "t")})
    assert [p.field for p in skipped] == ["catchup"]


@pytest.mark.parametrize(
    ("data", "field", "message", "hint"),
    [
        # a oneOf whose branches are a $ref and a mapping: the branch of the matching type explains
        (
            {"tasks": {"t": {"kind": "training", "algorithm": "knn", "inputs": {"train": 5}}}},
            "tasks.t.inputs.train",
            "found 5, expected an S3 URI like s3://my-bucket/some/prefix or a mapping",
            "",
        ),
        (
            {"tasks": {"t": {"kind": "training", "algorithm": "knn", "inputs": {"train": "x"}}}},
            "tasks.t.inputs.train",
            "found 'x', expected an S3 URI",
            "",
        ),
        ({"schedule": 5}, "schedule", "found 5, expected null or a preset", ""),
        ({"dagrun_timeout": "1 day"}, "dagrun_timeout", "expected a duration", ""),
        ({"s3": {"prefixes": {"bucket": "x"}}}, "s3.prefixes.bucket", "'bucket' is not allowed here", ""),
        ({"s3": {"prefixes": {"9in": "x"}}}, "s3.prefixes.9in", "found '9in', expected a prefix name", ""),
        ({"params": {"a-b": {"default": 1}}}, "params.a-b", "expected a parameter name", ""),
        ({"tasks": {}}, "tasks", "must not be empty", ""),
        ({"tags": ["a", "a"]}, "tags", "has duplicate entries", ""),
        ({"max_active_runs": 0}, "max_active_runs", "found 0, must be", ""),
        (
            {"default_args": {"email": "nobody"}},
            "default_args.email",
            "found 'nobody', expected an email address",
            "",
        ),
        (
            {
                "tasks": {
                    "t": {
                        "kind": "transform",
                        "input": "s3://b/k",
                        "output": "s3://b/o",
                        "split_type": "line",
                    }
                }
            },
            "tasks.t.split_type",
            "expected one of: None, Line, RecordIO, TFRecord",
            "did you mean 'Line'?",
        ),
    ],
)
def test_schema_messages_are_written_for_people(data, field, message, hint):
    base = {"start_date": "2024-01-01", "tasks": {"t": {"kind": "python", "callable": "include/a.py:f"}}}
    doc = load_document(json.dumps({**base, **data}), "p.yaml")
    found = [p for p in check_against_schema(doc, "p.yaml") if p.field == field]
    assert len(found) == 1, [p.format() for p in check_against_schema(doc, "p.yaml")]
    assert message in found[0].message
    assert hint in found[0].hint
    assert "^" not in found[0].message, "no raw regular expressions in messages"


def test_every_unknown_key_of_a_mapping_is_reported_where_it_is():
    """jsonschema reports a mapping's unknown keys as one error; each is a typo of its own."""
    text = (
        "start_date: 2024-01-01\n"
        "schedul: '@daily'\n"
        "tasks:\n"
        "  train:\n"
        "    kind: training\n"
        "    algorithm: knn\n"
        "    instance_typ: ml.m5.large\n"
        "    volum_size: 3\n"
        "    max_runtim: 1h\n"
    )
    found = check_against_schema(load_document(text, "p.yaml"), "p.yaml")
    assert [(p.line, p.column, p.field, p.hint) for p in found] == [
        (2, 1, "schedul", "did you mean 'schedule'?"),
        (7, 5, "tasks.train.instance_typ", "did you mean 'instance_type'?"),
        (8, 5, "tasks.train.volum_size", "did you mean 'volume_size'?"),
        (9, 5, "tasks.train.max_runtim", "did you mean 'max_runtime'?"),
    ]


def test_instance_type_lists_are_botocores_own():
    """Each ``*_instance_type`` enum is the SageMaker API's list for that request field, as the pinned
    botocore models it; a botocore upgrade that changes a list fails here until ``make schemas``."""
    import botocore.session

    from sagemaker_pipelines.toolkit.generators.instance_types import SHAPES

    model = botocore.session.get_session().get_service_model("sagemaker")
    lists = {name: node for name, node in PIPELINE["$defs"].items() if name.endswith("_instance_type")}
    assert set(lists) == set(SHAPES)
    for name, shape in SHAPES.items():
        assert lists[name]["enum"] == sorted(model.shape_for(shape).enum), f"{name} differs from {shape}"
