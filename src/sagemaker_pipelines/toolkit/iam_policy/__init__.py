"""``make iam-policy``: the least-privilege IAM policy of the pipelines' requests (``statements``), with
the S3 keys of each task worked out in ``s3``, and nothing the environment's guardrails forbid
(``guardrails``)."""

from sagemaker_pipelines.toolkit.iam_policy.guardrails import ForbiddenByGuardrails
from sagemaker_pipelines.toolkit.iam_policy.statements import UnmappedKinds, policy, render

__all__ = ["ForbiddenByGuardrails", "UnmappedKinds", "policy", "render"]
