"""The IAM policy never grants what the environment's guardrails forbid (``format/guardrails.py``).

The pipelines ``make iam-policy`` reads have passed ``validate``, so their literal roles and buckets are
within the guardrails; this is the policy's own guarantee, for compiled pipelines from anywhere (another
environment's, a cache, a test). A role or bucket outside the guardrails is refused by name rather than
left out silently: a policy that lacks a grant fails at run time, far from the cause. A role known only
at run time is granted as the guardrails' roles, which the task's run-time check holds it to.
"""

from __future__ import annotations

from collections.abc import Iterable

from sagemaker_pipelines.compile.guardrails import is_runtime
from sagemaker_pipelines.format.environment import Environment


class ForbiddenByGuardrails(ValueError):
    """Roles or buckets the pipelines name that the environment's guardrails do not allow."""


def passable_roles(roles: Iterable[str], environment: Environment) -> list[str]:
    """The roles to grant ``iam:PassRole`` on; ForbiddenByGuardrails for a literal role not allowed."""
    guardrails = environment.guardrails
    roles = set(roles)
    if guardrails is None:
        return sorted(roles)
    refused = sorted(r for r in roles if not is_runtime(r) and not guardrails.role_allowed(r))
    if refused:
        raise ForbiddenByGuardrails(
            f"no iam:PassRole is granted on roles outside the guardrails of environment "
            f"'{environment.name}' ({', '.join(guardrails.roles)}): {', '.join(refused)}"
        )
    runtime = any(is_runtime(r) for r in roles)
    return sorted({*(r for r in roles if not is_runtime(r)), *(guardrails.roles if runtime else ())})


def _bucket(arn: str) -> str:
    return arn.partition(":::")[2].partition("/")[0]


def split_read_only(objects: set[str], deleted: set[str], environment: Environment) -> tuple[set, set]:
    """(object ARNs to read and write, those only to read): a bucket the guardrails allow reading but
    not writing gets no ``s3:PutObject``. ForbiddenByGuardrails for a bucket they do not allow at all,
    or one a task deletes from without being allowed to write it."""
    guardrails = environment.guardrails
    if guardrails is None or not guardrails.limits_buckets:
        return objects, set()
    uses = [(_bucket(o), False) for o in objects] + [(_bucket(o), True) for o in deleted]
    refused = sorted(
        {
            f"{bucket} ({'write' if write else 'read'})"
            for bucket, write in uses
            if is_runtime(bucket) or not guardrails.bucket_allowed(bucket, write, environment.bucket)
        }
    )
    if refused:
        raise ForbiddenByGuardrails(
            f"no S3 access is granted outside the buckets the guardrails of environment "
            f"'{environment.name}' allow: {', '.join(refused)} (a bucket known only at run time cannot "
            "be granted either)"
        )
    read_only = {o for o in objects if not guardrails.bucket_allowed(_bucket(o), True, environment.bucket)}
    return objects - read_only, read_only
