# SPDX-License-Identifier: GPL-3.0-or-later
"""The replication link between the two agents: length-prefixed messages over TCP, the active's
connection that sends a message and waits for its acknowledgement, and the standby's side of
the link as a stranger meets it.

Private to the isplab.bng collection: no stability promise outside it.

The HMAC (state.decode) proves a message was made by the peer; it does not prove the peer made
it now. A recorded heartbeat sent again would tell the standby that a state is fresh after the
active stopped. So every message that changes what the standby holds carries the sender's
`boot_id` (one per start of its agent) and a `counter` that grows with every message of that
start: the standby refuses a counter it has seen, and a start it has seen end. The clock
(`created`, within max_skew of our own) bounds only what the counters cannot know: a start this
standby never heard of, after its own restart.

What meets a connection (who may connect, how much and how long an unproven connection may
send, which authenticated messages are fresh) is pure: the sockets and the clock are the
agent's (replica.py).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import struct
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ansible_collections.isplab.bng.plugins.module_utils._failover.config import AgentConfig
from ansible_collections.isplab.bng.plugins.module_utils._failover.state import (
    MAX_MESSAGE_BYTES,
    CorruptStateError,
    FailoverStateError,
    StaleStateError,
    decode,
    encode,
)

FRAME_HEADER = struct.Struct("!I")

log = logging.getLogger("isplab-bng-failover")


# --- length-prefixed messages ---------------------------------------------------------------------


def frame(data: bytes) -> bytes:
    return FRAME_HEADER.pack(len(data)) + data


class FrameReader:
    """Splits a byte stream into length-prefixed messages; refuses a length over the limit."""

    def __init__(self, limit: int = 20 * 1024 * 1024):
        self.buffer = bytearray()
        self.limit = limit

    def feed(self, data: bytes) -> list[bytes]:
        self.buffer += data
        out = []
        while len(self.buffer) >= FRAME_HEADER.size:
            (length,) = FRAME_HEADER.unpack_from(self.buffer)
            if length > self.limit:
                raise CorruptStateError(
                    f"replication link: a message announces {length} bytes, over {self.limit}"
                )
            if len(self.buffer) < FRAME_HEADER.size + length:
                break
            out.append(bytes(self.buffer[FRAME_HEADER.size : FRAME_HEADER.size + length]))
            del self.buffer[: FRAME_HEADER.size + length]
        return out


def connect(address: str, port: int, timeout: float, source: str | None = None) -> socket.socket:
    """A TCP connection to the peer, from source (the address the peer accepts) unless a wildcard."""
    bind = None if source is None or ipaddress.ip_address(source).is_unspecified else (source, 0)
    return socket.create_connection((address, port), timeout=timeout, source_address=bind)


def exchange(address: str, port: int, message: bytes, timeout: float, source: str | None = None) -> bytes:
    """Connect, send one framed message, read one framed reply, close; all within timeout."""
    deadline = time.monotonic() + timeout
    with connect(address, port, timeout, source) as sock:
        sock.settimeout(timeout)
        sock.sendall(frame(message))
        reader = FrameReader()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no reply from [{address}]:{port} within {timeout:g} s")
            sock.settimeout(remaining)
            data = sock.recv(65536)
            if not data:
                raise ConnectionError(f"[{address}]:{port} closed the connection without a reply")
            replies = reader.feed(data)
            if replies:
                return replies[0]


def ask_peer_status(config: AgentConfig, timeout: float) -> dict:
    """The peer agent's status, asked over the replication link (a status-request, unsigned by a
    counter: it changes nothing the peer holds)."""
    return decode(
        exchange(
            config.peer_address,
            config.peer_port,
            encode({"type": "status-request"}, config.key),
            timeout,
            config.listen_address,
        ),
        config.key,
        "peer status",
    )


# --- the active's side: one message out, its acknowledgement back ----------------------------------


# The sequence a hello and its acknowledgement carry (a snapshot's sequence starts at 1).
HELLO = 0


class PeerLink:
    """The active agent's connection to the standby's: one message out, its acknowledgement back.

    sign: makes a message of this link (counted and signed, see Replicator.sign).
    """

    def __init__(self, config: AgentConfig, sign: Callable[[Mapping], bytes]):
        self.config = config
        self.sign = sign
        self.sock: socket.socket | None = None
        self.reader = FrameReader()
        self.retry_at = 0.0
        self.failing = False
        # The standby said it holds no state of this sequence (it restarted): send it in full.
        self.needs_state = False

    @property
    def ack_timeout(self) -> float:
        # The standby may be busy (a loaded host): waiting for its acknowledgement costs nothing.
        return max(5.0, self.config.peer_timeout * 4)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def send(self, message: Mapping, sequence: int) -> float | None:
        """Send, wait for the acknowledgement of sequence; its arrival time, None on failure.

        The message is counted and signed here, after the hello of a new connection: the
        standby refuses a count lower than one it has seen.
        """
        if time.monotonic() < self.retry_at:
            return None
        try:
            if self.sock is None:
                self.sock = connect(
                    self.config.peer_address,
                    self.config.peer_port,
                    self.config.peer_timeout * 2,
                    self.config.listen_address,
                )
                self.reader = FrameReader()
                # The standby takes only a small frame from a connection until it proves itself.
                self.sock.settimeout(self.ack_timeout)
                self.sock.sendall(frame(self.sign({"type": "hello", "sequence": HELLO})))
                self._read_ack(HELLO)
            self.sock.settimeout(self.ack_timeout)
            self.sock.sendall(frame(self.sign(message)))
            ack = self._read_ack(sequence)
        except (OSError, FailoverStateError) as exc:
            self.close()
            if not self.failing:
                log.warning(
                    "replication to [%s]:%d failed: %s (retrying every 2 s)",
                    self.config.peer_address,
                    self.config.peer_port,
                    exc,
                )
            self.failing = True
            self.retry_at = time.monotonic() + 2.0
            return None
        if self.failing:
            log.info("replication to [%s]:%d works again", self.config.peer_address, self.config.peer_port)
        self.failing = False
        self.needs_state = bool(ack.get("need_state"))
        return time.time()

    def _read_ack(self, sequence: int) -> dict:
        deadline = time.monotonic() + self.ack_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no acknowledgement of sequence {sequence}")
            self.sock.settimeout(remaining)
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the peer closed the replication connection")
            for raw in self.reader.feed(data):
                message = decode(raw, self.config.key, "acknowledgement")
                if message.get("type") == "ack" and message.get("sequence") == sequence:
                    return message


# --- the standby's side as a stranger meets it ----------------------------------------------------

# The messages whose freshness is checked: what the active sends on its link.
COUNTED_TYPES = ("hello", "state", "heartbeat")
# Until a connection has sent one fresh, authenticated message (the active's hello), it may
# announce no more than this: a state of a few thousand sessions needs megabytes, a hello 300 bytes.
UNAUTHENTICATED_FRAME_LIMIT = 64 * 1024
# How long a connection may stay without a fresh message before it proves itself.
UNAUTHENTICATED_TIMEOUT = 5.0
# The active's link, the peer agent's status requests, and a reconnection after a cut.
MAX_CONNECTIONS = 4
# The starts of the peer that are remembered (a start seen before the newest is over).
REMEMBERED_STARTS = 8


def same_address(address: str, expected: str) -> bool:
    """Whether a socket's peer address is expected (an IPv4-mapped IPv6 address counts as IPv4)."""
    try:
        given = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(given, ipaddress.IPv6Address) and given.ipv4_mapped is not None:
        given = given.ipv4_mapped
    return given == ipaddress.ip_address(expected)


