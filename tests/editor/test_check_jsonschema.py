"""check-jsonschema, the CLI CI tools and pre-commit hooks use, agrees with validate on the shipped files:
each file against the schema its own ``$schema`` line names, and zero errors. A broken copy shows the same
schema is not vacuous: a misspelt key, a wrong instance type and a wrong kind are each reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sagemaker_pipelines.format.versions import CURRENT
from sagemaker_pipelines.paths import schemas_dir

from .shipped import label, schema_of, shipped_files


def check_jsonschema(schema: Path, *files: Path) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "check_jsonschema",
        "--output-format",
        "json",
        "--schemafile",
        str(schema),
    ]
    return subprocess.run([*command, *map(str, files)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("path", shipped_files(), ids=label)
def test_every_shipped_file_is_valid_for_the_schema_it_names(path: Path):
    schema = schema_of(path)
    assert schema.is_file(), f"{label(path)} points at {schema}, which does not exist"
    done = check_jsonschema(schema, path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_pipelines_name_the_authored_view_and_environments_their_own_schema():
    for path in shipped_files():
        expected = (
            "environment.schema.json"
            if path.parent.name == "environments"
            else f"{CURRENT}/pipeline.authored.schema.json"  # the current format version
        )
        assert schema_of(path) == (schemas_dir() / expected).resolve(), label(path)


BROKEN = """\
start_date: 2024-01-01
tasks:
  train:
    kind: training
    algorithm: knn
    instance_typ: ml.m5.large
    instance_type: ml.m5.larg
    output: ${s3.output}/
  sense:
    kind: training_sensr
"""


def test_a_broken_pipeline_gets_one_error_per_mistake(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    done = check_jsonschema(schemas_dir() / "pipeline.authored.schema.json", path)
    assert done.returncode == 1
    errors = json.loads(done.stdout)["errors"]
    where = sorted(e["path"] for e in errors)
    assert where == ["$.tasks.sense.kind", "$.tasks.train", "$.tasks.train.instance_type"], errors
    messages = " ".join(e["message"] for e in errors)
    assert "'instance_typ' was unexpected" in messages
