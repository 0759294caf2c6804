"""What an operator does when an argument is left out: the defaults of its ``__init__`` chain.

A kind compiles to an operator that DAG authors know, so a default of ours that is not the operator's
changes what a ported DAG means; ``Kind.differs`` and ``spec.ENVIRONMENT_ARGUMENTS`` say why each such
difference is there, ``tests/core/test_operator_defaults.py`` compares them against what this module
reads from the operator classes, and the pipeline reference prints them.
"""

from __future__ import annotations

import importlib
import inspect
from datetime import timedelta
from functools import cache
from typing import Any

PROVIDER_PACKAGE = "airflow.providers."


@cache
def operator_class(dotted: str) -> type:
    """The class a kind's ``operator`` names (imported: the operator modules are Airflow's own)."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


@cache
def operator_defaults(cls: type) -> dict[str, Any]:
    """Every keyword argument ``cls`` accepts that has a default, with it: each class's own ``__init__`` up
    the MRO for as long as one hands ``**kwargs`` on, so ``BaseOperator``'s (retries, retry_delay,
    pre_execute, ...) and a sensor base's (poke_interval, ...) are included. The nearest class wins, as it
    does when the operator is built."""
    defaults: dict[str, Any] = {}
    required: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass) or klass is object:
            continue
        params = inspect.signature(klass.__init__).parameters.values()
        for p in params:
            if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if p.name in defaults or p.name in required:
                continue
            if p.default is p.empty:
                required.add(p.name)
            else:
                defaults[p.name] = p.default
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return defaults


def provider_class(cls: type) -> type:
    """The provider's operator a class is, or extends (ours add exactly-once jobs and better failure
    messages, never other defaults): the class a DAG author would have written."""
    return next((k for k in cls.__mro__ if k.__module__.startswith(PROVIDER_PACKAGE)), cls)


def same_default(ours: Any, theirs: Any) -> bool:
    """Whether a compiled value means the operator's default: compiled durations are seconds where the
    operator's defaults are timedeltas."""
    if isinstance(theirs, timedelta) and isinstance(ours, int | float) and not isinstance(ours, bool):
        return theirs.total_seconds() == ours
    try:
        return bool(ours == theirs)
    except Exception:  # a default whose __eq__ refuses a plain value (a sentinel) is not equal to it
        return False
