"""The generated ``format/schema_validity.py`` answers "valid?" exactly as jsonschema does.

``check_against_schema`` trusts it on the happy path (a document it accepts gets no jsonschema pass at
all), so a document it accepts that jsonschema refuses would be a problem nobody reports. It is held
to jsonschema's own answer on every YAML file in the repository (pipelines, environments, the good and
bad inputs of the tests) as written and with its references resolved as the checker resolves them, on
every example of the schemas, and on mutations of the good pipelines (each value replaced by one of
another type, each key removed, a list's first item repeated, an unknown key added).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from sagemaker_pipelines import stages
from sagemaker_pipelines.checker import parse
from sagemaker_pipelines.format import schema_check, schema_validity
from sagemaker_pipelines.format.yaml_source import Document, load_document
from sagemaker_pipelines.paths import CHECKOUT_ROOT

FOLDERS = ("pipelines", "tests")
ENVIRONMENTS = sorted((CHECKOUT_ROOT / "environments").glob("*.yaml"))
REPLACEMENTS = (None, 7, 2.5, True, "x", [], {}, "s3://bucket/key", -1, "", ["a"], {"a": 1})


def _pipeline_files() -> list[Path]:
    files = [p for folder in FOLDERS for p in (CHECKOUT_ROOT / folder).rglob("*.y*ml")]
    return sorted(p for p in files if p.name != "expected.yaml")


def _jsonschema_valid(name: str, data: Any) -> bool:
    return Draft202012Validator(schema_check.load_schema(name)).is_valid(data)


def _agrees(name: str, data: Any) -> bool:
    return schema_validity.VALID[name](data) == _jsonschema_valid(name, data)


def _resolved(doc: Document, path: Path, local_env) -> dict:
    walk = stages.Walk(doc, "", path, path.name, local_env, path.stem)
    stages.resolve(walk, [])
    return walk.data


def test_it_was_compiled_from_the_schema_files_in_use():
    for name in ("pipeline", "environment"):
        assert schema_check._compiled_validity(name) is not None, name


@pytest.mark.parametrize("path", _pipeline_files(), ids=lambda p: str(p.relative_to(CHECKOUT_ROOT)))
def test_every_pipeline_file_as_written_and_resolved(path, local_env):
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        pytest.skip("not UTF-8: never reaches the schema")
    doc = parse(text, path)
    if not isinstance(doc, Document):
        pytest.skip("does not load: never reaches the schema")
    assert _agrees("pipeline", doc.data)
    assert _agrees("pipeline", _resolved(doc, path, local_env))


@pytest.mark.parametrize("path", ENVIRONMENTS, ids=lambda p: p.name)
def test_every_environment_file(path):
    doc = load_document(path.read_text(encoding="utf-8"), path.name)
    assert _jsonschema_valid("environment", doc.data)
    assert schema_validity.VALID["environment"](doc.data)


def _examples(schema: Any) -> Iterator[tuple[dict, Any]]:
    """(subschema, example) for every ``examples`` entry at any depth."""
    if isinstance(schema, dict):
        for example in schema.get("examples", []) if isinstance(schema.get("examples"), list) else []:
            yield schema, example
        for value in schema.values():
            yield from _examples(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _examples(value)


def test_every_schema_example_as_a_task_and_as_a_pipeline():
    schema = schema_check.load_schema("pipeline")
    checked = 0
    for _, example in _examples(schema):
        if isinstance(example, dict) and "kind" in example:
            data = {"start_date": "2024-01-01", "tasks": {"t": example}}
        else:
            data = example
        assert _agrees("pipeline", data), example
        checked += 1
    assert checked > 100


def _paths(data: Any, path: tuple = ()) -> Iterator[tuple]:
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*path, index))


def _mutations(data: Any) -> Iterator[Any]:
    for n, path in enumerate(_paths(data)):
        if not path:
            continue
        value = data
        for key in path:
            value = value[key]
        replaced, removed = copy.deepcopy(data), copy.deepcopy(data)
        parent, other = replaced, removed
        for key in path[:-1]:
            parent, other = parent[key], other[key]
        parent[path[-1]] = REPLACEMENTS[n % len(REPLACEMENTS)]
        yield replaced
        if isinstance(other, dict):
            del other[path[-1]]
            yield removed
        if isinstance(value, list) and value:
            repeated = copy.deepcopy(data)  # a list with its first item twice (uniqueItems)
            target = repeated
            for key in path:
                target = target[key]
            target.append(copy.deepcopy(target[0]))
            yield repeated
        if isinstance(parent, dict) and n % 3 == 0:
            parent["not_a_field"] = 1
            yield replaced


@pytest.mark.parametrize("path", sorted((CHECKOUT_ROOT / "pipelines").glob("*.yaml")), ids=lambda p: p.name)
def test_mutations_of_the_good_pipelines(path, local_env):
    doc = parse(path.read_text(encoding="utf-8"), path)
    data = _resolved(doc, path, local_env)
    assert _agrees("pipeline", data)
    mutations = list(_mutations(data))
    disagreements = [m for m in mutations if not _agrees("pipeline", m)]
    assert disagreements == []
    assert 0 < sum(map(schema_validity.VALID["pipeline"], mutations)) < len(mutations)


def test_mutations_of_the_environments():
    for path in ENVIRONMENTS:
        data = load_document(path.read_text(encoding="utf-8"), path.name).data
        assert [m for m in _mutations(data) if not _agrees("environment", m)] == []
