"""Only its owner gets into what ``make run`` and ``make airflow`` keep and serve.

Local state (``.local/``: Airflow's databases, the local endpoint's state and credentials, logs, the
stack's password) was made with the user's umask (usually 022: world-readable), so another local user
could read the metadata database (connections, Variables, XComs), the warehouse and every log. Both
commands narrow their umask to 077 before they create anything, so every file they and the processes
they start create is 0600 and every folder 0700, and they narrow the state folder itself, which also
closes what an older version left open inside it.

Loopback alone does not make a server private either: every local user reaches 127.0.0.1, and Airflow's
simple auth manager in all-admins mode let any of them unpause a DAG, trigger a run (which runs as the
owner) or write Variables. So ``make airflow`` runs the simple auth manager with one admin user whose
password only the owner can read (``<state>/secrets/passwords.json``, 0600 in a 0700 folder; Airflow's
``[core] simple_auth_manager_passwords_file``). The UI asks for it; REST clients exchange it for a token
at ``POST /auth/token`` and send ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

PRIVATE_UMASK = 0o077


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner can enter (made 0700, or narrowed to it)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def private_umask() -> int:
    """From now on this process and its children create files 0600 and folders 0700; the old umask."""
    return os.umask(PRIVATE_UMASK)


USER = "admin"
ROLE = "admin"


def passwords_file(state_dir: Path) -> Path:
    """Where the stack keeps its user's password (Airflow reads the same file)."""
    return state_dir / "secrets" / "passwords.json"


def ensure_password(state_dir: Path) -> str:
    """The user's password: read from the passwords file, or generated into a new one created 0600
    (never world-readable, not even for a moment) so that restarts keep the same login."""
    path = passwords_file(state_dir)
    private_dir(path.parent)
    try:
        password = json.loads(path.read_text()).get(USER)
    except (OSError, ValueError, AttributeError):
        password = None
    if not isinstance(password, str) or not password:
        password = secrets.token_urlsafe(18)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(json.dumps({USER: password}) + "\n")
        os.replace(temporary, path)
    path.chmod(0o600)
    return password


def auth_settings(state_dir: Path) -> dict[str, str]:
    """Airflow settings of the login: one admin, its password file, no all-admins mode."""
    ensure_password(state_dir)
    return {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:{ROLE}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file(state_dir)),
    }


def fetch_token(api_url: str, password: str, timeout: float = 10.0) -> str:
    """A REST API token for the stack's user (``POST /auth/token``)."""
    body = json.dumps({"username": USER, "password": password}).encode()
    request = urllib.request.Request(f"{api_url}/auth/token", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)["access_token"]


class ApiClient:
    """GETs of the REST API as the stack's user: logs in on first use and again when a token expires."""

    def __init__(self, api_url: str, password: str) -> None:
        self.api_url, self.password = api_url, password
        self._token: str | None = None

    def get(self, path: str, timeout: float = 5.0) -> Any:
        """The JSON document at ``path`` (``/api/v2/...``)."""
        for attempt in range(2):
            if self._token is None:
                self._token = fetch_token(self.api_url, self.password, timeout)
            request = urllib.request.Request(self.api_url + path)
            request.add_header("Authorization", f"Bearer {self._token}")
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    return json.load(response)
            except urllib.error.HTTPError as exc:
                if exc.code != 401 or attempt:
                    raise
                self._token = None  # expired: log in again
        raise AssertionError("unreachable")
