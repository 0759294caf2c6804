"""``kind: operator``: any Airflow operator class the platform team lists in an environment's
``allowed_operators``; what may be named and passed is ``compile/allowed_operators.py``'s."""

from __future__ import annotations

from sagemaker_pipelines.compile import allowed_operators
from sagemaker_pipelines.compile.kinds.spec import Graph, Kind

SPECS = {
    # Its SageMaker calls are its class's: the platform team that allows a class owns its permissions
    # (iam-policy refuses such a task rather than guess them).
    allowed_operators.KIND: Kind(
        allowed_operators.BASE_OPERATOR,
        allowed_operators.compile_operator,
        Graph.DATA,
        (),
        operator_of=allowed_operators.operator_of,
        fan_out=False,
    ),
}
