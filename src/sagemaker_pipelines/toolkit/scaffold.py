"""``new``: start a pipeline from a template; also finds a pipeline by name for the other commands.

Templates live in ``templates/<name>.yaml`` next to this module. Each is a complete pipeline that
validates in every environment as written; ``__NAME__`` (in comments) becomes the new DAG id and
``__TABLE__`` a table name derived from it.
"""

from __future__ import annotations

import re
from pathlib import Path

from sagemaker_pipelines.paths import display_path, pipelines_dir
from sagemaker_pipelines.project import dag_id_of, discover

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# A template points editors at the schema from where it lives (in the package); the pipeline it becomes
# lives in pipelines/, next to the project's schemas/.
_SCHEMA_FROM_TEMPLATE = "$schema=../../schemas/"
_SCHEMA_FROM_PIPELINE = "$schema=../schemas/"
DAG_ID = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")  # schemas/pipeline.schema.json: properties.dag_id


class ScaffoldError(Exception):
    """Why no file was written (a usage error)."""


def template_names() -> list[str]:
    return sorted(p.stem for p in TEMPLATES_DIR.glob("*.yaml"))


def template_text(template: str, name: str) -> str:
    path = TEMPLATES_DIR / f"{template}.yaml"
    if not path.is_file():
        raise ScaffoldError(f"no template '{template}' (known: {', '.join(template_names())})")
    table = re.sub(r"\W", "_", name)
    if table[0].isdigit():
        table = "_" + table
    text = path.read_text(encoding="utf-8").replace(_SCHEMA_FROM_TEMPLATE, _SCHEMA_FROM_PIPELINE, 1)
    return text.replace("__NAME__", name).replace("__TABLE__", table)


def create(name: str, template: str, force: bool = False, folder: Path | None = None) -> Path:
    """Write ``<pipelines>/<name>.yaml`` from a template; never overwrite unless ``force``."""
    if not DAG_ID.match(name):
        raise ScaffoldError(f"'{name}' is not a valid DAG id: use 1 to 200 letters, digits, '_', '.' and '-'")
    text = template_text(template, name)
    root = folder or pipelines_dir()
    path = root / f"{name}.yaml"
    if path.exists() and not force:
        raise ScaffoldError(f"{display_path(path)} already exists (use --force to overwrite it)")
    owner = dag_id_owner(name, root, besides=path)
    if owner:
        raise ScaffoldError(f"DAG id '{name}' is already used by {display_path(owner)}: choose another name")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def dag_id_owner(dag_id: str, folder: Path, besides: Path) -> Path | None:
    """Another pipeline file whose DAG id is ``dag_id``."""
    for other in discover(folder) if folder.is_dir() else []:
        if other.resolve() != besides.resolve() and dag_id_of(other) == dag_id:
            return other
    return None
