"""What a data scientist sees in VS Code (whose YAML extension is yaml-language-server): the real server,
pinned in ``tools/editor/`` and installed by ``make install``, driven over stdio LSP as the editor does.

Every shipped pipeline, environment file and template opens with no diagnostic at all; completion inside
a training task offers training fields only; a misspelt key, a wrong instance type and a wrong kind are
each an error on their own line, in words (not the 225 instance types, not "Expected integer").
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagemaker_pipelines.format.versions import VERSIONS
from sagemaker_pipelines.paths import CHECKOUT_ROOT, schemas_dir
from sagemaker_pipelines.toolkit.scaffold import template_names, template_text

from .lsp import SERVER, LanguageServer
from .shipped import label, shipped_files

AUTHORED = json.loads((schemas_dir() / "pipeline.authored.schema.json").read_text())
PROPERTY = 10  # LSP CompletionItemKind.Property
MODELINE = "# yaml-language-server: $schema=../schemas/pipeline.authored.schema.json\n"


@pytest.fixture(scope="module")
def server() -> Iterator[LanguageServer]:
    if shutil.which("node") is None or not SERVER.is_file():
        pytest.fail(
            f"yaml-language-server is not installed ({SERVER}): run 'make install' (needs Node and npm)"
        )
    running = LanguageServer()
    yield running
    running.close()


def _shown(diagnostics: list[dict]) -> str:
    return "\n".join(f"{d['range']['start']['line'] + 1}: {d['message']}" for d in diagnostics)


@pytest.mark.parametrize("path", shipped_files(), ids=label)
def test_every_shipped_file_opens_without_a_diagnostic(server: LanguageServer, path: Path):
    diagnostics = server.open(path)
    assert diagnostics == [], _shown(diagnostics)


@pytest.mark.parametrize("template", template_names())
def test_a_new_pipeline_opens_without_a_diagnostic(server: LanguageServer, template: str):
    """What ``make new`` writes into pipelines/, opened there (its schema line resolved from there)."""
    path = CHECKOUT_ROOT / "pipelines" / f"editor-test-{template}.yaml"  # never written: the text is sent
    diagnostics = server.open(path, template_text(template, f"editor-test-{template}"))
    assert diagnostics == [], _shown(diagnostics)


BROKEN = (
    MODELINE
    + """\
start_date: 2024-01-01
tasks:
  train:
    kind: training
    algorithm: knn
    instance_typ: ml.m5.large
    instance_type: ml.m5.larg
    max_runtime: 2 hours
    output: ${s3.output}/
  predict:
    kind: transfrom
    model: train
