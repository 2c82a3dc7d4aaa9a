"""The sandbox is robust like a service: a body over 4 MB is 413 RequestContentTooLarge; a URI too long (414), headers
too large (431), an unknown method (501), a bad Content-Length and deeply nested JSON get Azure's JSON, never HTML,
silence or a 500; chunked and 100-continue bodies and pipelined requests are read; every listener (ARM, IMDS, a
vault) holds no thread for a slow client and times out idle, half-open and partial connections; its data dir is
its own (a directory of other files is refused untouched, --reset deletes only the sandbox's files) and the files
holding secrets are 0600 from their first byte. Timeouts are shortened through `Limits`, never raced."""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest

from wizard.azure.clients import AzureClients, make_credential
from wizard.azure.profiles import sandbox_profile
from wizard.sandbox import Sandbox, running_sandbox
from wizard.sandbox.files import NotASandboxDir
from wizard.sandbox.framing import Limits

REPO = Path(__file__).resolve().parents[3]
RG_API = "2025-04-01"
ARM_SCOPE = "https://management.azure.com/.default"
SHORT = Limits(request_timeout_s=0.3, idle_timeout_s=0.3)


class _Shared:
    """Lets http.client read several responses from one buffered file (pipelining, 100-continue, keep-alive)."""

    def __init__(self, sock: socket.socket):
        self.file = sock.makefile("rb")

    def makefile(self, *args, **kwargs):
        return _KeepOpen(self.file)


class _KeepOpen:
    """The shared file, which a finished response may not close (http.client closes its file when done)."""

    def __init__(self, file):
        self._file = file

    def __getattr__(self, name: str):
        return getattr(self._file, name)

    def close(self) -> None:
        pass


def _connect(port: int, ca: Path | None) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)  # a guard against hanging, not a window
    if ca is None:
        return sock
    return ssl.create_default_context(cafile=str(ca)).wrap_socket(sock, server_hostname="127.0.0.1")


