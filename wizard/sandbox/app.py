"""The Sandbox: a local Azure tenant served over HTTPS, in-process or standalone.

Listeners: one HTTPS port for ARM and the Entra login endpoints, one plain-HTTP port for IMDS (as on a
real VM), and one HTTPS port per vault for its data plane (vault hosts must differ, and `*.localhost`
does not resolve everywhere, so each vault gets its own 127.0.0.1 port). Each Batch account gets its own
port too: BatchClient talks to https://{accountEndpoint}, so the endpoint is that host:port.
"""

from __future__ import annotations

import secrets
import ssl
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import directory
from .descriptor import descriptor_extras, write_descriptor
from .files import prepare_data_dir
from .framing import Limits
from .realism import Realism
from .router import ARM, BATCH, IMDS, VAULT
from .server import CallRecord, Listener
from .store import Store
from .tls import ensure_certificates
from .tokens import TokenIssuer

META = "meta"
VAULT_PORT = "vault_port"
BATCH_PORT = "batch_port"
_NS = uuid.UUID("6f1c1c9e-9a57-4a40-9c1e-6d1d7c0a5e11")


def stable_id(name: str) -> str:
    """Deterministic ids for seeded objects, so demos and snapshots look the same every time."""
    return str(uuid.uuid5(_NS, name))


