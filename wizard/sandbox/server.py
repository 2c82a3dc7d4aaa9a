"""The sandbox's HTTP(S) listeners: each one a connection loop and a bounded pool of workers (connections.py) in
front of the request pipeline (pipeline.py).

The stdlib's request handler parses each request the loop has framed; what it would answer with an HTML page (a
malformed request line, too many headers, an unknown method) is answered with Azure's JSON instead, as is every
refusal of the framing (413, 414, 431, a bad Content-Length), so a client never sees HTML, silence or a 500.
"""

from __future__ import annotations

import io
import json
import socket
import ssl
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .connections import Connection, ConnectionLoop
from .framing import Framing, Limits, error_response
from .pipeline import CallRecord, Drop, authenticate, dispatch, log, plane_error_shapes
from .router import ARM, LOGIN, Request, Response, parse_query

if TYPE_CHECKING:
    from .app import Sandbox

__all__ = ["CallRecord", "Listener", "authenticate", "dispatch", "free_port", "plane_error_shapes"]


class Listener:
    """One port of the sandbox (ARM and login, IMDS, a vault, a Batch account), serving until `stop()`."""

    def __init__(self, sandbox: Sandbox, plane: str, port: int, tls: ssl.SSLContext | None, vault: str | None = None):
        self.sandbox, self.plane, self.tls, self.vault = sandbox, plane, tls, vault
        self.limits: Limits = sandbox.limits
        self.socket = socket.create_server(("127.0.0.1", port), backlog=128)  # SO_REUSEADDR: restarts rebind
        self.server_address = self.socket.getsockname()
        self.loop = ConnectionLoop(self.socket, tls, self.limits, self._answer, f"sandbox-{plane}-{self.port}")

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def worker_count(self) -> int:
        """Threads this listener runs handlers in (bounded by `limits.max_workers`, whatever the connections)."""
        return len(self.loop.pool.threads)

    def start(self) -> Listener:
        self.loop.start()
        return self

    def stop(self) -> None:
        self.loop.stop()
        self.socket.close()

    def _answer(self, conn: Connection, framing: Framing) -> None:
        """In a worker: answer the request the loop framed, then hand the connection back (or close it)."""
        try:
            conn.sock.settimeout(self.limits.write_timeout_s)
            if framing.problem is not None:
                status, code, message = framing.problem
                conn.sock.sendall(error_response(status, code, message, HTTPStatus(status).phrase))
                self.loop.drain(conn)
                return
            handler = _Handler(self, conn, framing)
        except (OSError, ssl.SSLError):  # the client went away, or stopped reading past the write timeout
            self.loop.close(conn)
            return
        except Exception:  # noqa: BLE001 - a bug must cost one connection, never leak it
            log.exception("sandbox connection failed")
            self.loop.close(conn)
            return
        if handler.dropped:
            self.loop.close(conn)
        elif handler.refused:
            self.loop.drain(conn)
        elif handler.close_connection:
            self.loop.close(conn)
        else:
            self.loop.keep(conn, bytes(conn.buffer[framing.end:]))


class _Output:
    """The handler's wfile: collects a response and sends it in one piece."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        if self._parts:
            data, self._parts = b"".join(self._parts), []
            self._sock.sendall(data)


def _header_value(value: Any) -> str:
    # Header values may echo client input or token claims: never a line break (injection), never a non-Latin-1
    # character (http.server would raise while writing the answer).
    return str(value).replace("\r", " ").replace("\n", " ").encode("latin-1", "replace").decode("latin-1")


_PROTOCOL_ERRORS = {400: "BadRequest", 414: "RequestUriTooLong", 431: "RequestHeaderFieldsTooLarge",
                    501: "NotImplemented", 505: "HttpVersionNotSupported"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.1"  # so that even an answer to a garbled request line has a status line
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    server: Listener  # type: ignore[assignment]

    def __init__(self, listener: Listener, conn: Connection, framing: Framing):  # noqa: D107
        # Not StreamRequestHandler's __init__: the loop has read the whole request, so the handler reads its head
        # from memory, takes the body as framed, and answers exactly one request.
        self.server = listener
        self.request = self.connection = conn.sock
        self.client_address = conn.address
        self.rfile = io.BytesIO(bytes(conn.buffer[:framing.head_end]))
        self.wfile = _Output(conn.sock)
        self.body = framing.body
        self.dropped = self.refused = False
        self.close_connection = True
        self.handle_one_request()
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def version_string(self) -> str:
        return self.server_version  # http.sys sends no Python version (nor the stdlib's trailing space)

    def handle_expect_100(self) -> bool:
        return True  # the connection loop has already said "100 Continue", or the body came without waiting

    def parse_request(self) -> bool:
        if not self.raw_requestline.strip():
            self.command, self.requestline, self.request_version = None, "", "HTTP/1.1"
            self.send_error(400, "The request line is empty")
            return False
        return super().parse_request()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Azure's JSON for the errors the stdlib parser finds (instead of its HTML page), then close."""
        self.refused = True
        status = HTTPStatus(code)
        if code == 501:
            text = f"The HTTP method '{self.command}' is not supported by this service."
        else:
            text = f"{status.description or status.phrase}: {message or status.phrase}."
        payload = json.dumps({"error": {"code": _PROTOCOL_ERRORS.get(code, status.phrase.replace(" ", "")),
                                        "message": text}}).encode()
        self.send_response(code)
        for key, value in (("Content-Type", "application/json; charset=utf-8"), ("Content-Length", len(payload)),
                           ("x-ms-request-id", uuid.uuid4()), ("Connection", "close")):
            self.send_header(key, _header_value(value))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _serve(self) -> None:
        url = urlsplit(self.path)
        plane = self.server.plane
        path = unquote(url.path)
        if plane == ARM and not path.lower().startswith(("/subscriptions", "/providers", "/_sandbox")):
            plane = LOGIN
        request = Request(method=self.command, path=path, query=parse_query(url.query), headers=dict(self.headers),
                          body=self.body, host=self.headers.get("Host", ""), plane=plane)
        if self.server.vault:
            request.context["vault"] = self.server.vault
        try:
            response = dispatch(self.server.sandbox, request)
        except Drop:
            self.dropped = self.close_connection = True
            return
        self._write(request, response)

    def _write(self, request: Request, response: Response) -> None:
        payload = response.payload()
        self.send_response(response.status)
        headers = {"Cache-Control": "no-cache",
                   "x-ms-request-id": str(uuid.uuid4()),
                   "x-ms-correlation-request-id": request.header("x-ms-client-request-id") or str(uuid.uuid4())}
        if request.plane == ARM:
            headers["x-ms-routing-request-id"] = "SANDBOX:" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            kind = "reads" if request.method in ("GET", "HEAD") else ("deletes" if request.method == "DELETE" else "writes")
            headers[f"x-ms-ratelimit-remaining-subscription-{kind}"] = "249" if kind == "reads" else "199"
        if payload or response.raw is not None:
            headers["Content-Type"] = response.content_type
        headers.update(response.headers)
        for key, value in headers.items():
            self.send_header(key, _header_value(value))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

