"""Small pipeline texts that several test modules start from, written once."""

from __future__ import annotations

HEADER = "start_date: 2024-01-01\ntasks:\n"
PREPARE = "  prepare:\n    kind: python\n    callable: include/iris_data.py:prepare_iris\n"
TRAIN = (
    '  train:\n    kind: training\n    algorithm: knn\n    inputs: {train: "s3://my-bucket/iris/train.csv"}\n'
)

# The shortest valid pipeline with two kinds: a python step, then a training job.
PREPARE_AND_TRAIN = HEADER + PREPARE + TRAIN
