"""`mi-wizard sandbox serve` as a new user runs it: a separate process that prints one JSON descriptor line, then
a script that knows nothing of mi-wizard (examples/sandbox_sdk_only.py: only the Azure SDK and that descriptor)
creates an identity, a vault and a secret and reads the secret back. The server stops cleanly on SIGINT and
SIGTERM, keeps its data across restarts, forgets it with --reset, and refuses bad options with exit code 2."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.msi import ManagedServiceIdentityClient

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "examples" / "sandbox_sdk_only.py"
DESCRIPTOR_KEYS = {"arm_url", "authority_url", "tenant_id", "subscription_ids", "client_id", "client_secret",
                   "ca_bundle", "imds_url"}
# Runs the script with `wizard` made unimportable: it must work with the Azure SDK alone.
WITHOUT_WIZARD = ("import runpy, sys; sys.modules['wizard'] = None; sys.argv = sys.argv[1:]; "
                  "runpy.run_path(sys.argv[0], run_name='__main__')")


class Server:
    """`python -m wizard sandbox serve ...` in its own process (what the `mi-wizard` entry point runs)."""

    def __init__(self, log: Path, *args: str):
        # stderr goes to a file: a pipe nobody reads could fill up and block the server.
        self.log = log.open("a")
        self.proc = subprocess.Popen([sys.executable, "-m", "wizard", "sandbox", "serve", *args], cwd=REPO,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()), daemon=True).start()
        try:
            first = lines.get(timeout=30)
        except queue.Empty:
            self.stop(signal.SIGKILL)
            raise AssertionError("no descriptor line within 30 s") from None
        assert first, f"the server exited before printing its descriptor: {log.read_text()[-2000:]}"
        self.descriptor = json.loads(first)

    def stop(self, sig: int = signal.SIGINT) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=15)
        finally:
            self.proc.stdout.close()
            self.log.close()

    @property
    def credential(self) -> ClientSecretCredential:
        d = self.descriptor
        return ClientSecretCredential(d["tenant_id"], d["client_id"], d["client_secret"], authority=d["authority_url"],
                                      disable_instance_discovery=True, connection_verify=d["ca_bundle"])

    def client(self, client_class):
        d = self.descriptor
        return client_class(self.credential, d["subscription_ids"][0], base_url=d["arm_url"],
                            credential_scopes=["https://management.azure.com/.default"],
                            connection_verify=d["ca_bundle"])


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "sandbox-data"


def test_sdk_only_script_against_a_served_sandbox_then_restart_and_reset(tmp_path, data_dir):
    log = tmp_path / "serve.log"
    server = Server(log, "--data-dir", str(data_dir), "--seed", "empty", "--descriptor", str(tmp_path / "written.json"))
    try:
        assert DESCRIPTOR_KEYS <= server.descriptor.keys()
        assert server.descriptor["arm_url"].startswith("https://127.0.0.1:")
        written = tmp_path / "written.json"
        assert json.loads(written.read_text()) == server.descriptor and written.stat().st_mode & 0o777 == 0o600
        descriptor_file = tmp_path / "descriptor.json"
        descriptor_file.write_text(json.dumps(server.descriptor))
        run = subprocess.run([sys.executable, "-c", WITHOUT_WIZARD, str(SCRIPT), str(descriptor_file)], cwd=tmp_path,
                             capture_output=True, text=True, timeout=90)
        assert run.returncode == 0, run.stderr[-3000:]
        summary = json.loads(run.stdout)
        assert summary["secret_matches"] is True
        assert set(summary) == {"identity_id", "identity_principal_id", "identity_client_id", "vault_uri",
                                "secret_id", "secret_version", "secret_matches"}  # ids only, never the value
        assert summary["secret_id"].startswith(summary["vault_uri"].rstrip("/") + "/secrets/app-secret/")
    finally:
        assert server.stop(signal.SIGINT) == 0

    again = Server(log, "--data-dir", str(data_dir))  # same data dir, no --reset: everything is still there
    try:
        kept = again.client(ManagedServiceIdentityClient).user_assigned_identities.get("rg-sdk-only", "id-sdk-only")
        assert (kept.id, kept.principal_id, kept.client_id) == (summary["identity_id"], summary["identity_principal_id"],
                                                                 summary["identity_client_id"])
        vault = again.client(KeyVaultManagementClient).vaults.get("rg-sdk-only", "kv-sdk-only")
        secrets = SecretClient(vault.properties.vault_uri, again.credential, verify_challenge_resource=False,
                               connection_verify=again.descriptor["ca_bundle"])
        assert secrets.get_secret("app-secret").properties.version == summary["secret_version"]
    finally:
        assert again.stop(signal.SIGTERM) == 0

    fresh = Server(log, "--data-dir", str(data_dir), "--seed", "empty", "--reset")
    try:
        with pytest.raises(ResourceNotFoundError):
            fresh.client(ManagedServiceIdentityClient).user_assigned_identities.get("rg-sdk-only", "id-sdk-only")
    finally:
        assert fresh.stop() == 0
    notes = log.read_text()
    assert notes.count("mi-wizard sandbox: serving https://127.0.0.1:") == 3 and "Traceback" not in notes


@pytest.mark.parametrize(("options", "message"), [
    (["--faults", "nonsense"], "fault 'nonsense' is not OP:KIND[*COUNT|@RATE]"),
    (["--faults", "keyvault_craete:429"], "unknown operation 'keyvault_craete'"),
    (["--faults", "arm_get:418"], "unknown fault kind '418'"),
    (["--latency", "azure-typical:fast"], "latency scale 'fast'"),
    (["--latency", "nosuch"], "unknown latency profile 'nosuch': use one of azure-typical"),
], ids=["not-a-fault", "unknown-operation", "unknown-kind", "bad-scale", "unknown-profile"])
def test_bad_options_exit_2_with_a_clear_message(tmp_path, options, message):
    run = subprocess.run([sys.executable, "-m", "wizard", "sandbox", "serve", "--data-dir", str(tmp_path / "never"),
                          *options], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert message in run.stderr and run.stdout == ""
    assert not (tmp_path / "never").exists()  # refused before anything was created
