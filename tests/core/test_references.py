"""references: ${env.x}, ${s3.x}, ${params.x} and ${dag_id}, resolved on parsed data with types kept."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest

from sagemaker_pipelines.format.references import Resolver, dag_id_scope, env_scope, params_scope, s3_scope
from sagemaker_pipelines.format.yaml_source import load_document


@pytest.fixture
def environment(local_env):
    values = {"count": 2, "flag": True, "ratio": 0.5, "tags": ["a", "b"], "nested": {"k": "v"}, "name": "x"}
    return dataclasses.replace(local_env, values=values)


def resolve(text: str, scopes: dict, **kwargs):
    doc = load_document(textwrap.dedent(text), "p.yaml")
    resolver = Resolver(doc, "p.yaml", scopes, **kwargs)
    return resolver.resolve(doc.data), resolver


def test_a_whole_env_reference_keeps_the_value_type(environment):
    data, resolver = resolve(
        """\
        count: ${env.count}
        flag: ${env.flag}
        ratio: ${ env.ratio }
        tags: ${env.tags}
        nested: ${env.nested}
        bucket: ${env.bucket}
        region: "${env.region}"
        """,
        {"env": env_scope(environment)},
    )
    assert resolver.problems == []
    assert data == {
        "count": 2,
        "flag": True,
        "ratio": 0.5,
        "tags": ["a", "b"],
        "nested": {"k": "v"},
        "bucket": "sagemaker-local",
        "region": "us-east-2",
    }


def test_references_inside_text_become_text(environment):
    data, _ = resolve(
        """\
        uri: s3://${env.bucket}/runs/${env.count}/x
        twice: ${env.name}-${env.name}
        in_list: ["prefix-${env.count}", "${env.count}"]
        """,
        {"env": env_scope(environment)},
    )
    assert data == {
        "uri": "s3://sagemaker-local/runs/2/x",
        "twice": "x-x",
        "in_list": ["prefix-2", 2],
    }


def test_s3_prefixes_and_bucket():
    data, resolver = resolve(
        """\
        a: ${s3.input}/train.csv
        b: ${s3.bucket}
        c: s3://${s3.bucket}/k
        """,
        {"s3": s3_scope("my-bucket", {"input": "iris/input"})},
    )
    assert resolver.problems == []
    assert data == {"a": "s3://my-bucket/iris/input/train.csv", "b": "my-bucket", "c": "s3://my-bucket/k"}


def test_params_become_jinja_templates_and_dag_id_the_dag_id():
    data, _ = resolve(
        """\
        k: ${params.k}
        text: k=${params.k}
        key: ${dag_id}/code
        whole: ${dag_id}
        """,
        {"params": params_scope({"k": {"default": 3}}), "dag_id": dag_id_scope("iris")},
    )
    assert data == {"k": "{{ params.k }}", "text": "k={{ params.k }}", "key": "iris/code", "whole": "iris"}


def test_other_scopes_are_left_for_a_later_pass(environment):
    data, resolver = resolve("a: ${s3.input}/x\nb: ${params.k}\n", {"env": env_scope(environment)})
    assert data == {"a": "${s3.input}/x", "b": "${params.k}"}
    assert resolver.problems == []


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("v: ${env.nope}", "'${env.nope}' names nothing", "known: aws_conn_id, bucket, count"),
        ("v: ${env.buckt}", "'${env.buckt}' names nothing", "did you mean 'bucket'?"),
        ("v: x-${env.regin}-y", "'${env.regin}' names nothing", "did you mean 'region'?"),
        ("v: ${env}", "'${env}' names nothing", ""),
        ("v: ${dag_id.x}", "'${dag_id.x}' names nothing", "none defined"),
        ("v: ${evn.bucket}", "unknown reference '${evn.bucket}'", "did you mean 'env'?"),
        ("v: ${HOME}", "unknown reference '${HOME}'", "references are ${env.x}"),
    ],
)
def test_unknown_names_are_located_problems_with_hints(environment, text, message, hint):
    data, resolver = resolve(
        "a:\n  " + text + "\n", {"env": env_scope(environment), "dag_id": dag_id_scope("iris")}
    )
    assert len(resolver.problems) == 1
    found = resolver.problems[0]
    assert (found.line, found.column, found.field) == (2, 6, "a.v")
    assert message in found.message
    assert hint in found.hint
    assert found.code == "reference"
    assert resolver.bad_paths == {("a", "v")}
    assert data["a"]["v"] == text.removeprefix("v: ")  # an unresolved reference stays as written


def test_unknown_s3_and_params_names():
    _, resolver = resolve(
        "a: ${s3.inptu}\nb: ${params.kk}\n",
        {"s3": s3_scope("b", {"input": "x"}), "params": params_scope({"k": {"default": 1}})},
    )
    assert [(p.line, p.hint) for p in resolver.problems] == [
        (1, "did you mean 'input'?"),
        (2, "did you mean 'k'?"),
    ]


@pytest.mark.parametrize("text", ["${env.bucket", "x ${env.iris-data} y", "${}", "${env.}", "$${env.bucket"])
def test_malformed_references_are_reported_by_the_pass_that_asks(environment, text):
    source = f"v: '{text}'\n"
    _, quiet = resolve(source, {"env": env_scope(environment)})
    assert quiet.problems == []
    _, strict = resolve(source, {"env": env_scope(environment)}, report_malformed=True)
    assert len(strict.problems) == 1
    assert "malformed reference" in strict.problems[0].message


def test_keys_are_never_resolved(environment):
    data, _ = resolve("${env.bucket}: 1\n", {"env": env_scope(environment)})
    assert data == {"${env.bucket}": 1}


def test_through_the_checker_the_pipeline_bucket_and_env_values_combine(check, local_env):
    result = check(
        """\
        start_date: 2024-01-01
        s3:
          bucket: ${env.bucket}-copy
          prefixes:
            data: ${dag_id}/data
        tasks:
          train:
            kind: training
            algorithm: knn
            instance_count: ${env.instance_count}
            inputs:
              train: ${s3.data}/train.csv
        """,
        name="refs",
        environment=dataclasses.replace(local_env, values={"instance_count": 2}),
    )
    assert result.problems == [], [p.format() for p in result.problems]
    config = result.compiled.task("train").kwargs["config"]
    assert config["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == (
        "s3://sagemaker-local-copy/refs/data/train.csv"
    )
    assert config["ResourceConfig"]["InstanceCount"] == 2
