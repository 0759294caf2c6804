"""Botocore waiters that poll as often as the local environment checks, not every 30 seconds.

The notebook operators wait with botocore's own waiters (``notebook_instance_in_service`` and the like),
which describe the instance every 30 s: on AWS a notebook takes minutes, on the emulator about a second,
so a local run would sleep half a minute per notebook task. Botocore reads service data from the folders
in ``AWS_DATA_PATH`` before its own, so a copy of SageMaker's waiter definitions with the environment's
check interval as delay (and the same overall time limit) speeds up the waits and changes nothing else.
Only ``make run`` (and the tests that run it) use it: it is never set in an Airflow deployment.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import botocore


def fast_waiters(folder: Path, delay: int) -> Path:
    """Write SageMaker's waiters with ``delay`` seconds between checks under ``folder``; returns it."""
    for source in Path(botocore.__file__).parent.glob("data/sagemaker/*/waiters-2.json"):
        model = json.loads(source.read_text())
        for waiter in model["waiters"].values():
            total = waiter["delay"] * waiter["maxAttempts"]
            waiter["delay"] = delay
            waiter["maxAttempts"] = max(1, total // max(delay, 1))
        target = folder / "sagemaker" / source.parent.name / "waiters-2.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(model))
    return folder


def use_fast_waiters(state_dir: Path, delay: int) -> None:
    """Point this process (and the task runners it starts) at the fast waiters."""
    folder = fast_waiters(state_dir / "botocore-data", delay)
    paths = [str(folder), *filter(None, os.environ.get("AWS_DATA_PATH", "").split(os.pathsep))]
    os.environ["AWS_DATA_PATH"] = os.pathsep.join(dict.fromkeys(paths))
