"""Problems found in a pipeline: plain data, produced by every stage and printed by one reporter.

A problem always says where (file, line, column, field path), what was found and what is allowed,
so a data scientist can fix it without reading the loader's code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from enum import StrEnum

ERROR, WARNING = "error", "warning"


class Code(StrEnum):
    """What found a problem (a stage, a check, a file the run needs): the stable word that ``validate
    --format json``, CI annotations and tests key on, one place for all of them."""

    AIRFLOW = "airflow"
    DAG_FILE = "dag_file"
    DUPLICATE = "duplicate"
    ENVIRONMENT = "environment"
    FOR_EACH = "for_each"
    HYPERPARAMETER = "hyperparameter"
    IMAGE = "image"
    INCLUDE = "include"
    INTERNAL = "internal"
    IO = "io"
    NAME = "name"
    NOTIFY = "notify"
    OPERATOR = "operator"
    PUBLISH = "publish"
    REFERENCE = "reference"
    REQUEST = "request"
    SCHEMA = "schema"
    SCHEMA_FILE = "schema-file"
    SECRET = "secret"
    SEMANTICS = "semantics"
    TEMPLATE = "template"
    VERSION = "version"
    YAML = "yaml"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one file."""

    file: str
    line: int = 0  # 1-based; 0 when the problem concerns the whole file
    column: int = 0
    field: str = ""  # dotted path inside the document, e.g. ``tasks.train.instance_type``
    message: str = ""
    hint: str = ""  # e.g. "did you mean 'instance_type'?"
    code: str = dataclasses.field(default=Code.SCHEMA, compare=False)  # what found it (a Code)
    # "error" fails validate; "warning" is shown (and annotated in CI) but passes: something that is
    # allowed yet probably not meant, like a schedule on an asset no pipeline publishes.
    severity: str = dataclasses.field(default=ERROR, compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def location(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file

    def format(self) -> str:
        """``path:line:col: field.path: message (hint)`` - the one-line human form."""
        text = f"{self.location()}: "
        if not self.is_error:
            text += f"{self.severity}: "
        if self.field:
            text += f"{self.field}: "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        return text

    def as_dict(self) -> dict:
        return asdict(self)


class PipelineInvalid(Exception):
    """Raised where a caller wants an exception instead of a list (the Airflow loader's error DAG)."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(p.format() for p in self.problems))


def field_path(path: tuple | list) -> str:
    """Render a document path such as ``("tasks", "train", "inputs", 0)`` as ``tasks.train.inputs[0]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
