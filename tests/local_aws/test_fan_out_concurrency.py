"""The jobs of a fan-out (for_each) at once: the endpoint accepts them all, runs at most its
concurrency limit (``LOCAL_AWS_MAX_CONCURRENT_JOBS``, 2 by default) at a time and queues the rest."""

from __future__ import annotations

import time

import numpy as np

from .conftest import BUCKET, KNN_IMAGE, iris_split, put, to_csv, training_job, wait_training

LIMIT = 2  # the server's default: local/aws/backend.py
JOBS = 5


_IN_SLOT = (
    "Downloading",
    "Training",
)  # set after a job takes a slot, left (for Uploading) before it frees it


def test_mapped_jobs_all_run_within_the_concurrency_limit(sm, s3):
    train, _ = iris_split()
    put(s3, "fan/train/train.csv", to_csv(np.tile(train, (200, 1))))  # enough rows to take a moment
    names = [f"fan-k-{i}" for i in range(JOBS)]
    for i, name in enumerate(names):  # as a mapped task's instances do: all created before any ends
        hyperparameters = {"feature_dim": "4", "k": str(i + 1), "predictor_type": "classifier"}
        hyperparameters["sample_size"] = str(200 * len(train))
        training_job(sm, name, KNN_IMAGE, hyperparameters, {"train": f"s3://{BUCKET}/fan/train/"})
    created = {name: sm.describe_training_job(TrainingJobName=name) for name in names}
    assert {d["TrainingJobStatus"] for d in created.values()} == {"InProgress"}  # queued, not refused

    most, queued = 0, False
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        states = [sm.describe_training_job(TrainingJobName=n) for n in names]
        working = sum(d.get("SecondaryStatus") in _IN_SLOT for d in states)
        most = max(most, working)
        queued |= working == LIMIT and any(d.get("SecondaryStatus") == "Starting" for d in states)
        if all(d["TrainingJobStatus"] != "InProgress" for d in states):
            break
    assert most <= LIMIT  # never more jobs doing their work at once than the limit
    done = [wait_training(sm, name, timeout=60) for name in names]
    assert [d["TrainingJobStatus"] for d in done] == ["Completed"] * JOBS, [
        d.get("FailureReason") for d in done
    ]
    assert sorted(d["HyperParameters"]["k"] for d in done) == [str(i + 1) for i in range(JOBS)]
    assert len({d["ModelArtifacts"]["S3ModelArtifacts"] for d in done}) == JOBS  # one model per element
    assert queued, "no job was seen waiting for a slot while the limit's worth of jobs worked"
