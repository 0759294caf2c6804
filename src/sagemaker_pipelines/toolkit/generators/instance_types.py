"""The schema's instance-type lists, from botocore's model of the SageMaker API.

Each ``$defs.<use>_instance_type`` enum is the API's own list for that use (the shape the request field
has), so the schema refuses exactly what ``CreateTrainingJob`` & co. would: a type that only transform
offers is refused in a training task. botocore is pinned in the lock; a botocore upgrade that adds or
drops a type makes ``tests/core/test_schema.py`` fail until ``make schemas`` rewrites the lists.
"""

from __future__ import annotations

from functools import cache

import botocore.session

# $defs entry -> the botocore shape of the request field it feeds.
SHAPES = {
    "training_instance_type": "TrainingInstanceType",
    "transform_instance_type": "TransformInstanceType",
    "processing_instance_type": "ProcessingInstanceType",
    "endpoint_instance_type": "ProductionVariantInstanceType",
}


@cache
def instance_types() -> dict[str, list[str]]:
    """``$defs`` name -> the sorted instance types botocore's SageMaker model allows there."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return {name: sorted(model.shape_for(shape).enum) for name, shape in SHAPES.items()}


def apply(schema: dict) -> dict:
    """``schema`` with its instance-type enums replaced by botocore's (nothing else changes)."""
    defs = dict(schema["$defs"])
    for name, values in instance_types().items():
        defs[name] = {**defs[name], "enum": values}
    return {**schema, "$defs": defs}