class Sandbox:
    """A running local Azure. Use `running_sandbox()` or `start()` / `stop()`."""

    def __init__(self, data_dir: Path | str, *, seed: str = "demo", reset: bool = False,
                 realism: Realism | None = None, port: int = 0, limits: Limits | None = None):
        self.data_dir = Path(data_dir)
        prepare_data_dir(self.data_dir, reset=reset)  # refuses a directory of other files; reset deletes only ours
        self.limits = limits or Limits()
        """Body size, timeouts and worker count of every listener (tests shorten the timeouts)."""
        self.seed_name = seed
        self.realism = realism or Realism()
        self.requested_port = port
        self.calls: list[CallRecord] = []
        self.observers: list = []
        """Callables told of every answered call (before the answer is sent)."""
        self._calls_lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._vault_listeners: dict[str, Listener] = {}
        self._vault_lock = threading.Lock()
        self._batch_listeners: dict[str, Listener] = {}
        """Batch account ARM id (lower-case) -> the listener serving its Batch service API."""
        self._batch_lock = threading.Lock()
        self.store: Store | None = None

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        from . import providers  # noqa: F401 - registers every route
        self.ca_path, cert_path, key_path = ensure_certificates(self.data_dir)
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert_path, key_path)
        self.store = Store(self.data_dir / "sandbox.db")
        (self.data_dir / "sandbox.db").chmod(0o600)
        meta = self.store.get(META, "tenant")
        if meta is None:
            meta = {"tenantId": stable_id("tenant"), "created": True}
            self.store.put(META, "tenant", meta)
        self.tenant_id = meta["tenantId"]
        self.main = Listener(self, ARM, self.requested_port, self.tls).start()
        self.imds = Listener(self, IMDS, 0, None).start()
        self._listeners += [self.main, self.imds]
        self.issuer = TokenIssuer(self.data_dir, self.tenant_id, self.authority)
        if self.store.get(META, "seeded") is None:
            from .seed import seed
            seed(self, self.seed_name)
            self.store.put(META, "seeded", {"seed": self.seed_name})
        for record in self.store.list(VAULT_PORT):
            self.vault_url(record["name"], preferred_port=record["port"])
        for record in self.store.list(BATCH_PORT):
            self.batch_url(record["account"], preferred_port=record["port"])
        return self

    def stop(self) -> None:
        from .containers import stop_all
        stop_all(self)
        # Each listener's loop notices a shutdown within its poll interval: stop them all at once, not in turn.
        stoppers = [threading.Thread(target=listener.stop) for listener in self._listeners + list(
            self._vault_listeners.values()) + list(self._batch_listeners.values())]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()
        self._listeners.clear()
        self._vault_listeners.clear()
        self._batch_listeners.clear()
        if self.store is not None:
            self.store.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---- addresses ---------------------------------------------------------------------------------
    @property
    def arm_url(self) -> str:
        return f"https://127.0.0.1:{self.main.port}"

    @property
    def authority(self) -> str:
        return f"https://127.0.0.1:{self.main.port}"

    @property
    def imds_url(self) -> str:
        return f"http://127.0.0.1:{self.imds.port}"

    def vault_url(self, name: str, preferred_port: int = 0) -> str:
        """The data-plane URL of vault `name`, starting its listener on first use."""
        key = name.lower()
        with self._vault_lock:
            listener = self._vault_listeners.get(key)
            if listener is None:
                try:
                    listener = Listener(self, VAULT, preferred_port, self.tls, vault=key)
                except OSError:  # the old port is taken after a restart: the vault moves
                    listener = Listener(self, VAULT, 0, self.tls, vault=key)
                listener.start()
                self._vault_listeners[key] = listener
                self.store.put(VAULT_PORT, key, {"name": key, "port": listener.port})
        return f"https://127.0.0.1:{listener.port}/"

    def vault_for_host(self, host: str) -> str | None:
        port = host.rsplit(":", 1)[-1]
        for name, listener in self._vault_listeners.items():
            if str(listener.port) == port:
                return name
        return None

    def batch_url(self, account_id: str, preferred_port: int = 0) -> str:
        """The Batch service URL of the Batch account `account_id` (ARM id), starting its listener on first use."""
        key = account_id.lower()
        with self._batch_lock:
            listener = self._batch_listeners.get(key)
            if listener is None:
                try:
                    listener = Listener(self, BATCH, preferred_port, self.tls)
                except OSError:  # the old port is taken after a restart: the account endpoint moves
                    listener = Listener(self, BATCH, 0, self.tls)
                listener.start()
                self._batch_listeners[key] = listener
                self.store.put(BATCH_PORT, key, {"account": key, "port": listener.port})
        return f"https://127.0.0.1:{listener.port}"

    def batch_account_for_host(self, host: str) -> str | None:
        """The (lower-case) ARM id of the Batch account served at `host` ("127.0.0.1:PORT")."""
        port = host.rsplit(":", 1)[-1]
        for account_id, listener in list(self._batch_listeners.items()):
            if str(listener.port) == port:
                return account_id
        return None

    # ---- tenant facts ------------------------------------------------------------------------------
    @property
    def subscription_ids(self) -> list[str]:
        from .arm import SUBSCRIPTION
        return [s["subscriptionId"] for s in self.store.list(SUBSCRIPTION)]

    def operator(self, name: str = "operator") -> dict[str, Any]:
        """The seeded operator credentials: {'clientId', 'clientSecret', 'objectId', 'displayName'}."""
        record = self.store.get(META, f"operator:{name}")
        if record is None:
            raise KeyError(f"no operator named {name!r} in this sandbox")
        return record

    def add_operator(self, name: str, display_name: str) -> dict[str, Any]:
        """A service principal the wizard can sign in as (with a client secret)."""
        secret = secrets.token_urlsafe(24)
        principal = directory.add_principal(self.store, display_name=display_name, object_id=stable_id(f"op:{name}"),
                                            app_id=stable_id(f"app:{name}"), secret=secret, created=0.0)
        record = {"name": name, "clientId": principal["appId"], "clientSecret": secret,
                  "objectId": principal["objectId"], "displayName": display_name}
        self.store.put(META, f"operator:{name}", record)
        return record

    def descriptor(self, operator: str = "operator") -> dict[str, Any]:
        op = self.operator(operator)
        return {
            "kind": "mi-wizard-sandbox", "version": 1,
            "arm_url": self.arm_url, "authority_url": self.authority, "tenant_id": self.tenant_id,
            "subscription_ids": self.subscription_ids, "client_id": op["clientId"],
            "client_secret": op["clientSecret"], "ca_bundle": str(self.ca_path), "imds_url": self.imds_url,
            "data_dir": str(self.data_dir), **descriptor_extras(self),
        }

    # ---- observation -------------------------------------------------------------------------------
    def record(self, call: CallRecord) -> None:
        with self._calls_lock:
            self.calls.append(call)

    def arm_calls(self, since: int = 0) -> list[CallRecord]:
        with self._calls_lock:
            return [c for c in self.calls[since:] if c.plane == ARM]

    def write_descriptor(self, path: Path) -> None:
        write_descriptor(path, self.descriptor())


@contextmanager
def running_sandbox(data_dir: Path | str, **kwargs: Any) -> Iterator[Sandbox]:
    """Start a sandbox for the duration of a `with` block (tests, `mi-wizard --sandbox`)."""
    sandbox = Sandbox(data_dir, **kwargs).start()
    try:
        yield sandbox
    finally:
        sandbox.stop()
