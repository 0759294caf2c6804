"""Container image URIs of SageMaker's built-in algorithms and framework containers.

One table, read both ways: the compiler turns ``algorithm: knn`` into the image URI AWS publishes for the
pipeline's region, and the local emulator turns an image URI back into the algorithm it must run. The
registry accounts are the ones the SageMaker Python SDK ships (``image_uri_config/*.json``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Accounts hosting the first-party algorithms (knn, linear-learner, ...), by region.
_FIRST_PARTY_ACCOUNTS = {
    "us-east-1": "382416733822",
    "us-east-2": "404615174143",
    "us-west-1": "632365934929",
    "us-west-2": "174872318107",
    "ca-central-1": "469771592824",
    "eu-central-1": "664544806723",
    "eu-north-1": "669576153137",
    "eu-west-1": "438346466558",
    "eu-west-2": "644912444149",
    "eu-west-3": "749696950732",
    "ap-northeast-1": "351501993468",
    "ap-northeast-2": "835164637446",
    "ap-south-1": "991648021394",
    "ap-southeast-1": "475088953585",
    "ap-southeast-2": "712309505854",
    "sa-east-1": "855470959533",
}

# Accounts hosting the scikit-learn and XGBoost framework containers, by region.
_FRAMEWORK_ACCOUNTS = {
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
    "ca-central-1": "341280168497",
    "eu-central-1": "492215442770",
    "eu-north-1": "662702820516",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-south-1": "720646828776",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "sa-east-1": "737474898029",
}

# The deep learning containers (PyTorch) live in one account in these regions.
_DLC_ACCOUNT = "763104351884"

REGIONS: tuple[str, ...] = tuple(sorted(_FIRST_PARTY_ACCOUNTS))


@dataclass(frozen=True)
class Algorithm:
    """A built-in algorithm: its ECR repository, tag and where its images are hosted."""

    name: str
    repository: str
    tag: str | None
    accounts: dict[str, str]


@dataclass(frozen=True)
class Framework:
    """A framework container for script mode: the training and serving repositories and a default tag."""

    name: str
    training_repository: str
    inference_repository: str
    default_version: str
    tag_format: str  # formatted with version= and scope-independent fields
    accounts: dict[str, str] | None  # None: the DLC account in every region


ALGORITHMS: dict[str, Algorithm] = {
    # First-party algorithms carry the tag the SageMaker SDK's image_uris.retrieve() gives them (":1",
    # the algorithm's major version): the guide's untagged URI means ":latest", which AWS advises against.
    "knn": Algorithm("knn", "knn", "1", _FIRST_PARTY_ACCOUNTS),
    "linear-learner": Algorithm("linear-learner", "linear-learner", "1", _FIRST_PARTY_ACCOUNTS),
    "xgboost": Algorithm("xgboost", "sagemaker-xgboost", "1.7-1", _FRAMEWORK_ACCOUNTS),
}

FRAMEWORKS: dict[str, Framework] = {
    "sklearn": Framework(
        "sklearn",
        "sagemaker-scikit-learn",
        "sagemaker-scikit-learn",
        "1.2-1",
        "{version}-cpu-py3",
        _FRAMEWORK_ACCOUNTS,
    ),
    "xgboost": Framework(
        "xgboost", "sagemaker-xgboost", "sagemaker-xgboost", "1.7-1", "{version}", _FRAMEWORK_ACCOUNTS
    ),
    "pytorch": Framework(
        "pytorch", "pytorch-training", "pytorch-inference", "2.1", "{version}-cpu-py310", None
    ),
}


def _host(account: str, region: str) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{suffix}"


def algorithm_image_uri(algorithm: str, region: str) -> str:
    """The image of a built-in algorithm in ``region``; KeyError names an unknown algorithm or region."""
    algo = ALGORITHMS[algorithm]
    uri = f"{_host(algo.accounts[region], region)}/{algo.repository}"
    return f"{uri}:{algo.tag}" if algo.tag else uri


def framework_image_uri(framework: str, region: str, version: str | None = None, *, serving: bool) -> str:
    """The training (or, with ``serving``, inference) container of a script-mode framework."""
    fw = FRAMEWORKS[framework]
    account = _DLC_ACCOUNT if fw.accounts is None else fw.accounts[region]
    repository = fw.inference_repository if serving else fw.training_repository
    tag = fw.tag_format.format(version=version or fw.default_version)
    return f"{_host(account, region)}/{repository}:{tag}"


@dataclass(frozen=True)
class ImageInfo:
    """What an image URI names: a built-in algorithm, a framework container, or something unknown."""

    kind: str  # "algorithm", "framework" or "custom"
    name: str
    region: str | None


_ECR_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repo>[^:@]+)"
)


def identify_image(uri: str) -> ImageInfo:
    """Name the algorithm or framework behind an image URI (used by the local emulator)."""
    match = _ECR_URI.match(uri)
    if not match:
        return ImageInfo("custom", uri, None)
    repo, region = match["repo"], match["region"]
    for algo in ALGORITHMS.values():
        if repo == algo.repository and algo.name != "xgboost":
            return ImageInfo("algorithm", algo.name, region)
    for fw in FRAMEWORKS.values():
        if repo in (fw.training_repository, fw.inference_repository):
            return ImageInfo("framework", fw.name, region)
    return ImageInfo("custom", repo, region)
