"""A minimal Language Server Protocol client over stdio, enough to drive yaml-language-server as an
editor does: initialize, answer the server's configuration requests, open documents, collect the
diagnostics it publishes and ask for completions.

JSON-RPC messages are ``Content-Length``-framed JSON; a reader thread files responses by id and
notifications by method, so a test waits for exactly what it needs.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from pathlib import Path
from typing import Any

from sagemaker_pipelines.paths import CHECKOUT_ROOT

EDITOR_TOOLS = CHECKOUT_ROOT / "tools" / "editor"
SERVER = EDITOR_TOOLS / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"

# What the VS Code YAML extension sends by default, with schema downloads off: every schema the tests
# use comes from a file's own `# yaml-language-server: $schema=` line.
SETTINGS = {
    "yaml": {
        "validate": True,
        "hover": True,
        "completion": True,
        "format": {"enable": False},
        "schemaStore": {"enable": False},
        "schemas": {},
        "customTags": [],
        "maxItemsComputed": 5000,
        "disableDefaultProperties": False,
        "suggest": {"parentSkeletonSelectedFirst": False},
        "style": {"flowMapping": "allow", "flowSequence": "allow"},
        "keyOrdering": False,
    },
    "[yaml]": {"editor.tabSize": 2},
    "editor": {"tabSize": 2, "detectIndentation": True},
    "files": {"associations": {}},
    "http": {"proxy": "", "proxyStrictSSL": True},
}


class LanguageServer:
    """One running yaml-language-server, spoken to over its stdin and stdout."""

    def __init__(self, root: Path = CHECKOUT_ROOT, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self.process = subprocess.Popen(
            ["node", str(SERVER), "--stdio"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._next_id = 0
        self._responses: dict[int, queue.Queue] = {}
        self._diagnostics: dict[str, queue.Queue] = {}
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read_forever, daemon=True)
        self._reader.start()
        self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": root.as_uri(),
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": {
                    "workspace": {
                        "configuration": True,
                        "didChangeConfiguration": {"dynamicRegistration": True},
                    },
                    "textDocument": {
                        "publishDiagnostics": {"relatedInformation": True},
                        "completion": {
                            "completionItem": {"snippetSupport": True, "documentationFormat": ["plaintext"]}
                        },
                        "hover": {"contentFormat": ["plaintext"]},
                    },
                },
                "initializationOptions": {},
            },
        )
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": SETTINGS})
        self._versions: dict[str, int] = {}

    # --- protocol ------------------------------------------------------------------------------------
    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        with self._lock:
            assert self.process.stdin is not None
            self.process.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            self.process.stdin.flush()

    def _read_forever(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return  # the server exited
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if length is None:
                continue
            message = json.loads(stream.read(length))
            self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message and "method" in message:  # a request from the server
            self._send(
                {"id": message["id"], "result": self._answer(message["method"], message.get("params"))}
            )
        elif "id" in message:
            self._queue(self._responses, message["id"]).put(message)
        elif message.get("method") == "textDocument/publishDiagnostics":
            params = message["params"]
            self._queue(self._diagnostics, params["uri"]).put(params["diagnostics"])

    def _answer(self, method: str, params: Any) -> Any:
        if method == "workspace/configuration":
            return [_setting(item.get("section")) for item in params.get("items", [])]
        return None  # client/registerCapability and the like: accepted

    def _queue(self, table: dict, key: Any) -> queue.Queue:
        with self._lock:
            return table.setdefault(key, queue.Queue())

    def request(self, method: str, params: Any) -> Any:
        self._next_id += 1
        number = self._next_id
        answers = self._queue(self._responses, number)
        self._send({"id": number, "method": method, "params": params})
        reply = answers.get(timeout=self.timeout)
        if "error" in reply:
            raise RuntimeError(f"{method} failed: {reply['error']}")
        return reply.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    # --- what an editor does -------------------------------------------------------------------------
    def open(self, path: Path, text: str | None = None) -> list[dict[str, Any]]:
        """Open a document (its text, or the file's) and return the diagnostics published for it."""
        uri = path.resolve().as_uri()
        diagnostics = self._queue(self._diagnostics, uri)
        while not diagnostics.empty():
            diagnostics.get_nowait()
        version = self._versions.get(uri, 0) + 1
        self._versions[uri] = version
        content = path.read_text(encoding="utf-8") if text is None else text
        if version == 1:
            item = {"uri": uri, "languageId": "yaml", "version": version, "text": content}
            self.notify("textDocument/didOpen", {"textDocument": item})
        else:
            self.notify(
                "textDocument/didChange",
                {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": content}]},
            )
        return diagnostics.get(timeout=self.timeout)

    def completion(self, path: Path, line: int, character: int) -> list[dict[str, Any]]:
        """Completion items at a 0-based position of an opened document."""
        result = self.request(
            "textDocument/completion",
            {
                "textDocument": {"uri": path.resolve().as_uri()},
                "position": {"line": line, "character": character},
            },
        )
        return result.get("items", []) if isinstance(result, dict) else (result or [])

    def close(self) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
            self.process.wait(timeout=10)


def _setting(section: str | None) -> Any:
    if not section:
        return SETTINGS
    node: Any = SETTINGS
    for part in section.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
