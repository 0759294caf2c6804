"""The Python objects a compiled pipeline stands for: one of the project's runtime functions, or what
calling one with JSON arguments returns (a guard, a notifier).

A compiled pipeline is JSON data - it is cached, shown by ``render`` and written into DAG files by
``compile`` - so it cannot hold a function. It holds a *reference* instead, ``{"__callable__": path}``
or ``{"__callable__": path, "__kwargs__": {...}}``, and only the DAG builder (``airflow/dag_builder.py``)
and ``compile`` (``toolkit/pycompile.py``) turn one into code, and only in the arguments the compiler
writes references to: the same shape written by a user anywhere else stays plain data. This module is
the one place that knows the shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_PATH, _KWARGS = "__callable__", "__kwargs__"


@dataclass(frozen=True)
class CallableRef:
    """A runtime function by its dotted path; with ``kwargs``, the value of calling it with them."""

    path: str
    kwargs: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        """The function's own name, as a reader knows it."""
        return self.path.rpartition(".")[2]

    def to_data(self) -> dict[str, Any]:
        """The reference as compiled data."""
        return {_PATH: self.path} if self.kwargs is None else {_PATH: self.path, _KWARGS: self.kwargs}


def function(path: str) -> dict[str, Any]:
    """Compiled data that stands for the function at ``path`` itself."""
    return CallableRef(path).to_data()


def call(path: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Compiled data that stands for what ``path(**kwargs)`` returns."""
    return CallableRef(path, kwargs).to_data()


def reference(value: Any) -> CallableRef | None:
    """The reference ``value`` is, or None for any other value."""
    if not isinstance(value, dict) or _PATH not in value or not set(value) <= {_PATH, _KWARGS}:
        return None
    return CallableRef(value[_PATH], value.get(_KWARGS))
