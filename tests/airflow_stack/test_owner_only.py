"""``make airflow`` answers only its owner, and keeps its state where only its owner can read it.

A real stack (one pipeline, to start quickly): the REST API refuses a request without a token, a wrong
password, the all-admins token route, and another local user (``nobody``, through ``setpriv``, when the
tests run as root); the owner's password, from the 0600 file the stack made, gets a token that works.
Every file the stack and its processes created (Airflow's SQLite database, the warehouse, the local
endpoint's state, logs) is readable by its owner only.
"""

from __future__ import annotations

import json
import os
import stat
import urllib.error
import urllib.request

import pytest

from sagemaker_pipelines.local.owner_only import USER, fetch_token, passwords_file
from tests.trust.conftest import as_other_user, needs_other_user

from .conftest import start_stack, stop_stack, wait_until


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("owner"), pipelines=("iris_training",))
    yield running
    stop_stack(running)


def _status(method: str, url: str, body: dict | None = None, token: str | None = None) -> int:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_without_a_token_nothing_is_read_or_changed(stack):
    base = stack.api.base
    assert _status("GET", f"{base}/api/v2/dags") in (401, 403)
    assert _status("PATCH", f"{base}/api/v2/dags/iris_training", {"is_paused": False}) in (401, 403)
    assert _status("POST", f"{base}/api/v2/variables", {"key": "x", "value": "y"}) in (401, 403)
    assert _status("GET", f"{base}/auth/token") in (401, 403)  # the all-admins token: switched off
    assert _status("POST", f"{base}/auth/token", {"username": USER, "password": "guess"}) == 401


def test_the_owner_s_password_gets_a_token_that_works(stack):
    password = json.loads(passwords_file(stack.state_dir).read_text())[USER]
    assert f"{USER} / {password}" in stack.output  # printed at start
    token = fetch_token(stack.api.base, password)
    assert _status("GET", f"{stack.api.base}/api/v2/dags", token=token) == 200
    wait_until(lambda: "iris_training" in stack.api.dag_ids(), 240, "iris_training listed")


def test_the_password_file_is_the_owner_s_alone(stack):
    path = passwords_file(stack.state_dir)
    info = path.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid) == (0o600, os.getuid())
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


@needs_other_user
def test_another_local_user_is_refused(stack):
    code = (
        "import sys, urllib.request, urllib.error\n"
        "try:\n"
        "    urllib.request.urlopen(sys.argv[1] + '/api/v2/dags', timeout=60)\n"
        "    print('200')\n"
        "except urllib.error.HTTPError as exc:\n"
        "    print(exc.code)\n"
    )
    done = as_other_user(code, stack.api.base)
    assert done.stdout.strip() in ("401", "403"), done.stderr


def test_the_stack_s_state_is_readable_by_its_owner_only(stack):
    """SQLite databases, the endpoint's state and every log: no group or other permission anywhere."""
    wait_until(lambda: "iris_training" in stack.api.dag_ids(), 240, "iris_training listed")
    expected = [
        stack.state_dir / "airflow" / "airflow.db",
        stack.state_dir / "warehouse.db",
        stack.state_dir / "aws" / "server.json",
        stack.state_dir / "logs" / "api-server.log",
    ]
    missing = [str(p) for p in expected if not p.exists()]
    assert not missing, f"not where this test looks: {missing} (state: {sorted(os.listdir(stack.state_dir))})"
    assert stat.S_IMODE(stack.state_dir.stat().st_mode) == 0o700
    open_to_others = []
    for folder, folders, files in os.walk(stack.state_dir):
        for name in folders + files:
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) & 0o077:
                open_to_others.append(f"{oct(stat.S_IMODE(mode))} {path}")
    assert not open_to_others, "\n".join(open_to_others[:20])
