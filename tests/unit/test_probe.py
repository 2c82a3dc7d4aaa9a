"""The probe script on its own: stdlib only, small, its command and verdict parsing, and how it reports each
answer (against a tiny local stand-in for IMDS and Key Vault; the real thing is in tests/e2e/sandbox/test_aci.py)."""

from __future__ import annotations

import ast
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from wizard import probe

VALUE = "s3cr3t-value-never-printed"


def test_probe_is_stdlib_only_and_small():
    source = probe.probe_source()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported and imported <= set(sys.stdlib_module_names)
    assert len(source.encode()) < 3200  # it travels inline in a container command


def test_probe_command_and_verdict_parsing():
    assert probe.probe_command("https://kv/", "s") == ["python3", "-c", probe.probe_source(), "https://kv/", "s"]
    assert probe.probe_command("https://kv/", "s", "cid")[-1] == "cid"
    log = 'starting\n{"ok": false, "stage": "imds"}\nnot json\n{"other": 1}\n'
    assert probe.parse_verdict(log) == {"ok": False, "stage": "imds"}
    assert probe.parse_verdict("nothing here\n") is None and probe.parse_verdict(None) is None


class _Fake(BaseHTTPRequestHandler):
    """IMDS at /metadata/..., the vault at /secrets/...; answers chosen per test through `answers`."""

    answers: dict = {}
    seen: list = []

    def do_GET(self):  # noqa: N802 - stdlib name
        type(self).seen.append((self.path, dict(self.headers)))
        key = "imds" if self.path.startswith("/metadata/") else "vault"
        status, body = self.answers[key]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", base)
    monkeypatch.delenv("AZURE_CLIENT_ID", raising=False)
    _Fake.seen = []
    yield base
    server.shutdown()
    server.server_close()


TOKEN = (200, {"access_token": "tok", "client_id": "cid-1", "token_type": "Bearer"})


def _run(capsys, *args):
    code = probe.main(list(args))
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # exactly one line
    return code, json.loads(out), out


def test_success_prints_the_version_never_the_value(fake, capsys, monkeypatch):
    monkeypatch.setenv("AZURE_CLIENT_ID", "cid-1")
    _Fake.answers = {"imds": TOKEN, "vault": (200, {"value": VALUE, "id": f"{fake}/secrets/s/0123abcd"})}
    code, verdict, out = _run(capsys, fake + "/", "s")
    assert code == 0 and VALUE not in out and "tok" not in out
    assert verdict == {"ok": True, "stage": "vault", "status": 200, "code": None, "message": "", "version": "0123abcd",
                       "client_id": "cid-1", "attempts": 1, "transient": False, "waited_s": verdict["waited_s"]}
    imds_path, imds_headers = _Fake.seen[0]
    assert imds_path.startswith("/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https")
    assert "client_id=cid-1" in imds_path and imds_headers["Metadata"] == "true"
    vault_path, vault_headers = _Fake.seen[1]
    assert vault_path == "/secrets/s/?api-version=2026-04-01" and vault_headers["Authorization"] == "Bearer tok"


def test_vault_errors_report_the_inner_code(fake, capsys):
    _Fake.answers = {"imds": TOKEN, "vault": (403, {"error": {
        "code": "Forbidden", "message": "Caller is not authorized to perform action on resource.\r\nCaller: appid=x",
        "innererror": {"code": "ForbiddenByRbac"}}})}
    code, verdict, _ = _run(capsys, fake, "s", "cid-1", "7.5")
    assert code == 1 and _Fake.seen[1][0].endswith("api-version=7.5")
    assert (verdict["stage"], verdict["status"], verdict["code"]) == ("vault", 403, "ForbiddenByRbac")
    assert verdict["message"] == "Caller is not authorized to perform action on resource."
    _Fake.answers["vault"] = (404, {"error": {"code": "SecretNotFound", "message": "A secret with (name/id) s was not found"}})
    assert _run(capsys, fake, "s", "cid-1")[1]["code"] == "SecretNotFound"


def test_imds_errors_and_unreachable_endpoints(fake, capsys, monkeypatch):
    _Fake.answers = {"imds": (400, {"error": "invalid_request", "error_description": "Identity not found"})}
    code, verdict, _ = _run(capsys, fake, "s", "wrong")
    assert code == 1 and len(_Fake.seen) == 1
    assert (verdict["stage"], verdict["status"], verdict["code"], verdict["message"], verdict["client_id"]) == \
        ("imds", 400, "invalid_request", "Identity not found", "wrong")
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")  # nothing listens there
    code, verdict, _ = _run(capsys, fake, "s", "", "", "", "", "0")  # no transient retries: report at once
    assert code == 1 and (verdict["stage"], verdict["status"], verdict["code"]) == ("imds", 0, "URLError")
    assert verdict["transient"] is True  # "could not check now", never a broken link


def test_transient_failures_are_retried_and_refusals_are_final_without_a_wait(fake, capsys):
    answers = [(503, {"error": {"code": "ServiceUnavailable", "message": "busy"}}),
               (429, {"error": {"code": "Throttled", "message": "slow down"}}),
               (200, {"value": VALUE, "id": f"{fake}/secrets/s/v2"})]

    class Sequence(dict):
        def __getitem__(self, key):
            return TOKEN if key == "imds" else answers.pop(0)
    _Fake.answers = Sequence()
    code, verdict, out = _run(capsys, fake, "s", "cid-1")
    assert code == 0 and verdict["ok"] and verdict["attempts"] == 3 and VALUE not in out
    # A refusal with no grant known (WAIT_S 0) is final at once: "never", not "not yet".
    _Fake.answers = {"imds": TOKEN, "vault": (403, {"error": {"code": "Forbidden", "message": "no",
                                                              "innererror": {"code": "ForbiddenByRbac"}}})}
    code, verdict, _ = _run(capsys, fake, "s", "cid-1")
    assert code == 1 and verdict["attempts"] == 1 and verdict["transient"] is False
