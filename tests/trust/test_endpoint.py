"""The local endpoint serves only the run that started it: per-start credentials, SigV4 recomputed for
every request, AccessDenied for anything else - including another local user's request that would
have run a command as the ``make run`` user."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
import botocore
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from sagemaker_pipelines.compile.images import framework_image_uri
from sagemaker_pipelines.local.aws import LocalAws, start_local_aws
from sagemaker_pipelines.local.aws.server import private_state_dir

from .conftest import as_other_user, needs_other_user

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/sagemaker"


@pytest.fixture(scope="module")
def shared_state():
    """A state folder under /tmp (another user must be able to reach the folder that holds it)."""
    folder = Path(tempfile.mkdtemp(prefix="trust-endpoint-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def aws(shared_state):
    with start_local_aws(shared_state / "aws") as server:
        yield server


def stranger(aws: LocalAws, service: str, key: str = "AKIDSTRANGER", secret: str = "s" * 40):
    return boto3.client(
        service,
        endpoint_url=aws.endpoint_url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=botocore.config.Config(retries={"max_attempts": 1}),
    )


def denied(call) -> str:
    with pytest.raises(ClientError) as error:
        call()
    assert error.value.response["Error"]["Code"] == "AccessDenied", error.value.response
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return error.value.response["Error"]["Message"]


def test_credentials_are_made_per_start_and_kept_private(aws, tmp_path):
    info = json.loads((aws.state_dir / "server.json").read_text())
    assert info["access_key_id"] == aws.access_key_id and info["secret_access_key"] == aws.secret_access_key
    assert stat.S_IMODE(os.stat(aws.state_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(aws.state_dir / "server.json").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(aws.state_dir / "server.log").st_mode) == 0o600
    with start_local_aws(tmp_path / "other") as other:
        assert other.access_key_id != aws.access_key_id and other.secret_access_key != aws.secret_access_key
        crossed = boto3.client("s3", **{**other.client_kwargs(REGION), "endpoint_url": aws.endpoint_url})
        assert "is not the one this endpoint was started with" in denied(crossed.list_buckets)
        boto3.client("s3", **aws.client_kwargs(REGION)).list_buckets()


def test_a_loose_state_folder_is_tightened_and_a_foreign_one_refused(tmp_path):
    loose = tmp_path / "loose"
    loose.mkdir()
    loose.chmod(0o777)
    assert stat.S_IMODE(private_state_dir(loose).stat().st_mode) == 0o700
    if os.geteuid() == 0:
        foreign = tmp_path / "foreign"
        foreign.mkdir()
        os.chown(foreign, 65534, 65534)
        with pytest.raises(RuntimeError, match="belongs to uid 65534"):
            private_state_dir(foreign)


@pytest.mark.parametrize(
    ("service", "call"),
    [
        ("sagemaker", lambda c: c.list_training_jobs()),
        ("s3", lambda c: c.list_buckets()),
        ("sts", lambda c: c.get_caller_identity()),
        (
            "sagemaker-runtime",
            lambda c: c.invoke_endpoint(EndpointName="e", Body=b"1", ContentType="text/csv"),
        ),
    ],
)
def test_other_credentials_are_access_denied_in_every_protocol(aws, service, call):
    assert "is not the one this endpoint was started with" in denied(lambda: call(stranger(aws, service)))
    wrong_secret = stranger(aws, service, key=aws.access_key_id)
    assert "the signature does not match the request" in denied(lambda: call(wrong_secret))


def _signed(aws: LocalAws, body: bytes, when: dt.datetime | None = None) -> AWSRequest:
    """A CreateTrainingJob-shaped request signed with the endpoint's own credentials."""
    request = AWSRequest(
        method="POST",
        url=aws.endpoint_url + "/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.ListTrainingJobs"},
    )
    signer = SigV4Auth(Credentials(aws.access_key_id, aws.secret_access_key), "sagemaker", REGION)
    if when is None:
        signer.add_auth(request)
    else:
        request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
        request.headers["X-Amz-Date"] = request.context["timestamp"]
        signature = signer.signature(
            signer.string_to_sign(request, signer.canonical_request(request)), request
        )
        signer._inject_signature_to_request(request, signature)
    return request