def _response(source, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    resp = http.client.HTTPResponse(source if isinstance(source, _Shared) else _Shared(source), method=method)
    resp.begin()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()


def _exchange(port: int, ca: Path | None, raw: bytes, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    with _connect(port, ca) as sock:
        sock.sendall(raw)
        return _response(sock, method)


def _azure_error(status: int, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    assert headers["content-type"].startswith("application/json") and b"<html" not in body.lower()
    error = json.loads(body)["error"]
    assert error["message"], error
    return status, error["code"]


def _listener(sb: Sandbox, kind: str):
    """(listener, CA or None for plain HTTP) of one of the sandbox's kinds of port."""
    if kind == "vault":
        sb.vault_url("kv-robust")
        return sb._vault_listeners["kv-robust"], sb.ca_path
    return (sb.main, sb.ca_path) if kind == "arm" else (sb.imds, None)


def _clients(sb: Sandbox) -> AzureClients:
    profile = sandbox_profile(sb.descriptor())
    return AzureClients(profile, make_credential(profile), sb.subscription_ids[0])


# ---- bodies, URIs, headers, methods ------------------------------------------------------------------------------
def test_a_body_over_4_mb_is_413_request_content_too_large(sandbox, az, credential):
    with pytest.raises(HttpResponseError) as err:
        az.resources.resource_groups.create_or_update("rg-huge", {"location": "eastus",
                                                                  "tags": {"big": "x" * (4 * 1024 * 1024)}})
    assert (err.value.status_code, err.value.error.code) == (413, "RequestContentTooLarge")
    assert err.value.error.message == "The request content size exceeds the maximum size of 4 MB."
    # A client that waits for "100 Continue" is refused before it sends its 10 MB.
    token = credential.get_token(ARM_SCOPE).token
    head = (f"PUT /subscriptions/{az.subscription_id}/resourcegroups/rg-huge?api-version={RG_API} HTTP/1.1\r\n"
            f"Host: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {10 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n").encode()
    assert _azure_error(*_exchange(sandbox.main.port, sandbox.ca_path, head)) == (413, "RequestContentTooLarge")
    assert az.resources.resource_groups.create_or_update("rg-small", {"location": "eastus"}).name == "rg-small"


ABUSE = {
    "uri-too-long": (b"GET /subscriptions/" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "RequestUriTooLong"),
    "header-too-large": (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", 431,
                         "RequestHeaderFieldsTooLarge"),
    "too-many-headers": (b"GET / HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(150)) + b"\r\n", 431,
                         "RequestHeaderFieldsTooLarge"),
    "unknown-method": (b"BREW /subscriptions HTTP/1.1\r\nHost: x\r\n\r\n", 501, "NotImplemented"),
    "length-not-a-number": (b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, "InvalidContentLength"),
    "length-negative": (b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "InvalidContentLength"),
    "lengths-conflict": (b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400,
                         "InvalidContentLength"),
    "length-and-chunked": (b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                           400, "InvalidRequest"),
    "unknown-coding": (b"PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "NotImplemented"),
    "garbage-line": (b"GARBAGE\r\n\r\n", 400, "BadRequest"),
    "empty-line": (b"\r\n\r\n", 400, "BadRequest"),
    "http-2": (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HttpVersionNotSupported"),
    "nested-json": (b"PUT /subscriptions/s/resourcegroups/rg?api-version=1 HTTP/1.1\r\nHost: x\r\nContent-Length: "
                    b"200000\r\nContent-Type: application/json\r\n\r\n" + b"[" * 100000 + b"]" * 100000, 400,
                    "InvalidRequestContent"),
}


@pytest.mark.parametrize("kind", ["arm", "imds"])
@pytest.mark.parametrize("case", sorted(ABUSE))
def test_protocol_abuse_gets_azure_json(sandbox, case, kind):
    raw, status, code = ABUSE[case]
    listener, ca = _listener(sandbox, kind)
    assert _azure_error(*_exchange(listener.port, ca, raw)) == (status, code)


def test_json_nested_deeper_than_64_is_invalid_request_content(az):
    deep: dict = {}
    for _ in range(100):
        deep = {"x": deep}
    response = az.resources.send_request(HttpRequest(
        "PUT", f"/subscriptions/{az.subscription_id}/resourcegroups/rg-deep", params={"api-version": RG_API},
        json={"location": "eastus", "tags": deep}))
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (400, "InvalidRequestContent")
    assert "MaxDepth of 64 has been exceeded" in error["message"]


# ---- what a well-behaved client may send ---------------------------------------------------------------------------
def test_chunked_and_100_continue_bodies_and_pipelined_requests_are_served(sandbox, credential, sub_id):
    token = credential.get_token(ARM_SCOPE).token
    path = f"/subscriptions/{sub_id}/resourcegroups"
    ctx = ssl.create_default_context(cafile=str(sandbox.ca_path))
    conn = http.client.HTTPSConnection("127.0.0.1", sandbox.main.port, context=ctx, timeout=30)
    body = iter([b'{"location":', b' "eastus"}'])
    conn.request("PUT", f"{path}/rg-chunked?api-version={RG_API}", body=body, encode_chunked=True,
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert conn.getresponse().status == 201
    conn.close()
    with _connect(sandbox.main.port, sandbox.ca_path) as sock:
        payload = b'{"location": "westeurope"}'
        sock.sendall(f"PUT {path}/rg-continued?api-version={RG_API} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                     f"{token}\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                     "Expect: 100-continue\r\n\r\n".encode())
        shared = _Shared(sock)
        assert shared.file.readline() == b"HTTP/1.1 100 Continue\r\n" and shared.file.readline() == b"\r\n"
        sock.sendall(payload)
        assert _response(shared, "PUT")[0] == 201
        # Two requests in one write: two answers, in order, on the same connection.
        get = f"GET {path}/{{}}?api-version={RG_API} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
        sock.sendall((get.format("rg-chunked") + get.format("rg-continued")).encode())
        first, second = (json.loads(_response(shared)[2]) for _ in range(2))
        assert (first["name"], first["location"], second["name"], second["location"]) == (
            "rg-chunked", "eastus", "rg-continued", "westeurope")


def test_a_request_followed_by_the_clients_end_of_file_is_still_answered(sandbox):
    with socket.create_connection(("127.0.0.1", sandbox.imds.port), timeout=30) as sock:
        sock.sendall(b"GET /no-such-path HTTP/1.0\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)  # as `printf ... | nc` does: the request is whole, the client waits to read
        status, headers, body = _response(sock)
        assert _azure_error(status, headers, body) == (404, "NotFound") and headers["server"] == "Microsoft-HTTPAPI/2.0"
        assert sock.recv(1) == b""


# ---- slow, idle and half-open clients ----------------------------------------------------------------------------
def _normal_request(sb: Sandbox, kind: str, listener, ca) -> int:
    """A well-formed request to the listener, answered (ARM through the SDK; IMDS 404 and a vault 400, in JSON)."""
    if kind == "arm":
        return _clients(sb).resources.send_request(HttpRequest(
            "GET", f"/subscriptions/{sb.subscription_ids[0]}/resourcegroups", params={"api-version": RG_API})).status_code
    status, headers, body = _exchange(listener.port, ca, b"GET /no-such-path HTTP/1.1\r\nHost: x\r\n\r\n")
    return _azure_error(status, headers, body)[0]


@pytest.mark.parametrize("kind", ["arm", "imds", "vault"])
def test_100_slow_clients_hold_no_thread_and_a_normal_request_still_succeeds(tmp_path, kind):
    with running_sandbox(tmp_path / "sb", seed="empty") as sb:
        listener, ca = _listener(sb, kind)
        expected = _normal_request(sb, kind, listener, ca)  # warm: a worker exists, the SDK keeps a connection
        threads = threading.active_count()
        slow = [_connect(listener.port, ca) for _ in range(100)]
        try:
            for sock in slow:
                sock.sendall(b"GET /subscriptions?api-version=2022-12-01 HTTP/1.1\r\nHost: x\r\n")  # never finished
            assert listener.loop.wait_for_connections(100, timeout=30)  # all accepted, none answered
            # A thread per connection would add 100; the loop holds them all, the workers only answer.
            assert threading.active_count() - threads <= 1
            assert listener.worker_count <= sb.limits.max_workers
            assert _normal_request(sb, kind, listener, ca) == expected
        finally:
            for sock in slow:
                sock.close()


@pytest.mark.parametrize("kind", ["arm", "imds", "vault"])
def test_idle_partial_and_half_open_connections_time_out(tmp_path, kind):
    with running_sandbox(tmp_path / "sb", seed="empty", limits=SHORT) as sb:
        listener, ca = _listener(sb, kind)
        silent = socket.create_connection(("127.0.0.1", listener.port), timeout=30)  # not even a TLS handshake
        partial = _connect(listener.port, ca)
        partial.sendall(b"GET /subscriptions HTTP/1.1\r\nHost: x\r\n")
        half_closed = _connect(listener.port, ca)
        half_closed.sendall(b"GET /subscriptions HTTP/1.1\r\n")
        with socket.socket(fileno=os.dup(half_closed.fileno())) as raw:
            raw.shutdown(socket.SHUT_WR)  # the client stops writing, its request unfinished: it cannot finish it
        idle = _connect(listener.port, ca)
        idle.sendall(b"GET /no-such-path HTTP/1.1\r\nHost: x\r\n\r\n")
        shared = _Shared(idle)
        assert _response(shared)[0] in (400, 404)
        # Each is closed by the sandbox: the partial request with 408 in Azure's JSON, the others quietly.
        status, headers, body = _response(partial)
        assert _azure_error(status, headers, body) == (408, "RequestTimeout")
        for sock in (partial, half_closed, silent):
            try:
                assert sock.recv(1) == b""
            except (ConnectionResetError, ssl.SSLError):  # closed mid-handshake or mid-record: closed all the same
                pass
        assert shared.file.read() == b""  # kept alive after its answer, then idle past its timeout
        assert listener.loop.wait_until_at_most(0, timeout=30), listener.loop.connection_count()
        for sock in (silent, partial, half_closed, idle):
            sock.close()


# ---- the data dir and the files holding secrets ------------------------------------------------------------------
def _tree(path: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(path)): (p.stat().st_mode & 0o777, p.read_bytes() if p.is_file() else b"")
            for p in sorted(path.rglob("*"))}


def test_a_directory_of_other_files_is_refused_and_left_untouched(tmp_path):
    home = tmp_path / "home"
    (home / "projects").mkdir(parents=True)
    (home / "notes.txt").write_text("mine")
    home.chmod(0o755)
    before = _tree(home)
    for reset in (False, True):
        with pytest.raises(NotASandboxDir, match="holds other files .* and is not a sandbox"):
            Sandbox(home, reset=reset)
    run = subprocess.run([sys.executable, "-m", "wizard", "sandbox", "serve", "--data-dir", str(home), "--reset"],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout) == (2, "")
    assert "bad --data-dir" in run.stderr and "is not a sandbox" in run.stderr and "Traceback" not in run.stderr
    assert _tree(home) == before and home.stat().st_mode & 0o777 == 0o755  # not chmod'ed, nothing added or removed


def test_reset_deletes_only_the_sandboxs_own_files(tmp_path):
    data = tmp_path / "sb"
    with running_sandbox(data, seed="empty") as sb:
        _clients(sb).resources.resource_groups.create_or_update("rg-before-reset", {"location": "eastus"})
    (data / "notes.txt").write_text("the user's")
    (data / "keep").mkdir()
    (data / "keep" / "data.bin").write_bytes(b"\x00\x01")
    with running_sandbox(data, seed="empty", reset=True) as sb:
        with pytest.raises(ResourceNotFoundError):
            _clients(sb).resources.resource_groups.get("rg-before-reset")
    assert (data / "notes.txt").read_text() == "the user's" and (data / "keep" / "data.bin").read_bytes() == b"\x00\x01"
    with running_sandbox(data, seed="empty") as sb:  # still a sandbox, with the user's files beside it
        assert _clients(sb).resources.resource_groups.create_or_update("rg-after", {"location": "eastus"}).name


def test_files_holding_secrets_are_private_from_their_first_byte(tmp_path):
    with running_sandbox(tmp_path / "sb", seed="empty") as sb:
        _clients(sb).resources.resource_groups.create_or_update("rg-write", {"location": "eastus"})  # WAL in use
        private = ["sandbox.db", "sandbox.db-wal", "sandbox.db-shm", "signing.key", "server.key"]
        assert {name: (sb.data_dir / name).stat().st_mode & 0o777 for name in private} == dict.fromkeys(private, 0o600)
        assert sb.data_dir.stat().st_mode & 0o777 == 0o700
        # The descriptor (it holds a client secret) replaces any old file atomically, 0600 throughout: a reader
        # watching it while it is rewritten sees only whole descriptors, never a readable or partial one.
        target = tmp_path / "descriptor.json"
        target.write_text("old")
        target.chmod(0o644)
        seen: list[tuple[int, str]] = []
        done = threading.Event()

        def rewrite() -> None:
            for _ in range(200):
                sb.write_descriptor(target)
            done.set()

        writer = threading.Thread(target=rewrite)
        writer.start()
        while not done.is_set():
            with target.open() as watched:
                seen.append((os.fstat(watched.fileno()).st_mode & 0o777, watched.read()))
        writer.join()
        assert json.loads(target.read_text()) == sb.descriptor() and target.stat().st_mode & 0o777 == 0o600
        changed = [(mode, text) for mode, text in seen if text != "old"]
        assert all(mode == 0o600 and json.loads(text)["kind"] == "mi-wizard-sandbox" for mode, text in changed)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["descriptor.json", "sb"]  # no temporary file left
