"""One listener's connections: a selector loop that reads requests, and a bounded pool of workers that answer them.

A thread-per-connection server lets 100 clients that send half a request hold 100 threads until they give up. Here
one loop thread per listener does the TLS handshakes (non-blocking) and buffers bytes until `framing.frame()` sees a
complete request; only then does a worker (at most `Limits.max_workers`) run the handler. Every connection has a
deadline: the request timeout while a request (or the handshake) is incomplete, then 408 with Azure's JSON; the idle
timeout while kept alive between requests, then a quiet close (as http.sys does).
"""

from __future__ import annotations

import logging
import queue
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable

from .framing import Framing, Limits, error_response, frame, too_large
from .workers import WorkerPool

log = logging.getLogger("wizard.sandbox")
_READ_SIZE = 65536
_OVERHEAD = 64 * 1024  # chunk framing and the next request's first bytes, beyond head and body limits


class Connection:
    """A client connection; owned by the loop while it waits for bytes, by one worker while it is answered."""

    def __init__(self, sock: socket.socket, address: tuple[str, int], handshaking: bool, deadline: float):
        self.sock, self.address = sock, address
        self.handshaking = handshaking
        self.buffer = bytearray()
        self.deadline = deadline
        self.continued = False
        """"100 Continue" was sent for the request being read."""
        self.draining = False
        """An error was answered: read and drop what the client still sends until it closes (so that closing does
        not reset a connection whose client is still writing, and lose the answer), or until the deadline."""
        self.busy = False

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class ConnectionLoop:
    """Accepts on `listening`, reads each connection until `frame()` is ready, then calls `answer(conn, framing)`
    in a worker; the worker gives the connection back with `keep()` or `drain()`, or closes it."""

    def __init__(self, listening: socket.socket, tls: ssl.SSLContext | None, limits: Limits,
                 answer: Callable[[Connection, Framing], None], name: str):
        self.listening, self.tls, self.limits, self._answer = listening, tls, limits, answer
        self.pool = WorkerPool(limits.max_workers, name)
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._returned: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        self._conns: set[Connection] = set()
        self._changed = threading.Condition()
        self._stopping = False
        self.thread = threading.Thread(target=self._run, name=f"{name}-loop", daemon=True)

    # ---- what other threads call ------------------------------------------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake()
        self.thread.join(timeout=10)
        self.pool.stop()

    def keep(self, conn: Connection, leftover: bytes) -> None:
        """Back from a worker, kept alive: wait for the next request (`leftover` may already begin it)."""
        conn.buffer = bytearray(leftover)
        self._give_back(conn)

    def drain(self, conn: Connection) -> None:
        conn.draining = True
        self._give_back(conn)

    def close(self, conn: Connection) -> None:
        conn.close()
        with self._changed:
            self._conns.discard(conn)
            self._changed.notify_all()

    def connection_count(self) -> int:
        with self._changed:
            return len(self._conns)

    def wait_for_connections(self, count: int, timeout: float) -> bool:
        """Tests: wait until `count` connections are open (accepted and not yet closed); False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._conns) >= count, timeout)

    def wait_until_at_most(self, count: int, timeout: float) -> bool:
        """Tests: wait until at most `count` connections are open (the loop forgets a closed one just after it
        closes the socket, so a client may see the close first); False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._conns) <= count, timeout)

    def _give_back(self, conn: Connection) -> None:
        self._returned.put(conn)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:  # the loop is gone, or its pipe is full: it wakes anyway
            pass

    # ---- the loop thread ---------------------------------------------------------------------------------------
    def _run(self) -> None:
        self.listening.setblocking(False)
        self._selector.register(self.listening, selectors.EVENT_READ, None)
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while not self._stopping:
                for key, _ in self._selector.select(self._timeout()):
                    try:
                        if key.data is None:
                            self._accept()
                        elif key.data == "wake":
                            self._take_back()
                        else:
                            self._pump(key.data)
                    except Exception:  # noqa: BLE001 - the loop serves every connection: one failure costs one
                        log.exception("sandbox connection loop: %s", key.data)
                        if isinstance(key.data, Connection):
                            self._drop(key.data)
                self._expire(time.monotonic())
        finally:
            for conn in self._snapshot():
                self.close(conn)
            self._selector.close()
            self._wake_r.close()
            self._wake_w.close()

    def _snapshot(self) -> list[Connection]:
        with self._changed:  # workers close connections too
            return list(self._conns)

    def _timeout(self) -> float:
        waiting = [c.deadline for c in self._snapshot() if not c.busy]
        return max(0.0, min(min(waiting) - time.monotonic(), 1.0)) if waiting else 1.0

    def _accept(self) -> None:
        while True:
            try:
                sock, address = self.listening.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                log.debug("accept failed", exc_info=True)
                return
            if self.connection_count() >= self.limits.max_connections:
                sock.close()
                continue
            sock.setblocking(False)
            if self.tls is not None:
                try:
                    sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                except (ssl.SSLError, OSError):
                    sock.close()
                    continue
            conn = Connection(sock, address, self.tls is not None, time.monotonic() + self.limits.request_timeout_s)
            with self._changed:
                self._conns.add(conn)
                self._changed.notify_all()
            self._selector.register(sock, selectors.EVENT_READ, conn)

    def _take_back(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        while True:
            try:
                conn = self._returned.get_nowait()
            except queue.Empty:
                return
            conn.busy, conn.continued = False, False
            try:
                conn.sock.setblocking(False)
                self._selector.register(conn.sock, selectors.EVENT_READ, conn)
            except (OSError, ValueError):  # closed by a worker meanwhile, or by the client
                self.close(conn)
                continue
            started = conn.draining or bool(conn.buffer)
            timeout = self.limits.request_timeout_s if started else self.limits.idle_timeout_s
            conn.deadline = time.monotonic() + timeout
            pending = isinstance(conn.sock, ssl.SSLSocket) and conn.sock.pending() > 0
            if pending:  # bytes TLS already decrypted never wake the selector
                self._pump(conn)
            elif conn.buffer and not conn.draining:  # a pipelined request may be complete already
                self._advance(conn)

    def _pump(self, conn: Connection) -> None:
        if conn.handshaking:
            try:
                conn.sock.do_handshake()  # type: ignore[attr-defined]
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return  # the selector calls again when the client has sent more (writes of a handshake are small)
            except (ssl.SSLError, OSError):
                self._drop(conn)
                return
            conn.handshaking = False
        while True:
            try:
                data = conn.sock.recv(_READ_SIZE)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError, InterruptedError):
                break
            except (ssl.SSLError, OSError):
                self._drop(conn)
                return
            if not data:  # the client closed, or half-closed: only a request it finished is answered
                if conn.buffer and not conn.draining and frame(conn.buffer, self.limits).ready:
                    break  # answered, then the loop reads this end of file again and closes
                self._drop(conn)
                return
            if conn.draining:
                continue
            if not conn.buffer:  # a new request begins: it has the request timeout to arrive whole
                conn.deadline = time.monotonic() + self.limits.request_timeout_s
            conn.buffer += data
            if len(conn.buffer) > self.limits.max_header_bytes and frame(conn.buffer, self.limits).ready:
                break  # a request (or a refusal) is ready: read no further for now
        if not conn.draining:
            self._advance(conn)

    def _advance(self, conn: Connection) -> None:
        framing = frame(conn.buffer, self.limits)
        if not framing.ready and len(conn.buffer) > self.limits.max_header_bytes + self.limits.max_body_bytes + _OVERHEAD:
            framing = too_large(self.limits)
        if framing.ready:
            self._selector.unregister(conn.sock)
            conn.busy = True
            self.pool.submit(lambda: self._answer(conn, framing))
        elif framing.wants_continue and not conn.continued:
            conn.continued = True
            self._send_quietly(conn, b"HTTP/1.1 100 Continue\r\n\r\n")

    def _expire(self, now: float) -> None:
        for conn in [c for c in self._snapshot() if not c.busy and c.deadline <= now]:
            if conn.buffer and not conn.draining and not conn.handshaking:  # a request began and never finished
                self._send_quietly(conn, error_response(408, "RequestTimeout", "The client did not send a complete "
                                                        f"request within {self.limits.request_timeout_s:g} seconds.",
                                                        "Request Timeout"))
            self._drop(conn)

    def _drop(self, conn: Connection) -> None:
        try:
            self._selector.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        self.close(conn)

    @staticmethod
    def _send_quietly(conn: Connection, data: bytes) -> None:
        """Best effort from the loop thread (never blocks): small answers fit the socket's send buffer."""
        try:
            conn.sock.send(data)
        except (ssl.SSLError, OSError):
            pass