"""
)


def _lines(diagnostics: list[dict]) -> dict[int, str]:
    return {d["range"]["start"]["line"] + 1: d["message"] for d in diagnostics}


def test_each_mistake_is_an_error_on_its_line(server: LanguageServer):
    found = _lines(server.open(CHECKOUT_ROOT / "pipelines" / "editor-test-broken.yaml", BROKEN))
    assert sorted(found) == [7, 8, 9, 12], found
    assert "instance_typ" in found[7]  # the misspelt key
    assert found[8] == "Expected a SageMaker training instance type, or a reference such as ${env.<name>}."
    assert found[9].startswith("Expected a duration: seconds as a number, or a string like 90s")
    assert found[12].startswith("Expected a task kind: training, tuning, processing, transform,")


@pytest.mark.parametrize("version", VERSIONS)
def test_every_format_version_names_a_schema_the_editor_loads(server: LanguageServer, version: str):
    """The versioned schema URL resolves: the same mistakes are errors on the same lines under it."""
    text = BROKEN.replace("../schemas/", f"../schemas/{version}/", 1)
    found = _lines(server.open(CHECKOUT_ROOT / "pipelines" / f"editor-test-{version}.yaml", text))
    assert sorted(found) == [7, 8, 9, 12], found


def test_a_file_of_an_earlier_format_opens_without_a_diagnostic(server: LanguageServer):
    for path in sorted((CHECKOUT_ROOT / "tests" / "toolkit" / "formats").glob("*.yaml")):
        diagnostics = server.open(path)
        assert diagnostics == [], f"{path.name}: {_shown(diagnostics)}"


def test_references_are_accepted_where_validate_resolves_them(server: LanguageServer):
    text = MODELINE + (
        "start_date: 2024-01-01\n"
        "s3: {prefixes: {data: iris}}\n"
        "params: {n: {default: 1}}\n"
        "tasks:\n"
        "  predict:\n"
        "    kind: transform\n"
        "    model_name: ${env.existing_model_name}\n"
        "    input: ${s3.data}/test.csv\n"
        "    output: s3://${s3.bucket}/out/\n"
        "    instance_count: ${params.n}\n"  # becomes '{{ params.n }}': not an integer, refused
    )
    found = _lines(server.open(CHECKOUT_ROOT / "pipelines" / "editor-test-refs.yaml", text))
    assert list(found) == [11], found
    assert found[11] == "Expected an integer from 1 to 100, or a reference such as ${env.<name>}."


def _completion_labels(server: LanguageServer, kind: str) -> set[str]:
    text = MODELINE + f"start_date: 2024-01-01\ntasks:\n  t:\n    kind: {kind}\n    \n"
    path = CHECKOUT_ROOT / "pipelines" / f"editor-test-complete-{kind}.yaml"
    server.open(path, text)
    # Field names only: the server also offers the branch's whole examples as snippets ("a training task")
    return {item["label"] for item in server.completion(path, 5, 4) if item.get("kind") == PROPERTY}


@pytest.mark.parametrize("kind", ["training", "transform", "endpoint", "tuning", "training_sensor"])
def test_completion_in_a_task_offers_the_fields_of_its_kind_only(server: LanguageServer, kind: str):
    offered = _completion_labels(server, kind)
    fields = set(AUTHORED["$defs"][f"{kind}_task"]["properties"]) - {"kind"}
    assert offered == fields
    sensor_only = set(AUTHORED["$defs"]["training_sensor_task"]["properties"]) - set(
        AUTHORED["$defs"]["training_task"]["properties"]
    )
    assert sensor_only and (offered & sensor_only) == (sensor_only if kind.endswith("_sensor") else set())


KNN = (
    MODELINE
    + """\
start_date: 2024-01-01
params: {k: {type: integer, default: 3}}
tasks:
  train:
    kind: training
    algorithm: knn
    hyperparameters:
      featur_dim: 4
      predictor_type: classify
      k: 0
      sample_size: "150"
      index_type: ${params.k}
    inputs: {train: s3://my-bucket/iris/train.csv}
"""
)


def test_a_built_in_algorithms_hyperparameters_are_checked_as_typed(server: LanguageServer):
    """Once ``algorithm: knn`` is set: a misspelt name, a value outside the allowed set and a number out of
    bounds are each an error on its line; a string that parses ("150") and a reference are not."""
    found = _lines(server.open(CHECKOUT_ROOT / "pipelines" / "editor-test-knn.yaml", KNN))
    assert sorted(found) == [9, 10, 11], found
    assert "featur_dim" in found[9]
    assert found[10].startswith("Expected one of: classifier, regressor")
    assert found[11] == "Value is below the minimum of 1."  # the server's own words for a bound


def test_completion_in_hyperparameters_offers_the_algorithms_names(server: LanguageServer):
    text = MODELINE + "start_date: 2024-01-01\ntasks:\n  t:\n    kind: training\n    algorithm: knn\n"
    text += "    hyperparameters:\n      \n"
    path = CHECKOUT_ROOT / "pipelines" / "editor-test-complete-knn.yaml"
    server.open(path, text)
    offered = {item["label"] for item in server.completion(path, 7, 6) if item.get("kind") == PROPERTY}
    assert {"feature_dim", "k", "predictor_type", "sample_size", "index_type"} <= offered
    assert "num_topics" not in offered  # an NTM hyperparameter


def test_a_tuning_range_must_name_one_of_the_algorithms_hyperparameters(server: LanguageServer):
    text = MODELINE + (
        "start_date: 2024-01-01\n"
        "tasks:\n"
        "  tune:\n"
        "    kind: tuning\n"
        "    algorithm: knn\n"
        "    hyperparameters: {predictor_type: classifier, sample_size: 150, feature_dim: 4}\n"
        "    ranges:\n"
        "      k: {type: integer, min: 1, max: 9}\n"
        "      kk: {type: integer, min: 1, max: 9}\n"
        '    objective: {metric: "test:accuracy", type: Maximize}\n'
        "    inputs: {train: s3://my-bucket/iris/train.csv}\n"
    )
    found = _lines(server.open(CHECKOUT_ROOT / "pipelines" / "editor-test-tune.yaml", text))
    assert list(found) == [10], found
