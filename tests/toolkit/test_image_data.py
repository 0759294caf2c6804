"""The image table (``compile/image_data.json``): generated from the SageMaker SDK's published image data,
current with the installed copy of it, read by the compiler and the emulator with the SDK's tags, and the
reason validate refuses an unknown framework version or an image a region lacks."""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path

import pytest

from sagemaker_pipelines.checker import check_text
from sagemaker_pipelines.compile import images
from sagemaker_pipelines.format.environment import load_environment
from sagemaker_pipelines.toolkit.generators import image_data

DATA = json.loads(images.DATA_PATH.read_text())
ECR_URI = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.[a-z0-9.-]+/[a-z0-9._/-]+:[\w.-]+$")


def _installed_sdk() -> importlib.metadata.Distribution:
    try:
        return importlib.metadata.distribution(image_data.DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(
            f"{image_data.DISTRIBUTION} is not installed (make install adds it, --no-deps, from "
            "requirements-image-data.txt): the image table cannot be compared with the SDK's data"
        )


def test_the_image_table_is_what_the_installed_sdk_data_gives():
    dist = _installed_sdk()
    assert dist.version == _pinned_version()
    version, configs = image_data.installed_configs()
    assert image_data.render(image_data.build(version, configs)) == images.DATA_PATH.read_text(), (
        "compile/image_data.json is stale: run 'make schemas' and commit it"
    )


def _pinned_version() -> str:
    pin = (Path(__file__).resolve().parents[2] / "requirements-image-data.txt").read_text()
    return re.search(rf"^{image_data.DISTRIBUTION}==(\S+)$", pin, re.M)[1]


def test_the_table_names_its_source_and_pin():
    assert DATA["source"].startswith(f"{image_data.DISTRIBUTION} {_pinned_version()}: ")


def test_every_algorithm_and_framework_version_has_an_image_in_every_region_it_lists():
    uris = 0
    for name, algorithm in images.ALGORITHMS.items():
        for region in algorithm.accounts:
            assert ECR_URI.match(images.algorithm_image_uri(name, region))
            assert images.identify_image(images.algorithm_image_uri(name, region)).name == name
            uris += 1
    for name, framework in images.FRAMEWORKS.items():
        for serving in (False, True):
            for version in framework.versions(serving):
                for region in images.framework_image(name, version, serving=serving).accounts:
                    uri = images.framework_image_uri(name, region, version, serving=serving)
                    assert ECR_URI.match(uri), uri
                    assert images.identify_image(uri) == images.ImageInfo("framework", name, region)
                    uris += 1
    assert len(images.ALGORITHMS) >= 17 and len(images.REGIONS) >= 37 and uris > 4000


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        # As the SageMaker SDK's image_uris.retrieve() gives them (and AWS documents them).
        (
            images.algorithm_image_uri("knn", "us-east-2"),
            "404615174143.dkr.ecr.us-east-2.amazonaws.com/knn:1",
        ),
        (
            images.algorithm_image_uri("xgboost", "us-east-2"),
            "257758044811.dkr.ecr.us-east-2.amazonaws.com/sagemaker-xgboost:1.7-1",
        ),
        (
            images.framework_image_uri("sklearn", "us-east-1", "1.2-1", serving=False),
            "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
        ),
        (
            images.framework_image_uri("pytorch", "us-east-2", "2.1", serving=True),
            "763104351884.dkr.ecr.us-east-2.amazonaws.com/pytorch-inference:2.1-cpu-py310",
        ),
        (
            images.framework_image_uri("pytorch", "cn-north-1", "2.1.0", serving=False),
            "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/pytorch-training:2.1.0-cpu-py310",
        ),
    ],
)
def test_uris_carry_the_sdk_tags(uri, expected):
    assert uri == expected


