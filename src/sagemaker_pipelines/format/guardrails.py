"""The ``guardrails:`` block of an environment file, as typed data.

The platform team, not pipeline authors, decides what an environment may spend and reach: which roles
jobs run as, which instance types, how many instances and for how long, how wide ``for_each`` fans out,
which buckets jobs read and write, which tags every request carries. This module only reads the block
(the schema has checked its shape); ``compile/guardrails.py`` checks requests against it, at validate
time and again when a task runs. The block is kept as the plain data the file holds too (``raw``), so a
compiled task can carry it to the worker without importing anything at parse time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from sagemaker_pipelines.format.durations import to_seconds

DEFAULT = "default"  # the per-kind key that applies to kinds without their own entry


@dataclass(frozen=True)
class Guardrails:
    """What one environment allows; an empty field (None, empty) is no limit."""

    raw: dict[str, Any]  # the block as written: what compiled tasks carry to the run-time check
    roles: tuple[str, ...] = ()
    instance_types: dict[str, tuple[str, ...]] = field(default_factory=dict)  # kind or "default" -> globs
    max_instance_count: dict[str, int] = field(default_factory=dict)
    max_runtime: dict[str, int] = field(default_factory=dict)  # seconds
    max_fan_out_per_task: int | None = None
    max_fan_out_per_run: int | None = None
    read_buckets: tuple[str, ...] = ()
    write_buckets: tuple[str, ...] = ()
    required_tags: dict[str, str | None] = field(default_factory=dict)  # key -> fixed value, or None: any

    @property
    def limits_buckets(self) -> bool:
        return bool(self.read_buckets or self.write_buckets)

    def instance_types_for(self, kind: str) -> tuple[str, ...]:
        return self.instance_types.get(kind, self.instance_types.get(DEFAULT, ()))

    def max_instance_count_for(self, kind: str) -> int | None:
        return self.max_instance_count.get(kind, self.max_instance_count.get(DEFAULT))

    def max_runtime_for(self, kind: str) -> int | None:
        return self.max_runtime.get(kind, self.max_runtime.get(DEFAULT))

    def role_allowed(self, arn: str) -> bool:
        return not self.roles or any(fnmatchcase(arn, pattern) for pattern in self.roles)

    def bucket_allowed(self, bucket: str, write: bool, own_bucket: str = "") -> bool:
        """Whether requests may read (or ``write``) ``bucket``; the environment's own bucket always."""
        if not self.limits_buckets or bucket == own_bucket:
            return True
        patterns = self.write_buckets if write else (*self.read_buckets, *self.write_buckets)
        return any(fnmatchcase(bucket, pattern) for pattern in patterns)


def _per_kind(value: Any, convert=lambda v: v) -> dict[str, Any]:
    """A per-kind setting as written (one value for every kind, or a mapping with ``default``)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {kind: convert(v) for kind, v in value.items()}
    return {DEFAULT: convert(value)}


def read_guardrails(data: dict[str, Any] | None) -> Guardrails | None:
    """The typed guardrails of a schema-valid block; None when the environment has none."""
    if not data:
        return None
    fan_out = data.get("max_fan_out") or {}
    buckets = data.get("buckets") or {}
    return Guardrails(
        raw=data,
        roles=tuple(data.get("roles", ())),
        instance_types=_per_kind(data.get("instance_types"), tuple),
        max_instance_count=_per_kind(data.get("max_instance_count")),
        max_runtime=_per_kind(data.get("max_runtime"), to_seconds),
        max_fan_out_per_task=fan_out.get("per_task"),
        max_fan_out_per_run=fan_out.get("per_run"),
        read_buckets=tuple(buckets.get("read", ())),
        write_buckets=tuple(buckets.get("write", ())),
        required_tags=dict(data.get("required_tags") or {}),
    )
