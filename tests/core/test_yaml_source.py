"""yaml_source: plain data with the position of every key and value; nothing unsafe gets through."""

from __future__ import annotations

import textwrap

import pytest

from sagemaker_pipelines.format import yaml_source
from sagemaker_pipelines.format.yaml_source import YamlProblem, load_document


def load(text: str):
    return load_document(textwrap.dedent(text), "p.yaml")


def problem(text: str):
    with pytest.raises(YamlProblem) as caught:
        load(text)
    return caught.value.problem


def test_plain_data_and_scalar_types():
    doc = load(
        """\
        start_date: 2021-07-31
        when: 2021-07-31T06:00:00Z
        count: 3
        ratio: 0.5
        on: true
        nothing: null
        quoted: "3"
        octal_looking: 010
        list: [a, 1, false]
        """
    )
    assert doc.data == {
        "start_date": "2021-07-31",  # dates stay text: the schema checks their form
        "when": "2021-07-31T06:00:00Z",
        "count": 3,
        "ratio": 0.5,
        "on": True,
        "nothing": None,
        "quoted": "3",
        "octal_looking": 8,  # what YAML 1.1 reads, reported: YAML 1.2 (editors) reads 10
        "list": ["a", 1, False],
    }
    assert [(p.line, p.field, p.code) for p in doc.problems] == [(8, "octal_looking", "yaml")]


def test_positions_of_keys_and_values():
    doc = load(
        """\
        tasks:
          train:
            kind: training
            depends_on: [prep, other]
        """
    )
    assert doc.keys[("tasks",)] == (1, 1)
    assert doc.keys[("tasks", "train")] == (2, 3)
    assert doc.keys[("tasks", "train", "kind")] == (3, 5)
    assert doc.values[("tasks", "train", "kind")] == (3, 11)
    assert doc.values[("tasks", "train", "depends_on", 1)] == (4, 24)
    # position(): the key that names a path, else its value, else the nearest parent.
    assert doc.position(("tasks", "train", "kind")) == (3, 5)
    assert doc.position(("tasks", "train", "depends_on", 0)) == (4, 18)
    assert doc.position(("tasks", "train", "missing", "deeper")) == (2, 3)
    assert doc.value_position(("tasks", "train", "kind")) == (3, 11)
    assert doc.position(()) == (1, 1)


def test_merge_keys_explicit_keys_win_and_positions_point_at_the_written_value():
    doc = load(
        """\
        base: &base
          instance_type: ml.m5.large
          volume_size: 30
        train:
          <<: *base
          volume_size: 50
        multi:
          <<: [{a: 1}, {a: 2, b: 2}]
        """
    )
    assert doc.data["train"] == {"instance_type": "ml.m5.large", "volume_size": 50}
    assert doc.data["multi"] == {"a": 1, "b": 2}  # the first mapping of a merge list wins
    assert doc.position(("train", "volume_size")) == (6, 3)
    assert doc.position(("train", "instance_type")) == (2, 3)  # where the merged value is written


def test_a_merge_of_something_else_than_a_mapping_is_an_error():
    found = problem(
        """\
        train:
          <<: [1, 2]
        """
    )
    assert "merge key '<<' needs a mapping" in found.message


def test_duplicate_keys_are_errors_at_the_second_with_the_first_in_the_hint():
    found = problem(
        """\
        tasks:
          train: {kind: training}
          "train": {kind: model}
        """
    )
    assert (found.line, found.column, found.field) == (3, 3, "tasks.train")
    assert found.message == "duplicate key 'train'"
    assert "first defined at line 2, column 3" in found.hint
    assert found.code == "yaml"


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("!!python/object/apply:os.system ['ls']", "tag:yaml.org,2002:python/object/apply:os.system"),
        ("!!python/name:os.system", "tag:yaml.org,2002:python/name:os.system"),
        ("!!binary aGVsbG8=", "tag:yaml.org,2002:binary"),
        ("!Ref other", "!Ref"),
        ("!env [HOME]", "!env"),
        ("!include {file: x}", "!include"),
        ("!!set {a, b}", "tag:yaml.org,2002:set"),
    ],
)
def test_tags_other_than_plain_data_are_rejected(value, tag):
    found = problem(f"a:\n  b: {value}\n")
    assert found.message == f"the YAML tag '{tag}' is not allowed"
    assert (found.line, found.field) == (2, "a.b")