def _send(aws: LocalAws, request: AWSRequest, body: bytes | None = None) -> tuple[int, str]:
    raw = urllib.request.Request(
        request.url, data=request.body if body is None else body, headers=dict(request.headers), method="POST"
    )
    try:
        with urllib.request.urlopen(raw, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_signature_covers_the_body_and_the_time(aws):
    body = b"{}"
    assert _send(aws, _signed(aws, body))[0] == 200  # the control: a request signed by hand passes
    status, answer = _send(aws, _signed(aws, body), body=b'{"MaxResults": 1}')
    assert status == 403 and "the signature does not match" in answer
    late = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)
    status, answer = _send(aws, _signed(aws, body, when=late))
    assert status == 403 and "more than 15 minutes off" in answer


def test_unsigned_and_presigned_requests_are_refused(aws):
    for path in ("/moto-api/reset", "/moto-api/data.json", "/?list-type=2"):
        try:
            urllib.request.urlopen(urllib.request.Request(aws.endpoint_url + path, method="POST"), timeout=10)
            raise AssertionError(f"{path} answered an unsigned request")
        except urllib.error.HTTPError as error:
            assert error.code == 403 and b"the request is not signed" in error.read()
    s3 = boto3.client("s3", **aws.client_kwargs(REGION))
    s3.create_bucket(Bucket="presigned")
    url = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": "presigned"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(url, timeout=10)
    assert error.value.code == 403 and b"presigned URLs are not accepted" in error.value.read()


def _processing_job(client, name: str, marker: Path) -> None:
    client.create_processing_job(
        ProcessingJobName=name,
        RoleArn=ROLE,
        AppSpecification={
            "ImageUri": framework_image_uri("sklearn", REGION, serving=False),
            "ContainerEntrypoint": ["python3", "-c", f"open({str(marker)!r}, 'w').write('ran')"],
        },
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
        },
    )


def test_a_processing_command_runs_for_the_starter_only(aws, tmp_path):
    """The attack of the issue, with the credentials of the start (the control: the command runs) and
    with any others (it does not)."""
    marker = tmp_path / "ran"
    _processing_job(boto3.client("sagemaker", **aws.client_kwargs(REGION)), "by-the-starter", marker)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline, "the starter's processing job never ran"
        time.sleep(0.25)
    other = tmp_path / "other"
    denied(lambda: _processing_job(stranger(aws, "sagemaker"), "by-a-stranger", other))
    time.sleep(2)
    assert not other.exists()


ATTACK = """\
import json, pathlib, sys
import boto3, botocore
state, url, marker = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
try:
    print("read server.json:", json.loads((state / "server.json").read_text())["access_key_id"])
except OSError as exc:
    print("server.json unreadable:", type(exc).__name__)
sm = boto3.client("sagemaker", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                  aws_secret_access_key="y", config=botocore.config.Config(retries={"max_attempts": 1}))
try:
    sm.create_processing_job(
        ProcessingJobName="from-another-user", RoleArn="arn:aws:iam::123456789012:role/x",
        AppSpecification={"ImageUri": sys.argv[4], "ContainerEntrypoint": ["touch", marker]},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                               "VolumeSizeInGB": 1}})
    print("accepted")
except botocore.exceptions.ClientError as exc:
    print("refused:", exc.response["Error"]["Code"])
"""


@needs_other_user
def test_another_local_user_can_neither_read_the_credentials_nor_run_a_command(aws, shared_state):
    marker = f"/tmp/trust-endpoint-{uuid.uuid4().hex}"
    image = framework_image_uri("sklearn", REGION, serving=False)
    done = as_other_user(ATTACK, str(aws.state_dir), aws.endpoint_url, marker, image)
    assert "server.json unreadable: PermissionError" in done.stdout, done.stdout + done.stderr
    assert "refused: AccessDenied" in done.stdout, done.stdout + done.stderr
    time.sleep(2)
    assert not Path(marker).exists()
