"""``schemas``: write (or, with ``--check``, compare) every generated file from its sources.

In order: ``compile/image_data.json`` from the SageMaker SDK's image data; ``compile/hyperparameters.json``
from the SDK v2's algorithm estimators; ``compile/request_shapes.json`` from botocore's SageMaker model;
the source schema's generated parts (its task branches from the
kinds' fragments and specs; instance types from botocore; algorithms, regions and framework versions from
the image data); ``format/schema_validity.py``, that schema and the environment's compiled to the plain
Python the checker's happy path asks "valid?" (``validity_code.py``); then the authored view of every format
version (format/migrations.py), derived from the source schema with each checked algorithm's
hyperparameters for editors: ``schemas/<version>/pipeline.authored.schema.json``, and the oldest
version's again at ``schemas/pipeline.authored.schema.json``, the path files written before versions
name. A file is rewritten only when its sources change it, formatted as committed.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sagemaker_pipelines.compile import hyperparameters
from sagemaker_pipelines.compile.images import DATA_PATH
from sagemaker_pipelines.compile.request_check import SHAPES_PATH
from sagemaker_pipelines.format import migrations
from sagemaker_pipelines.format.schema_check import VALIDITY_PATH
from sagemaker_pipelines.format.versions import CURRENT, OLDEST, VERSIONS
from sagemaker_pipelines.paths import display_path, schemas_dir
from sagemaker_pipelines.toolkit.generators import (
    hyperparameter_data,
    hyperparameter_schema,
    image_data,
    instance_types,
    request_shapes,
    schema_views,
    task_schema,
    validity_code,
)


def source_schema_path() -> Path:
    return schemas_dir() / "pipeline.schema.json"


def authored_schema_path() -> Path:
    """The editors' schema of the current format version."""
    return version_schema_path(CURRENT)


def version_schema_path(version: str) -> Path:
    """The editors' schema of one format version: ``schemas/<version>/pipeline.authored.schema.json``."""
    return schemas_dir() / version / f"{schema_views.AUTHORED_NAME}.schema.json"


def unversioned_schema_path() -> Path:
    """The schema of files whose modeline names no version (every file written before versions): the
    oldest version's, at the path those files name."""
    return schemas_dir() / f"{schema_views.AUTHORED_NAME}.schema.json"


@dataclass
class Generated:
    """Every generated file and the text its sources give it; ``notes`` say what could not be checked."""

    files: dict[Path, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def stale(self) -> list[Path]:
        return [
            p for p, text in self.files.items() if not p.is_file() or p.read_text(encoding="utf-8") != text
        ]


def generate(sdk_wheel: Path | None = None) -> Generated:
    """What the sources say today: the image data from ``sdk_wheel`` or the installed sagemaker-core, the
    hyperparameters from the installed sagemaker 2.x. Without a source, the committed file stands (and a
    note says it was not compared)."""
    out = Generated()
    try:
        version, configs = (
            image_data.wheel_configs(sdk_wheel) if sdk_wheel else image_data.installed_configs()
        )
    except image_data.ImageDataMissing as exc:
        out.notes.append(f"{exc}; compile/image_data.json was not compared with it")
        data = json.loads(DATA_PATH.read_text(encoding="utf-8"))
    else:
        data = image_data.build(version, configs)
        out.files[DATA_PATH] = image_data.render(data)
    try:
        hp_version, hp_sources = hyperparameter_data.installed_sources()
    except hyperparameter_data.HyperparameterDataMissing as exc:
        out.notes.append(f"{exc}; compile/hyperparameters.json was not compared with it")
        hp_data = json.loads(hyperparameters.DATA_PATH.read_text(encoding="utf-8"))
    else:
        hp_data = hyperparameter_data.build(hp_version, hp_sources)
        out.files[hyperparameters.DATA_PATH] = hyperparameter_data.render(hp_data)
    out.files[SHAPES_PATH] = request_shapes.render(request_shapes.build())
    source = json.loads(source_schema_path().read_text(encoding="utf-8"))
    source = image_data.apply(instance_types.apply(task_schema.apply(source)), data)
    out.files[source_schema_path()] = schema_views.render(source)
    out.files[VALIDITY_PATH] = _validity_code(out.files[source_schema_path()])
    current = hyperparameter_schema.apply(schema_views.authored_view(source), source, hp_data)
    out.files[authored_schema_path()] = schema_views.render(schema_views.versioned(current, CURRENT))
    for version in VERSIONS[:-1]:  # each older version's view, derived through the migrations
        view = schema_views.versioned(migrations.schema_of_version(current, version), version)
        out.files[version_schema_path(version)] = schema_views.render(view)
    oldest = migrations.schema_of_version(current, OLDEST)
    out.files[unversioned_schema_path()] = schema_views.render(oldest)
    return out


def _validity_code(pipeline_text: str) -> str:
    """``format/schema_validity.py`` from the pipeline schema's generated text and the environment schema
    file: the digests it records are of the bytes the runtime finds on disk."""
    import hashlib

    environment = (schemas_dir() / "environment.schema.json").read_text(encoding="utf-8")
    schemas = {
        name: (hashlib.sha256(text.encode("utf-8")).hexdigest(), json.loads(text))
        for name, text in (("pipeline", pipeline_text), ("environment", environment))
    }
    return validity_code.render(schemas)


def run(check: bool = False, sdk_wheel: Path | None = None) -> int:
    """``sagemaker-pipelines schemas [--check]``: write the stale files, or (check) name them and exit 1."""
    generated = generate(sdk_wheel)
    for note in generated.notes:
        print(f"note: {note}", file=sys.stderr)
    stale = generated.stale()
    for path in stale:
        if check:
            print(f"{display_path(path)} is stale: run 'make schemas' and commit it", file=sys.stderr)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(generated.files[path], encoding="utf-8")
            print(f"wrote {display_path(path)}")
    if not stale:
        print("the generated files are up to date")
    return 1 if stale and check else 0