SDK_SAMPLE = {
    "knn": {
        "scope": ["inference", "training"],
        "versions": {"1": {"registries": {"r-1": "1" * 12}, "repository": "knn"}},
    },
    "chainer": {
        "scope": ["inference", "training"],
        "versions": {"5": {"py_versions": ["py3"], "registries": {}, "repository": "c"}},
    },
    "sklearn": {
        scope: {
            "versions": {
                "1.2-1": {
                    "processors": ["cpu"],
                    "py_versions": ["py3"],
                    "registries": {"r-1": "2" * 12},
                    "repository": "sk",
                }
            }
        }
        for scope in ("training", "inference")
    },
    "xgboost": {
        scope: {
            "version_aliases": {"latest": "1"},
            "versions": {
                "1": {"registries": {"r-1": "3" * 12}, "repository": "xgboost"},
                "1.7-1": {"registries": {"r-1": "4" * 12}, "repository": "sagemaker-xgboost"},
            },
        }
        for scope in ("training", "inference")
    },
    "pytorch": {
        scope: {
            "processors": ["cpu", "gpu"],
            "version_aliases": {"2.1": "2.1.0"},
            "versions": {
                "2.1.0": {
                    "py_versions": ["py39", "py310"],
                    "registries": {"r-1": "5" * 12},
                    "repository": "pt",
                },
                "1.0.0": {"py3": {"registries": {"r-1": "5" * 12}, "repository": "pt", "tag_prefix": "one"}},
            },
        }
        for scope in ("training", "inference")
    },
}


def test_the_generator_follows_the_sdk_tag_rules():
    data = image_data.build("9.9.9", SDK_SAMPLE)
    assert set(data["algorithms"]) == {"knn", "xgboost"}  # chainer is a framework, not an algorithm
    assert data["algorithms"]["knn"] == {"repository": "knn", "tag": "1", "accounts": "r1"}
    pytorch = data["frameworks"]["pytorch"]["training"]
    assert pytorch["2.1"]["tag"] == "2.1-cpu-py310"  # an alias stays in the tag, as retrieve() writes it
    assert pytorch["2.1.0"]["tag"] == "2.1.0-cpu-py310"
    assert pytorch["1.0.0"]["tag"] == "one-cpu"  # tag_prefix; a config keyed by Python version
    assert data["frameworks"]["sklearn"]["inference"]["1.2-1"]["tag"] == "1.2-1-cpu-py3"
    assert list(data["frameworks"]["xgboost"]["training"]) == ["1.7-1"]  # not the legacy algorithm image
    assert data["accounts"]["r1"] == {"r-1": "1" * 12}


def _check(text: str, env: str = "local") -> list[str]:
    result = check_text(text, Path("p.yaml"), load_environment(env))
    return [p.format() for p in result.problems]


SCRIPT = """\
start_date: 2024-01-01
region: {region}
tasks:
  train:
    kind: training
    entry_point: include/iris_sklearn/train.py
    framework: {framework}
    framework_version: "{version}"
    inputs: {{train: s3://my-bucket/iris/train.csv}}
  model:
    kind: model
    from: train
"""


def test_an_unknown_framework_version_lists_the_known_ones():
    (problem,) = _check(SCRIPT.format(region="us-east-2", framework="pytorch", version="9.9"))
    known = ", ".join(images.FRAMEWORKS["pytorch"].versions())
    assert (
        f"p.yaml:8:5: tasks.train.framework_version: found '9.9', expected a pytorch version: {known}"
        in problem
    )


def test_a_version_without_an_inference_container_cannot_be_served():
    newest = images.FRAMEWORKS["pytorch"].versions()[-1]
    assert newest not in images.FRAMEWORKS["pytorch"].versions(serving=True)
    (problem,) = _check(SCRIPT.format(region="us-east-2", framework="pytorch", version=newest))
    assert (
        "p.yaml:12:5: tasks.model.from: the model of 'train' cannot be served: pytorch has no inference"
        in problem
    )
    assert "known: 0.4, " in problem


def test_an_algorithm_a_region_lacks_is_a_problem_at_the_algorithm():
    lacking = sorted(set(images.REGIONS) - set(images.ALGORITHMS["lda"].accounts))[0]
    text = (
        f"start_date: 2024-01-01\nregion: {lacking}\ntasks:\n"
        "  t: {kind: training, algorithm: lda, inputs: {train: 's3://b-1/x'}}\n"
    )
    (problem,) = _check(text)
    assert f"tasks.t.algorithm: the lda algorithm is not published in {lacking} (regions: " in problem
    assert _check(text.replace(lacking, "us-east-2")) == []