def idle_timeout(replication_interval: float) -> float:
    """How long an authenticated link may stay silent: several heartbeats missed, at least a minute."""
    return max(60.0, 5 * replication_interval)


@dataclass
class PeerConnection:
    """One accepted connection on the replication port."""

    reader: FrameReader  # its limit raised once the connection proves itself
    opened: float
    last_fresh: float
    authenticated: bool = False

    def authenticate(self, now: float) -> None:
        self.authenticated = True
        self.last_fresh = now
        self.reader.limit = MAX_MESSAGE_BYTES

    def expired(self, now: float, timeout: float) -> bool:
        if not self.authenticated:
            return now - self.opened > UNAUTHENTICATED_TIMEOUT
        return now - self.last_fresh > timeout


def oldest_to_close(connections: Mapping[object, PeerConnection]) -> object:
    """The connection that makes room for a new one: the oldest that has proven nothing.

    A flood of connections that send nothing must not push out the active's live link; when all
    have proven themselves, the oldest goes (after a cut, the active reconnects while its old
    connection lingers).
    """
    unproven = [conn for conn, connection in connections.items() if not connection.authenticated]
    return min(unproven or connections, key=lambda conn: connections[conn].opened)


@dataclass
class ReplayGuard:
    """The counters of the peer's starts, newest last; check() refuses what is not fresh."""

    max_skew: float
    starts: OrderedDict = field(default_factory=OrderedDict)

    def check(self, message: Mapping, received: float) -> None:
        """Raise StaleStateError (a replay) or CorruptStateError (no counter) unless fresh.

        Only for an authenticated message: what it records is what the peer said.
        """
        kind = message.get("type")
        boot_id, counter, created = message.get("boot_id"), message.get("counter"), message.get("created")
        if not isinstance(boot_id, str) or not boot_id:
            raise CorruptStateError(f"{kind} without the sender's boot_id")
        if isinstance(counter, bool) or not isinstance(counter, int) or counter < 1:
            raise CorruptStateError(f"{kind} without a message counter (an agent older than this one?)")
        if isinstance(created, bool) or not isinstance(created, int | float):
            raise CorruptStateError(f"{kind} without the time it was made")
        skew = abs(received - created)
        if skew > self.max_skew:
            raise StaleStateError(
                f"{kind} {counter} of {boot_id} was made at {created:.3f} by its clock and received at "
                f"{received:.3f} by ours, {skew:.1f} s apart, more than the {self.max_skew:g} s allowed "
                "(a replay, or clocks out of step)"
            )
        newest = next(reversed(self.starts)) if self.starts else None
        if boot_id in self.starts and boot_id != newest:
            raise StaleStateError(
                f"{kind} {counter} is from an earlier start of the peer agent ({boot_id}): replayed"
            )
        last = self.starts.get(boot_id, 0)
        if counter <= last:
            raise StaleStateError(f"{kind} {counter} of {boot_id} replayed: message {last} came already")
        self.starts[boot_id] = counter
        self.starts.move_to_end(boot_id)
        while len(self.starts) > REMEMBERED_STARTS:
            self.starts.popitem(last=False)
