"""``make iam-policy``: the least-privilege IAM policy of the pipelines' requests (``statements``), with
the S3 keys of each task worked out in ``s3``."""

from sagemaker_pipelines.toolkit.iam_policy.statements import MAPPED_KINDS, UnmappedKinds, policy, render

__all__ = ["MAPPED_KINDS", "UnmappedKinds", "policy", "render"]
