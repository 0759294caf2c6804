"""Real receivers on 127.0.0.1 for the ``email`` and ``slack`` notifiers: what a notifier sends crosses a
socket and is parsed back here, so a test sees the message a mail server or Slack would have received.

- :class:`SmtpReceiver`: a small SMTP server (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS, no
  AUTH) on ``socketserver``; each DATA is kept as the envelope and the parsed message.
- :class:`SlackReceiver`: an HTTP server answering Slack Web API calls (``POST /api/<method>``) with
  ``{"ok": true, ...}`` the way Slack does; each call is kept with its method, token and JSON body.

No package beyond the standard library; both bind port 0 of loopback, so nothing leaves the machine.
"""

from __future__ import annotations

import email
import email.policy
import json
import socketserver
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def body(self) -> str:
        """The text of the message's body (the HTML part SmtpNotifier sends)."""
        part = self.message.get_body(preferencelist=("html", "plain"))
        return part.get_content() if part is not None else ""


@dataclass
class SlackCall:
    method: str
    authorization: str
    payload: dict[str, Any]


def _address(argument: str) -> str:
    """``FROM:<a@b>`` or ``TO:<a@b> SIZE=1`` -> ``a@b``."""
    value = argument.split(":", 1)[1].strip()
    return value.split(">", 1)[0].lstrip("<").strip()


class _SmtpHandler(socketserver.StreamRequestHandler):
    server: _SmtpServer

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        self._reply("220 loopback ESMTP ready")
        sender, recipients = "", []
        while raw := self.rfile.readline():
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                self._reply("250 loopback")
            elif verb == "MAIL":
                sender, recipients = _address(line), []
                self._reply("250 OK")
            elif verb == "RCPT":
                recipients.append(_address(line))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 End data with <CR><LF>.<CR><LF>")
                self._receive(sender, recipients)
                self._reply("250 OK: queued")
            elif verb == "RSET":
                sender, recipients = "", []
                self._reply("250 OK")
            elif verb == "NOOP":
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 Bye")
                return
            else:
                self._reply("502 Command not implemented")

    def _receive(self, sender: str, recipients: list[str]) -> None:
        lines = []
        while (raw := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
            lines.append(raw[1:] if raw.startswith(b"..") else raw)  # undo dot-stuffing (RFC 5321 4.5.2)
        message = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
        with self.server.lock:
            self.server.mails.append(ReceivedMail(sender, list(recipients), message))  # type: ignore[arg-type]


class _SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.mails: list[ReceivedMail] = []
        self.lock = threading.Lock()


class _SlackHandler(BaseHTTPRequestHandler):
    server: _SlackServer

    def do_POST(self) -> None:  # http.server's name for a POST handler
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        method = self.path.rsplit("/", 1)[-1]
        payload = json.loads(body) if body else {}
        with self.server.lock:
            self.server.calls.append(SlackCall(method, self.headers.get("Authorization", ""), payload))
        answer = {"ok": True, "channel": "C0LOOPBACK", "ts": "1700000000.000100", "message": payload}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest's output clean
        pass


class _SlackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SlackHandler)
        self.calls: list[SlackCall] = []
        self.lock = threading.Lock()


@dataclass
class _Running:
    server: socketserver.BaseServer
    thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class _Receiver:
    """A loopback server that runs while its ``with`` block does."""

    def __init__(self, server: Any) -> None:
        self._server = server
        self._running: _Running | None = None

    def __enter__(self):
        self._running = _Running(self._server)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._running is not None
        self._running.stop()


class SmtpReceiver(_Receiver):
    """An SMTP server on 127.0.0.1 (use as a context manager); ``mails`` is what it received."""

    def __init__(self) -> None:
        super().__init__(_SmtpServer())
        self.port: int = self._server.server_address[1]

    @property
    def mails(self) -> list[ReceivedMail]:
        with self._server.lock:
            return list(self._server.mails)

    def connection(self, from_email: str) -> dict[str, Any]:
        """An Airflow SMTP connection to this server (for ``AIRFLOW_CONN_<ID>``): plain SMTP, no login."""
        extra = {"from_email": from_email, "disable_tls": True, "disable_ssl": True, "timeout": 10}
        return {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": self.port,
            "extra": extra | {"retry_limit": 0},
        }


class SlackReceiver(_Receiver):
    """Slack's Web API on 127.0.0.1 (use as a context manager); ``calls`` is what it was asked."""

    def __init__(self) -> None:
        super().__init__(_SlackServer())
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    @property
    def calls(self) -> list[SlackCall]:
        with self._server.lock:
            return list(self._server.calls)

    def connection(self, token: str) -> dict[str, Any]:
        """An Airflow Slack API connection to this server: the token in ``password``, the hook's
        ``base_url`` extra pointing here (SlackHook reads it from the connection's extra)."""
        return {"conn_type": "slack", "password": token, "extra": {"base_url": self.base_url}}
