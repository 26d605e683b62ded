# SPDX-License-Identifier: GPL-3.0-or-later
"""The standby's side of the replication link as a stranger meets it: who may connect, how much
and how long an unproven connection may send, and which authenticated messages are fresh.

Private to the isplab.bng collection: no stability promise outside it.

The HMAC (_failover_state.decode) proves a message was made by the peer; it does not prove the
peer made it now. A recorded heartbeat sent again would tell the standby that a state is fresh
after the active stopped. So every message that changes what the standby holds carries the
sender's `boot_id` (one per start of its agent) and a `counter` that grows with every message of
that start: the standby refuses a counter it has seen, and a start it has seen end. The clock
(`created`, within max_skew of our own) bounds only what the counters cannot know: a start this
standby never heard of, after its own restart.

Pure: the sockets and the clock are the agent's.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

from ansible_collections.isplab.bng.plugins.module_utils._failover_state import (
    MAX_MESSAGE_BYTES,
    CorruptStateError,
    StaleStateError,
)

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

    reader: object  # the agent's FrameReader, its limit raised once the connection proves itself
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
