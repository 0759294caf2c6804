"""Functions the generated tasks call when they run (never at DAG parse time).

Only these functions are referenced by dotted name from compiled pipelines; a pipeline's own code
comes from ``include/`` through :func:`call_include`, imported when its task runs.
"""

from __future__ import annotations

import csv
import importlib.util
import inspect
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sagemaker_pipelines.paths import include_dir, include_path


def load_include_callable(spec: str):
    """``include/<file>.py:<function>`` -> the function, imported from that file alone."""
    file_part, _, name = spec.partition(":")
    path = include_path(file_part)
    if not path.is_relative_to(include_dir()):
        raise ValueError(f"{file_part} is outside include/")
    module_name = "include_" + "_".join(path.relative_to(include_dir()).with_suffix("").parts)
    module = sys.modules.get(module_name)
    if module is None or getattr(module, "__file__", None) != str(path):
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        module_spec.loader.exec_module(module)
    return getattr(module, name)


def call_include(include_callable: str, arguments: dict[str, Any], **context: Any) -> Any:
    """Run a pipeline's Python step; it gets Airflow's context only if it asks for ``**context``."""
    function = load_include_callable(include_callable)
    takes_context = any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(function).parameters.values()
    )
    return function(**arguments, **(context if takes_context else {}))


def _rows(filepath: str, skip_header: bool) -> Iterable[list[str]]:
    with Path(filepath).open(newline="") as handle:
        reader = csv.reader(handle)
        if skip_header:
            next(reader, None)
        yield from (row for row in reader if row)


def parse_csv(filepath: str) -> list[list[str]]:
    """Parser for S3ToSqlOperator: every non-empty CSV row."""
    return list(_rows(filepath, skip_header=False))


def parse_csv_skip_header(filepath: str) -> list[list[str]]:
    return list(_rows(filepath, skip_header=True))
