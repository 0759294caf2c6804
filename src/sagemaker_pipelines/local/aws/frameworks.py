"""What a job's image stands for, and what really ran its script: honesty about library versions.

Locally no image is run: a processing or script-mode script runs with the project's own Python and its
installed scikit-learn, numpy and pandas, whatever versions the image in the request would have had. The
job log says both (the framework and version the image URI stands for, the versions that ran the script),
and a job whose image stands for another *major* version of an installed framework is refused: APIs
change between majors (scikit-learn 0.23 -> 1.x removed and renamed arguments), so a local success would
say nothing about the real job. numpy and pandas cannot be checked so: the images do not say which ones
they bundle; the log only says which ran. ``LOCAL_AWS_ALLOW_FRAMEWORK_MISMATCH=1`` runs it anyway,
with a warning in the log. Nothing is installed to match an image.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
from dataclasses import dataclass

from sagemaker_pipelines.compile.images import FRAMEWORKS, identify_image

# The Python distribution each framework container is built around.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "xgboost": "xgboost", "pytorch": "torch"}
# What scripts commonly import besides the framework: the versions that ran them are logged too.
COMMON_LIBRARIES = ("numpy", "pandas", "scipy")
ALLOW_VARIABLE = "LOCAL_AWS_ALLOW_FRAMEWORK_MISMATCH"


@dataclass(frozen=True)
class ImageFramework:
    """The framework container an image URI names: its framework, version and Python tag."""

    framework: str
    version: str
    python: str | None

    @property
    def major(self) -> int:
        return int(re.split(r"[.-]", self.version)[0])


def image_framework(image_uri: str | None) -> ImageFramework | None:
    """The framework and version of a SageMaker framework image URI; None for any other image."""
    if not image_uri:
        return None
    info = identify_image(image_uri)
    if info.kind != "framework" or info.name not in FRAMEWORKS:
        return None
    tag = image_uri.rpartition(":")[2] if ":" in image_uri.rpartition("/")[2] else ""
    framework = FRAMEWORKS[info.name]
    for version, image in [*framework.training.items(), *framework.inference.items()]:
        if image.tag == tag:
            python = re.search(r"py(\d+)$", tag)
            return ImageFramework(info.name, version, python and f"py{python.group(1)}")
    return None


def installed(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _major(version: str) -> int:
    return int(re.split(r"[.-]", version)[0])


def log_lines(image_uri: str | None) -> list[str]:
    """The job log's account of the image and of what actually runs the script."""
    ran = ", ".join(f"{name} {installed(name) or 'not installed'}" for name in COMMON_LIBRARIES)
    python = f"Python {platform.python_version()}"
    found = image_framework(image_uri)
    if found is None:
        return [f"the image is not run; the script runs with this machine's {python} ({ran})"]
    distribution = DISTRIBUTIONS.get(found.framework, found.framework)
    local = installed(distribution)
    stands = f"{found.framework} {found.version}" + (f" ({found.python})" if found.python else "")
    return [
        f"the image stands for {stands}; it is not run",
        f"the script runs with this machine's {python}: {distribution} {local or 'not installed'}, {ran} "
        "(not the image's versions)",
    ]


def mismatch(image_uri: str | None) -> str | None:
    """Why a job must not run here: its image's framework major differs from the installed one."""
    found = image_framework(image_uri)
    if found is None:
        return None
    distribution = DISTRIBUTIONS.get(found.framework, found.framework)
    local = installed(distribution)
    if local is None or _major(local) == found.major:
        return None
    return (
        f"the image stands for {found.framework} {found.version}, but this machine has {distribution} "
        f"{local} (major {_major(local)}, not {found.major}), and scripts run with it: choose an image of "
        f"{found.framework} {_major(local)}.x, or set {ALLOW_VARIABLE}=1 on the endpoint to run it anyway"
    )


def check(image_uri: str | None) -> tuple[list[str], str | None]:
    """(log lines, refusal or None) for a job about to run a script for ``image_uri``."""
    lines = log_lines(image_uri)
    problem = mismatch(image_uri)
    if problem and os.environ.get(ALLOW_VARIABLE) == "1":
        return [*lines, f"WARNING: {problem}"], None
    return lines, problem
