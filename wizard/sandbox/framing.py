"""HTTP/1.1 request framing with a service's limits, before any handler sees a request.

The connection loop (connections.py) buffers bytes until `frame()` says a whole request is there (head and body),
or that the request breaks a limit. Limits follow Azure's front doors: 4 MB of body (ARM's RequestContentTooLarge),
16 KB of request line, 64 KB of headers, JSON nested at most 64 deep (.NET's default reader depth). Every refusal is
an Azure-shaped JSON error, never the HTML page a stock server sends.
"""

from __future__ import annotations

import email.utils
import json
import re
import uuid
from dataclasses import dataclass
from itertools import accumulate

MAX_BODY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one listener tolerates; tests shorten the timeouts to watch them act."""

    request_timeout_s: float = 60.0
    """From a connection's first byte (or its accept) to a complete request: slow, half-open or silent clients."""
    idle_timeout_s: float = 120.0
    """A kept-alive connection with no request in flight is closed after this long."""
    write_timeout_s: float = 60.0
    """A worker sending to a client that does not read gives up after this long."""
    max_workers: int = 32
    """Threads per listener that run handlers; connections waiting for bytes hold none."""
    max_connections: int = 1024
    """Open connections per listener; one more is closed at accept."""
    max_body_bytes: int = MAX_BODY_BYTES
    max_request_line: int = 16 * 1024
    max_header_bytes: int = 64 * 1024
    max_json_depth: int = 64


@dataclass(frozen=True)
class Framing:
    """What the buffered bytes hold: nothing complete yet (`ready` False), a request, or a problem to answer."""

    ready: bool = False
    head_end: int = 0
    """Where the head ends (after its blank line)."""
    end: int = 0
    """Where the request ends: the bytes after it belong to the next request on the connection."""
    body: bytes = b""
    problem: tuple[int, str, str] | None = None
    """(status, code, message) to answer instead of handling the request; the connection then closes."""
    wants_continue: bool = False
    """The client waits for "100 Continue" before sending its body."""


MORE = Framing()


def _problem(status: int, code: str, message: str) -> Framing:
    return Framing(ready=True, problem=(status, code, message))


def too_large(limits: Limits) -> Framing:
    return _problem(413, "RequestContentTooLarge",
                    f"The request content size exceeds the maximum size of {limits.max_body_bytes // (1024 * 1024)} MB.")


def frame(buffer: bytes | bytearray, limits: Limits) -> Framing:
    line_end = buffer.find(b"\r\n")
    if line_end > limits.max_request_line or (line_end < 0 and len(buffer) > limits.max_request_line):
        return _problem(414, "RequestUriTooLong",
                        f"The request line is longer than the {limits.max_request_line} bytes this service accepts.")
    head_end = buffer.find(b"\r\n\r\n")
    if (head_end < 0 and len(buffer) > limits.max_header_bytes) or head_end + 4 > limits.max_header_bytes:
        return _problem(431, "RequestHeaderFieldsTooLarge",
                        f"The request headers are larger than the {limits.max_header_bytes} bytes this service accepts.")
    if head_end < 0:
        return MORE
    headers: dict[bytes, list[bytes]] = {}
    for line in bytes(buffer[line_end + 2:head_end]).split(b"\r\n"):
        name, _, value = line.partition(b":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    start = head_end + 4
    lengths, codings = headers.get(b"content-length", []), headers.get(b"transfer-encoding", [])
    if codings:
        if lengths:
            return _problem(400, "InvalidRequest", "The request has both Content-Length and Transfer-Encoding.")
        if b",".join(codings).split(b",")[-1].strip().lower() != b"chunked":
            return _problem(501, "NotImplemented", "Only the chunked transfer coding is supported.")
        return _chunked(buffer, start, limits)
    if not lengths:
        return Framing(ready=True, head_end=start, end=start)
    values = {v for joined in lengths for v in joined.split(b",")}
    if len(values) != 1 or not re.fullmatch(rb"\s*[0-9]{1,19}\s*", next(iter(values))):
        shown = b", ".join(lengths).decode("latin-1")[:64]
        return _problem(400, "InvalidContentLength", f"The Content-Length header '{shown}' is not a valid length.")
    length = int(next(iter(values)))
    if length > limits.max_body_bytes:
        return too_large(limits)
    if len(buffer) - start < length:
        expect = b"100-continue" in (v.lower() for v in headers.get(b"expect", []))
        return Framing(wants_continue=expect and len(buffer) == start)
    return Framing(ready=True, head_end=start, end=start + length, body=bytes(buffer[start:start + length]))


def _chunked(buffer: bytes | bytearray, start: int, limits: Limits) -> Framing:
    body, pos = bytearray(), start
    while True:
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return MORE if len(buffer) - pos < 1024 else _problem(400, "InvalidRequest", "A chunk size line is malformed.")
        size_text = bytes(buffer[pos:line_end]).split(b";")[0].strip()
        if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size_text):
            return _problem(400, "InvalidRequest", "A chunk size is not a hexadecimal number.")
        size = int(size_text, 16)
        if len(body) + size > limits.max_body_bytes:
            return too_large(limits)
        if size == 0:  # the last chunk; optional trailer lines, then a blank line
            trailer_end = buffer.find(b"\r\n\r\n", line_end)
            return MORE if trailer_end < 0 else Framing(ready=True, head_end=start, end=trailer_end + 4,
                                                        body=bytes(body))
        data_end = line_end + 2 + size
        if len(buffer) < data_end + 2:
            return MORE
        if buffer[data_end:data_end + 2] != b"\r\n":
            return _problem(400, "InvalidRequest", "A chunk is longer than its size says.")
        body += buffer[line_end + 2:data_end]
        pos = data_end + 2


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(body: bytes) -> int:
    """How deeply a JSON text nests, counting brackets outside strings (linear, no parser recursion)."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(1 if b in b"[{" else -1 for b in brackets), default=0)


def error_response(status: int, code: str, message: str, reason: str = "") -> bytes:
    """A complete HTTP/1.1 error response with Azure's JSON body, closing the connection."""
    payload = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (f"HTTP/1.1 {status} {reason or code}\r\nContent-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\nCache-Control: no-cache\r\n"
            f"x-ms-request-id: {uuid.uuid4()}\r\nServer: Microsoft-HTTPAPI/2.0\r\n"
            f"Date: {email.utils.formatdate(usegmt=True)}\r\n\r\n")
    return head.encode("latin-1") + payload
