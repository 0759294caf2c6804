"""Every task kind, collected from the ``SPECS`` of the family modules that define them (``spec.py`` says
what a spec holds). Adding a kind means a spec in its family's module and a schema fragment,
``schemas/kinds/<kind>.json``; ``docs/adding-a-kind.md`` walks through one, and
``tests/core/test_kind_specs.py`` fails while a spec or its fragment is incomplete.
"""

from __future__ import annotations

from types import ModuleType

from sagemaker_pipelines.compile.kinds import (
    automl,
    data,
    gates,
    hosting,
    jobs,
    notebooks,
    operators,
    pipelines,
    registry,
)
from sagemaker_pipelines.compile.kinds.context import TaskContext
from sagemaker_pipelines.compile.kinds.spec import Alias, Kind

__all__ = ["ALIASES", "FAMILIES", "KINDS", "Alias", "Kind", "TaskContext", "all_kind_names", "resolve_kind"]

# The modules whose SPECS hold the kinds, in the order the schema's ``kind`` list shows them.
FAMILIES: tuple[ModuleType, ...] = (
    jobs,
    hosting,
    registry,
    automl,
    pipelines,
    notebooks,
    gates,
    data,
    operators,
)

KINDS: dict[str, Kind] = {name: spec for family in FAMILIES for name, spec in family.SPECS.items()}
# Kinds that become another kind depending on the environment.
ALIASES: dict[str, Alias] = dict(data.ALIASES)


def resolve_kind(ctx: TaskContext) -> str:
    kind = ctx.get("kind")
    return ALIASES[kind].resolve(ctx) if kind in ALIASES else kind


def all_kind_names() -> list[str]:
    return sorted([*KINDS, *ALIASES])
