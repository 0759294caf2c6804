"""What ``validate`` says about a task's ``image:`` URI before anything is paid for.

Three mistakes pass the schema (a well-formed ECR URI) and fail only on AWS or on the local endpoint:

* a **legacy image** (``<account>.dkr.ecr.<region>.amazonaws.com/xgboost:1``, the XGBoost algorithm before
  its framework container): it still runs, so this is a warning naming the current image;
* an image of a SageMaker-published repository whose **registry account is not the one of its region**
  (copied from another region's example), or that is in **another region than the pipeline**: SageMaker
  pulls images only from the job's own region and the publishing account of that region, so the job
  fails when it starts;
* in a **local environment**, a processing job with a custom ``image`` and no ``command``: images are not
  run locally, only their entrypoint command, so the job would always fail there.

The publishing accounts are those of ``image_data.json`` (generated from the SageMaker SDK's image data):
an account that publishes no SageMaker image is the user's own registry, and its images are not judged.
"""

from __future__ import annotations

from typing import Any

from sagemaker_pipelines.compile.images import (
    ALGORITHMS,
    ECR_URI,
    FRAMEWORKS,
    HOSTS,
    LEGACY,
    Image,
    identify_image,
)
from sagemaker_pipelines.problems import ERROR, WARNING


def _published() -> dict[str, list[Image]]:
    """Every image SageMaker publishes, by repository."""
    images: list[Image] = [*ALGORITHMS.values(), *LEGACY]
    for framework in FRAMEWORKS.values():
        images += [*framework.training.values(), *framework.inference.values()]
    by_repository: dict[str, list[Image]] = {}
    for image in images:
        by_repository.setdefault(image.repository, []).append(image)
    return by_repository


_PUBLISHED = _published()


def _uri(account: str, region: str, rest: str) -> str:
    return f"{account}.dkr.{HOSTS.get(region, f'ecr.{region}.amazonaws.com')}/{rest}"


def _account_problem(uri: str, region: str) -> tuple[str, str] | None:
    """(message, hint) when the URI is a published repository's, from the wrong account or region."""
    match = ECR_URI.match(uri)
    if not match or match["repo"] not in _PUBLISHED:
        return None
    account, in_region, repository = match["account"], match["region"], match["repo"]
    images = _PUBLISHED[repository]
    publishers = {r: a for image in images for r, a in image.accounts.items()}
    if account not in publishers.values():
        return None  # the user's own registry
    rest = uri.split("/", 1)[1]
    if publishers.get(in_region) != account:
        where = sorted(r for r, a in publishers.items() if a == account)
        right = publishers.get(in_region)
        hint = f"in {in_region}: {_uri(right, in_region, rest)}" if right else f"not published in {in_region}"
        return (
            f"account {account} publishes SageMaker's {repository} images in {', '.join(where)}, not in "
            f"{in_region}: SageMaker cannot pull this image",
            hint,
        )
    if in_region != region and region in publishers:
        return (
            f"the image is in {in_region} but the pipeline runs in {region}: SageMaker pulls images only "
            "from the job's own region",
            f"in {region}: {_uri(publishers[region], region, rest)}",
        )
    return None


def image_problems(tasks: dict[str, Any], region: str, local: bool) -> list[tuple[tuple, str, str, str]]:
    """(field path, message, hint, severity) for each task's ``image`` (see the module's docstring)."""
    found: list[tuple[tuple, str, str, str]] = []
    for task_id, task in tasks.items():
        if not isinstance(task, dict):
            continue
        image = task.get("image")
        where = ("tasks", task_id, "image")
        if not isinstance(image, str) or "{{" in image:
            continue  # a run-time value is known only when the task runs
        wrong = _account_problem(image, region)
        if wrong:
            found.append((where, *wrong, ERROR))
            continue
        info = identify_image(image)
        if info.legacy is not None and info.region:
            current = ALGORITHMS[info.legacy.current]
            uri = _uri(
                current.accounts.get(info.region, "?"), info.region, f"{current.repository}:{current.tag}"
            )
            replacement = (
                f"algorithm: {info.legacy.current}" if task.get("kind") in ("training", "tuning") else uri
            )
            found.append(
                (
                    where,
                    f"{info.legacy.repository}:{info.legacy.tag} is a legacy image SageMaker no longer "
                    "updates; "
                    f"the {info.legacy.current} algorithm's current image is {uri}",
                    f"write {replacement}; hyperparameters may differ between the two versions",
                    WARNING,
                )
            )
        if local and task.get("kind") == "processing" and not task.get("command"):
            found.append(
                (
                    where,
                    f"task '{task_id}' cannot run in this environment: a custom processing image cannot "
                    f"run locally without `command`: {image} is never pulled or run, since the local "
                    "endpoint runs no containers, only the job's entrypoint command on this machine",
                    "give `command:` (the image's entrypoint, e.g. [python3, /opt/program/prep.py]) or use "
                    "entry_point with a framework",
                    ERROR,
                )
            )
    return found
