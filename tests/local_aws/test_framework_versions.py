"""Processing and script-mode jobs say which framework their image stands for and which library versions
really ran the script (this machine's, not the image's), and refuse an image of another major version of
an installed framework - over HTTP, on a real endpoint process."""

from __future__ import annotations

import importlib.metadata
import json
import platform
from typing import Any

import pytest

from sagemaker_pipelines.compile.images import framework_image_uri
from sagemaker_pipelines.local.aws import frameworks

from .conftest import BUCKET, REGION, ROLE, get, put, wait_for

# The script reports what it really imported, so the test can hold the job log to it.
VERSIONS_SCRIPT = b"""\
import json, platform, sys
import numpy, pandas, sklearn
out = sys.argv[1]
with open(out + "/versions.json", "w") as fh:
    json.dump({"python": platform.python_version(), "numpy": numpy.__version__,
               "pandas": pandas.__version__, "scikit-learn": sklearn.__version__}, fh)
"""


def _process(sm: Any, s3: Any, name: str, image: str) -> dict:
    put(s3, f"{name}/code/versions.py", VERSIONS_SCRIPT)
    sm.create_processing_job(
        ProcessingJobName=name,
        RoleArn=ROLE,
        AppSpecification={
            "ImageUri": image,
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/code/versions.py"],
            "ContainerArguments": ["/opt/ml/processing/out"],
        },
        ProcessingInputs=[
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": f"s3://{BUCKET}/{name}/code/versions.py",
                    "LocalPath": "/opt/ml/processing/code",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
        ],
        ProcessingOutputConfig={
            "Outputs": [
                {
                    "OutputName": "versions",
                    "S3Output": {
                        "S3Uri": f"s3://{BUCKET}/{name}/out",
                        "LocalPath": "/opt/ml/processing/out",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5}
        },
    )
    return wait_for(
        lambda: sm.describe_processing_job(ProcessingJobName=name),
        "ProcessingJobStatus",
        ("Completed", "Failed"),
    )


def _job_log(local_aws: Any, kind: str, name: str) -> str:
    found = list(local_aws.state_dir.glob(f"**/jobs/{kind}-{name}/job.log"))
    assert len(found) == 1, found
    return found[0].read_text()


def test_the_job_log_says_what_the_image_stands_for_and_what_ran(local_aws, sm, s3):
    image = framework_image_uri("sklearn", REGION, "1.2-1", serving=False)
    done = _process(sm, s3, "versions-ok", image)
    assert done["ProcessingJobStatus"] == "Completed", done.get("FailureReason")
    ran = json.loads(get(s3, f"s3://{BUCKET}/versions-ok/out/versions.json"))
    log = _job_log(local_aws, "processing", "versions-ok")
    assert "the image stands for sklearn 1.2-1 (py3); it is not run" in log
    # What the log says ran is what the script itself found: the truth, not the image's versions.
    for library in ("scikit-learn", "numpy", "pandas"):
        assert f"{library} {ran[library]}" in log, (library, log)
    assert f"Python {ran['python']}" in log
    assert not ran["scikit-learn"].startswith("1.2.")  # this machine's scikit-learn, as said: not the image's


def test_an_image_of_another_major_version_is_refused_before_anything_runs(local_aws, sm, s3):
    image = framework_image_uri("sklearn", REGION, "0.23-1", serving=False)
    done = _process(sm, s3, "versions-old", image)
    assert done["ProcessingJobStatus"] == "Failed"
    installed = importlib.metadata.version("scikit-learn")
    assert "the image stands for sklearn 0.23-1" in done["FailureReason"]
    assert f"this machine has scikit-learn {installed}" in done["FailureReason"]
    assert frameworks.ALLOW_VARIABLE in done["FailureReason"]
    assert not s3.list_objects_v2(Bucket=BUCKET, Prefix="versions-old/out/").get("Contents")


def test_a_custom_image_only_says_what_runs_the_script(local_aws, sm, s3):
    done = _process(sm, s3, "versions-custom", "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1")
    assert done["ProcessingJobStatus"] == "Completed", done.get("FailureReason")
    log = _job_log(local_aws, "processing", "versions-custom")
    python = platform.python_version()
    assert f"the image is not run; the script runs with this machine's Python {python}" in log


def test_the_override_runs_a_mismatch_with_a_warning(monkeypatch):
    image = framework_image_uri("sklearn", REGION, "0.23-1", serving=False)
    lines, refusal = frameworks.check(image)
    assert refusal and "major 1, not 0" in refusal
    monkeypatch.setenv(frameworks.ALLOW_VARIABLE, "1")
    lines, refusal = frameworks.check(image)
    assert refusal is None and lines[-1].startswith("WARNING: the image stands for sklearn 0.23-1")


@pytest.mark.parametrize(
    ("version", "major"), [("1.2-1", 1), ("1.9-0", 1), ("0.20.0", 0), ("1.4-2-py312", 1)]
)
def test_every_sklearn_image_names_its_version(version, major):
    found = frameworks.image_framework(framework_image_uri("sklearn", REGION, version, serving=False))
    assert found is not None and (found.version, found.major) == (version, major)
