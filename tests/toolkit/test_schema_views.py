"""The authored view (``schemas/pipeline.authored.schema.json``) accepts a pipeline as written exactly when
``validate`` accepts it once its references are resolved.

The probes put one value into one field of an otherwise valid pipeline and ask both: ``check_text`` (the
real resolver and the resolved-form schema, local environment) and the authored view (jsonschema on the
file as parsed, references unresolved). Where the value names something the schema cannot know, an
environment value or the DAG id, the view must not refuse what validate accepts (no false errors in an
editor); everywhere else the two must agree both ways.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from sagemaker_pipelines.checker import check_text
from sagemaker_pipelines.format.environment import load_environment
from sagemaker_pipelines.format.yaml_source import load_document
from sagemaker_pipelines.paths import CHECKOUT_ROOT
from sagemaker_pipelines.toolkit.generators import files, schema_views

SOURCE = json.loads(files.source_schema_path().read_text())
AUTHORED = json.loads(files.authored_schema_path().read_text())
VIEW = Draft202012Validator(AUTHORED)

BASE = """\
start_date: 2024-01-01
s3:
  prefixes: {input: iris/input}
params:
  k: {type: integer, default: 3}
default_args: {owner: me}
tasks:
  train:
    kind: training
    algorithm: knn
    hyperparameters: {k: 3, sample_size: 150, predictor_type: classifier}
    inputs: {train: s3://my-bucket/iris/train.csv}
  predict:
    kind: transform
    model_name: existing-model
    input: s3://my-bucket/iris/test.csv
    output: s3://my-bucket/iris/out/
"""

# field -> (YAML path of the probe, a valid literal, an invalid literal)
FIELDS = {
    "s3 URI": (("tasks", "train", "output"), "s3://my-bucket/out/", "my-bucket/out"),
    "channel": (("tasks", "train", "inputs", "train"), "s3://my-bucket/in.csv", "http://x"),
    "instance type": (("tasks", "train", "instance_type"), "ml.m5.large", "ml.m5.larg"),
    "integer": (("tasks", "train", "instance_count"), 2, 0),
    "duration": (("tasks", "train", "max_runtime"), "1h", "2 hours"),
    "job name": (("tasks", "train", "name"), "train-iris", "train_iris"),
    "role": (("tasks", "train", "role_arn"), "arn:aws:iam::123456789012:role/r", "role"),
    "model name": (("tasks", "predict", "model_name"), "my-model", "my_model"),
    "schedule": (("schedule",), "@daily", "every day"),
    "email": (("default_args", "email"), "a@b.c", "nobody"),
    "bucket": (("s3", "bucket"), "my-bucket", "My_Bucket"),
    "boolean": (("catchup",), True, "yes please"),
    "hyperparameter": (("tasks", "train", "hyperparameters", "k"), 5, {"a": 1}),
}

# Values whose resolved form the schema can know: the view and validate must agree.
KNOWN_REFERENCES = [
    "${params.k}",
    "s3://${params.k}/x.csv",
    "model-${params.k}",
    "${s3.input}",
    "${s3.input}/train.csv",
    "${s3.input}/",
    "${s3.bucket}",
    "s3://${s3.bucket}/x.csv",
    "${s3.bucket}/x.csv",
    "x${s3.input}",
]
# Values only an environment (or the file name) decides: the view may accept more than validate.
UNKNOWABLE_REFERENCES = [
    "${env.existing_model_name}",
    "${env.iris_data_url}",
    "x-${env.existing_model_name}",
    "${dag_id}",
    "${dag_id}-x",
]


def _set(data: dict, path: tuple, value) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def _probe(path: tuple, value) -> tuple[bool, bool]:
    """(validate accepts it, the authored view accepts it), each judged at the probed field only."""
    doc = load_document(BASE, "probe.yaml")
    _set(doc.data, path, value)
    text = json.dumps(doc.data)  # JSON is YAML: the same data, read by the same loader
    result = check_text(text, Path("probe.yaml"), load_environment("local"))
    field = ".".join(str(p) for p in path)
    validated = not [p for p in result.problems if p.field == field or p.field.startswith(field + ".")]
    data = load_document(text, "probe.yaml").data
    viewed = not [e for e in VIEW.iter_errors(data) if tuple(e.absolute_path)[: len(path)] == path]
    return validated, viewed


def test_the_base_pipeline_is_valid_both_ways():
    assert check_text(BASE, Path("probe.yaml"), load_environment("local")).problems == []
    assert list(VIEW.iter_errors(load_document(BASE, "probe.yaml").data)) == []


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_literals_are_judged_alike(name):
    path, good, bad = FIELDS[name]
    assert _probe(path, good) == (True, True)
    assert _probe(path, bad) == (False, False)


@pytest.mark.parametrize("name", sorted(FIELDS))
@pytest.mark.parametrize("value", KNOWN_REFERENCES)
def test_references_the_schema_can_resolve_are_judged_alike(name, value):
    validated, viewed = _probe(FIELDS[name][0], value)
    assert viewed == validated, f"{value!r} in {name}: validate {validated}, authored view {viewed}"


@pytest.mark.parametrize("name", sorted(FIELDS))
@pytest.mark.parametrize("value", UNKNOWABLE_REFERENCES)
def test_references_only_an_environment_decides_are_never_refused_when_valid(name, value):
    validated, viewed = _probe(FIELDS[name][0], value)
    assert viewed or not validated, f"{value!r} in {name}: validate accepts it, the authored view refuses it"


def test_the_probes_see_both_outcomes():
    """The probes are not vacuous: references are refused somewhere and accepted somewhere."""
    outcomes = {_probe(FIELDS[n][0], v) for n in FIELDS for v in KNOWN_REFERENCES}
    assert {(True, True), (False, False)} <= outcomes


def test_every_example_of_the_schema_is_valid_as_written():
    """The source's examples are written the way users write them (``${s3.input}/train.csv``); the
    authored view takes them as they are, with no resolving step."""
    checked = 0
    for node, path in _subschemas(AUTHORED):
        if "examples" not in node or path.endswith("/if"):
            continue
        own = Draft202012Validator(
            {**{k: v for k, v in node.items() if k != "examples"}, "$defs": AUTHORED["$defs"]}
        )
        for example in node["examples"]:
            checked += 1
            assert own.is_valid(example), (path, example, [e.message for e in own.iter_errors(example)][:1])
    assert checked > 300


def _subschemas(node, path=""):
    if isinstance(node, dict):
        yield node, path
        for key, value in node.items():
            if key not in ("enum", "const", "examples", "default", "required"):
                yield from _subschemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _subschemas(value, f"{path}/{i}")


def test_tasks_are_selected_by_exact_kind():
    """One exact-match condition per kind of the source: completing ``kind: training`` must not also
    select ``training_sensor`` (editors match a ``const`` by prefix while completing)."""
    source_rules = SOURCE["$defs"]["task"]["allOf"]
    view_rules = AUTHORED["$defs"]["task"]["allOf"]
    assert len(view_rules) == len(source_rules)
    for source, view in zip(source_rules, view_rules, strict=True):
        kind = source["if"]["properties"]["kind"]["const"]
        assert view["if"]["properties"]["kind"] == {"pattern": f"^{kind}$"}
        assert view["then"] == source["then"]


def test_messages_name_what_is_expected_not_every_value():
    instance_type = AUTHORED["$defs"]["training_instance_type"]
    messages = {b.get("errorMessage") for b in instance_type["anyOf"]}
    assert messages == {"Expected a SageMaker training instance type, or a reference such as ${env.<name>}."}
    duration = json.dumps(AUTHORED["$defs"]["duration"])
    assert "Expected a duration" in duration and "Expected integer" not in duration


def test_the_generated_files_are_current():
    """``make schemas`` writes them from the source schema and botocore; a stale file fails here."""
    stale = [str(p.relative_to(CHECKOUT_ROOT / "src")) for p in files.generate().stale()]
    assert stale == [], "run 'make schemas' and commit the result"


def test_the_view_of_a_new_kind_follows_the_source():
    """A kind added to the source (as the other task kinds are) reaches the view with no other change."""
    source = json.loads(json.dumps(SOURCE))
    branch = {**source["$defs"]["python_task"], "title": "a demo task"}
    branch["properties"] = {**branch["properties"], "kind": {**branch["properties"]["kind"], "const": "demo"}}
    source["$defs"]["demo_task"] = branch
    source["$defs"]["task"]["properties"]["kind"]["enum"].append("demo")
    rule = {
        "if": {"properties": {"kind": {"const": "demo"}}, "required": ["kind"]},
        "then": {"$ref": "#/$defs/demo_task"},
    }
    source["$defs"]["task"]["allOf"].append(rule)
    view = Draft202012Validator(schema_views.authored_view(source))
    text = textwrap.dedent(
        """\
        start_date: 2024-01-01
        tasks:
          d: {kind: demo, callable: "include/x.py:f", arguments: {a: "${env.x}"}, bogus: 1}
        """
    )
    errors = [tuple(e.absolute_path) for e in view.iter_errors(load_document(text, "p.yaml").data)]
    assert errors == [("tasks", "d")]  # the unknown field 'bogus', found through the demo branch


def test_schemas_check_names_a_stale_file_and_schemas_rewrites_it(tmp_path, monkeypatch, capsys):
    source, view = tmp_path / "pipeline.schema.json", tmp_path / "pipeline.authored.schema.json"
    source.write_text(files.source_schema_path().read_text())
    view.write_text("{}")
    monkeypatch.setattr(files, "source_schema_path", lambda: source)
    monkeypatch.setattr(files, "authored_schema_path", lambda: view)
    assert files.run(check=True) == 1
    assert "pipeline.authored.schema.json is stale: run 'make schemas'" in capsys.readouterr().err
    assert view.read_text() == "{}"
    assert files.run() == 0
    assert json.loads(view.read_text()) == AUTHORED
    assert files.run(check=True) == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("k", 5),
        ("k", "5"),
        ("k", 0),
        ("k", 2.5),
        ("k", "five"),
        ("k", True),
        ("k", "${s3.input}"),
        ("predictor_type", "regressor"),
        ("predictor_type", "classify"),
        ("index_metric", "${env.metric}"),
    ],
)
def test_a_built_in_algorithms_hyperparameters_are_judged_alike(name, value):
    """The editors' rules for ``algorithm: knn`` (generators/hyperparameter_schema.py) and validate's
    (compile/hyperparameters.py) come from one table; a number out of bounds is the only thing the view
    leaves to validate when it is written as a string, and ``${params.x}`` is judged by validate alone
    (by the parameter's default, which the view cannot see)."""
    validated, viewed = _probe(("tasks", "train", "hyperparameters", name), value)
    if name == "index_metric":
        assert viewed  # an environment's value: validate judges it in each environment
    else:
        assert validated == viewed


def test_an_unknown_hyperparameter_name_is_refused_by_the_view_too():
    doc = load_document(BASE.replace("{k: 3,", "{featur_dim: 4, k: 3,"), "probe.yaml")
    errors = [e.message for e in VIEW.iter_errors(doc.data)]
    assert any("featur_dim" in m for m in errors), errors
    result = check_text(
        BASE.replace("{k: 3,", "{featur_dim: 4, k: 3,"), Path("p.yaml"), load_environment("local")
    )
    assert [p.field for p in result.problems] == ["tasks.train.hyperparameters.featur_dim"]
