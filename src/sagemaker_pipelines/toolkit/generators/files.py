"""``schemas``: write (or, with ``--check``, compare) every generated file from its sources.

In order: the source schema's instance-type enums (botocore), then the authored view derived from the
source schema. Each file is rewritten only where its sources changed it, formatted as committed.
"""

from __future__ import annotations

import json
from pathlib import Path

from sagemaker_pipelines.paths import schemas_dir
from sagemaker_pipelines.toolkit.generators import instance_types, schema_views


def source_schema_path() -> Path:
    return schemas_dir() / "pipeline.schema.json"


def authored_schema_path() -> Path:
    return schemas_dir() / f"{schema_views.AUTHORED_NAME}.schema.json"


def expected_files() -> dict[Path, str]:
    """Every generated file and the text its sources give it today."""
    source = json.loads(source_schema_path().read_text(encoding="utf-8"))
    source = instance_types.apply(source)
    return {
        source_schema_path(): schema_views.render(source),
        authored_schema_path(): schema_views.render(schema_views.authored_view(source)),
    }


def stale_files() -> list[Path]:
    """The generated files whose committed text differs from what their sources give."""
    return [
        p for p, text in expected_files().items() if not p.is_file() or p.read_text(encoding="utf-8") != text
    ]


def write_files() -> list[Path]:
    """Rewrite the stale generated files; returns them."""
    written = []
    for path, text in expected_files().items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written