def test_standard_tags_of_plain_data_are_allowed():
    doc = load("a: !!str 3\nb: !!int '4'\nc: !!float 1\nd: !!bool true\ne: !!null ''\nf: !!map {x: 1}\n")
    assert doc.data == {"a": "3", "b": 4, "c": 1.0, "d": True, "e": None, "f": {"x": 1}}


def test_mapping_keys_must_be_plain_strings():
    found = problem("? [a, b]\n: value\n")
    assert "mapping keys must be plain strings" in found.message


def test_billion_laughs_fails_fast_with_a_location(monkeypatch):
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    found = problem("\n".join(lines) + "\n")
    assert f"more than {yaml_source.MAX_NODES:,} values" in found.message
    assert "alias bomb" in found.hint
    # Reported where the first alias that blows the budget is used: key 'f', line 6.
    assert (found.line, found.column, found.field) == (6, 1, "f[0]")


def test_a_small_budget_applies_to_aliases_of_mappings_too(monkeypatch):
    monkeypatch.setattr(yaml_source, "MAX_NODES", 50)
    found = problem(
        """\
        base: &base {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}
        tasks:
          one: *base
          two: *base
          three: *base
          four: *base
          five: *base
        """
    )
    assert "more than 50 values" in found.message
    assert found.field.startswith("tasks.")


def test_aliases_within_budget_expand_to_copies():
    doc = load("a: &x {k: 1}\nb: *x\nc: [*x, *x]\n")
    assert doc.data == {"a": {"k": 1}, "b": {"k": 1}, "c": [{"k": 1}, {"k": 1}]}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a: &loop\n  b: 1\n  c: *loop\n", (3, 3, "a.c")),
        ("a: &loop [1, *loop]\n", (1, 1, "a[1]")),
        ("x:\n  <<: &m\n    y: 1\n    <<: *m\n", (1, 1, "x")),
    ],
)
def test_recursive_aliases_are_errors(text, where):
    found = problem(text)
    assert "recursive alias" in found.message
    assert (found.line, found.column, found.field) == where


def test_nesting_depth_is_limited():
    found = problem("a: " + "[" * (yaml_source.MAX_DEPTH + 2) + "]" * (yaml_source.MAX_DEPTH + 2) + "\n")
    assert f"nesting deeper than {yaml_source.MAX_DEPTH} levels" in found.message


@pytest.mark.parametrize(
    ("text", "where", "message", "hint"),
    [
        ("a: [1, 2\nb: 3\n", (2, 2), "did not find expected ',' or ']'", "is a ']' missing? a flow sequence"),
        ("a: {x: 1\nb: 3\n", (2, 2), "did not find expected ',' or '}'", "is a '}' missing?"),
        ('a: "open\nb: 1\n', (3, 1), "found unexpected end of stream", "is a closing quote missing?"),
        ("a:\n\tb: 1\n", (2, 1), "cannot start any token", "tab characters"),
        ("a:\n  b: 1\n c: 2\n", (3, 2), "did not find expected key", "check the indentation"),
        ("a: b: c\n", (1, 5), "mapping values are not allowed", ""),
        ("a: 1\n---\nb: 2\n", (2, 1), "expected a single document", ""),
        ("a: [x-${env.b}]\n", (1, 8), "did not find expected ',' or ']'", "quote a value that holds '{'"),
    ],
)
def test_syntax_errors_have_a_location_and_a_hint(text, where, message, hint):
    found = problem(text)
    assert (found.line, found.column) == where
    assert found.message.startswith("YAML syntax error: ")
    assert message in found.message
    assert hint in found.hint
    assert found.code == "yaml"


def test_an_empty_document_is_none():
    assert load("").data is None
    assert load("# only a comment\n").data is None


def test_exponent_floats_are_numbers_as_in_yaml_1_2():
    doc = load(
        """\
        lr: 1e-4
        big: 1.5e3
        signed: -2E+2
        yaml11: 1.0e+3
        quoted: "1e-4"
        tagged: !!str 1e-4
        words: [e3, 1e, 1e-4x]
        """
    )
    assert doc.data == {
        "lr": 0.0001,
        "big": 1500.0,
        "signed": -200.0,
        "yaml11": 1000.0,
        "quoted": "1e-4",
        "tagged": "1e-4",
        "words": ["e3", "1e", "1e-4x"],
    }
