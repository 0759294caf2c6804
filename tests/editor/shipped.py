"""The YAML files the project ships for people to open in an editor, and the schema each one names."""

from __future__ import annotations

import re
from pathlib import Path

from sagemaker_pipelines.paths import CHECKOUT_ROOT, PACKAGE_DIR

MODELINE = re.compile(r"^# yaml-language-server: \$schema=(?P<schema>\S+)$")


def shipped_files() -> list[Path]:
    """Every shipped pipeline, environment file and ``make new`` template."""
    return [
        *sorted((CHECKOUT_ROOT / "pipelines").glob("*.yaml")),
        *sorted((CHECKOUT_ROOT / "environments").glob("*.yaml")),
        *sorted((PACKAGE_DIR / "toolkit" / "templates").glob("*.yaml")),
    ]


def schema_of(path: Path) -> Path:
    """The schema file a YAML file's first line points editors at (resolved from the file's folder)."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = MODELINE.match(first)
    assert match, f"{path}: the first line must be '# yaml-language-server: $schema=...'"
    return (path.parent / match["schema"]).resolve()


def label(path: Path) -> str:
    return str(path.relative_to(CHECKOUT_ROOT))
