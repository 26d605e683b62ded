# SPDX-License-Identifier: GPL-3.0-or-later
"""The standby's copy of the active's sessions: the replication port it listens on, the messages
it takes from the peer (signed, fresh, from the peer's address only), the newest state it keeps
in memory and on disk for a takeover, and the acknowledgements it sends back.

Private to the isplab.bng collection: no stability promise outside it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import replace

from ansible_collections.isplab.bng.plugins.module_utils._failover.host import atomic_write
from ansible_collections.isplab.bng.plugins.module_utils._failover.state import (
    CorruptStateError,
    FailoverStateError,
    Snapshot,
    StoredState,
    decode,
    decode_stored,
    encode,
    encode_stored,
)
from ansible_collections.isplab.bng.plugins.module_utils._failover.wire import (
    COUNTED_TYPES,
    HELLO,
    MAX_CONNECTIONS,
    UNAUTHENTICATED_FRAME_LIMIT,
    FrameReader,
    PeerConnection,
    ReplayGuard,
    frame,
    idle_timeout,
    oldest_to_close,
    same_address,
)

log = logging.getLogger("isplab-bng-failover")


class Replica:
    """What the standby holds of the active's sessions (peer_state), and the link it comes by.

    The event loop calls accept() and read(); the takeover reads current().
    """

    def __init__(self, agent):
        self.agent = agent
        self.config = agent.config
        self.lock = threading.RLock()
        self.peer_state: StoredState | None = None
        # Why there is no usable state (a refused message, an unreadable file), for status.
        self.problem: str | None = None
        self.connections: dict[socket.socket, PeerConnection] = {}
        self.guard = ReplayGuard(self.config.max_skew)
        self.refused_connections = 0
        self.refusal_logged: dict[str, float] = {}

    def current(self) -> StoredState | None:
        with self.lock:
            return self.peer_state

    def status(self) -> dict | None:
        """What status says of the stored state (None without one)."""
        stored = self.current()
        if not stored:
            return None
        now = time.time()
        return {
            "from": stored.snapshot.instance,
            "sequence": stored.snapshot.sequence,
            "sessions": len(stored.snapshot.sessions),
            # Those with everything an adoption needs (the rest would get a PADT).
            "complete": sum(1 for s in stored.snapshot.sessions if s.ipv4 and s.gateway),
            "age": round(stored.age(now), 3),
            "fresh": stored.age(now) <= self.config.state_max_age,
        }

    # -- connections ------------------------------------------------------------------------------------

    def accept(self, listener: socket.socket, mask: int) -> None:
        """A connection on the replication port: kept only from the peer, at most MAX_CONNECTIONS."""
        try:
            conn, source = listener.accept()
        except OSError:
            return
        if not same_address(source[0], self.config.peer_address):
            conn.close()
            self.refused_connections += 1
            now = time.monotonic()
            if now - self.refusal_logged.get(source[0], -3600.0) > 60:
                self.refusal_logged[source[0]] = now
                log.warning(
                    "replication port: refused a connection from %s (only the peer %s may connect)",
                    source[0],
                    self.config.peer_address,
                )
            return
        while len(self.connections) >= MAX_CONNECTIONS:
            self.close(oldest_to_close(self.connections))
        now = time.monotonic()
        conn.setblocking(False)
        self.connections[conn] = PeerConnection(FrameReader(UNAUTHENTICATED_FRAME_LIMIT), now, now)
        self.agent.selector.register(conn, selectors.EVENT_READ, self.read)

    def close_idle(self, now: float) -> None:
        """Close what has not proven itself in time, and links silent for several heartbeats."""
        timeout = idle_timeout(self.config.replication_interval)
        for conn, connection in list(self.connections.items()):
            if connection.expired(now, timeout):
                self.close(conn)

    def close(self, conn: socket.socket) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.agent.selector.unregister(conn)
        self.connections.pop(conn, None)
        conn.close()

    def read(self, conn: socket.socket, mask: int) -> None:
        try:
            data = conn.recv(262144)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.close(conn)
            return
        try:
            connection = self.connections[conn]
            messages = connection.reader.feed(data)
        except CorruptStateError as exc:
            log.error("replication link: %s; closing it", exc)
            self.close(conn)
            return
        for raw in messages:
            reply = self.handle(raw, connection)
            if reply is not None:
                try:
                    conn.setblocking(True)
                    conn.settimeout(2.0)
                    conn.sendall(frame(reply))
                    conn.setblocking(False)
                except OSError:
                    self.close(conn)
                    return

    # -- messages ---------------------------------------------------------------------------------------

    def handle(self, raw: bytes, connection: PeerConnection | None = None) -> bytes | None:
        """One message from the peer; the reply to send back, None for none (a refused message)."""
        received = time.time()
        try:
            message = decode(raw, self.config.key, "replicated state")
            if message["type"] in COUNTED_TYPES:
                self.guard.check(message, received)
        except FailoverStateError as exc:
            self.problem = str(exc)
            log.error("refused a message from the peer: %s", exc)
            return None
        if connection is not None and message["type"] in COUNTED_TYPES:
            connection.authenticate(time.monotonic())
        if message["type"] == "status-request":
            return encode(self.agent.status_for_peer(), self.config.key)
        if message["type"] == "hello":
            return encode({"type": "ack", "boot_id": message["boot_id"], "sequence": HELLO}, self.config.key)
        if message["type"] == "heartbeat":
            return self._heartbeat(message, received)
        if message["type"] != "state":
            return None
        try:
            snapshot = Snapshot.from_message(message, "replicated state")
        except CorruptStateError as exc:
            self.problem = str(exc)
            log.error("refused a replicated state: %s", exc)
            return None
        stored = StoredState(snapshot, received)
        active = self.agent.role == "active"
        if active:
            log.error(
                "the peer %s sends its sessions as if it were active, and so is this BNG: split brain? "
                "(its state is not kept)",
                snapshot.instance,
            )
            self.problem = f"{snapshot.instance} replicates while this BNG is active"
        with self.lock:
            current = self.peer_state.snapshot if self.peer_state else None
            if snapshot.newer_than(current) and not active:
                changed = current is None or current.sessions != snapshot.sessions
                self.peer_state = stored
                self.problem = None
                if changed:
                    log.info(
                        "replicated state from %s: %d sessions (sequence %d)",
                        snapshot.instance,
                        len(snapshot.sessions),
                        snapshot.sequence,
                    )
                    self._store(stored)
        ack = {
            "type": "ack",
            "boot_id": snapshot.boot_id,
            "sequence": snapshot.sequence,
            "received": received,
        }
        return encode(ack, self.config.key)

    def _heartbeat(self, message: Mapping, received: float) -> bytes:
        """The active's state is unchanged: what this standby holds is fresh as of now."""
        with self.lock:
            stored = self.peer_state
            current = (
                stored is not None
                and stored.snapshot.boot_id == message.get("boot_id")
                and stored.snapshot.sequence == message.get("sequence")
                and self.agent.role != "active"
            )
            if current:
                # In memory only: the file keeps the time of the last full state.
                self.peer_state = replace(stored, received=received)
        ack = {
            "type": "ack",
            "boot_id": message.get("boot_id"),
            "sequence": message.get("sequence"),
            "received": received,
            "need_state": not current,
        }
        return encode(ack, self.config.key)

    # -- the file ---------------------------------------------------------------------------------------

    def _store(self, stored: StoredState) -> None:
        try:
            atomic_write(self.config.state_file, encode_stored(stored, self.config.key))
        except OSError as exc:
            log.error("cannot write %s: %s", self.config.state_file, exc.strerror)

    def load(self) -> None:
        """The state stored before this agent started (a corrupt file is moved aside)."""
        path = self.config.state_file
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return
        except OSError as exc:
            self.problem = f"cannot read {path}: {exc.strerror}"
            log.error("%s", self.problem)
            return
        try:
            self.peer_state = decode_stored(data, self.config.key, path)
        except CorruptStateError as exc:
            self.problem = f"refused the stored replicated state: {exc}"
            log.error(
                "%s; moved aside to %s.corrupt, taking over would rely on clients redialing",
                self.problem,
                path,
            )
            with contextlib.suppress(OSError):
                os.replace(path, path + ".corrupt")
            return
        log.info(
            "loaded the stored replicated state: %d sessions from %s, received %.1f s ago",
            len(self.peer_state.snapshot.sessions),
            self.peer_state.snapshot.instance,
            self.peer_state.age(time.time()),
        )
