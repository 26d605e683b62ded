# SPDX-License-Identifier: GPL-3.0-or-later
"""Which kernel PPPoE session an accel-ppp session is: the one join of accel-ppp's `show
sessions` rows with the kernel's /proc/net/pppoe, for the modules and the failover agent alike.

Private to the isplab.bng collection: no stability promise outside it.

accel-ppp's CLI never shows the PPPoE session id; /proc/net/pppoe shows it with the client MAC
and the access interface, and nothing else. A row's `calling-sid` is that client MAC (with the
pppoe module's default ifname-in-sid) and its `inbound-if` the interface whose name accel-ppp
binds the session's kernel socket to (ctrl/pppoe/pppoe.c uses serv->ifname for both), so the
key the two sides share is (client MAC, access interface). The MAC alone is no key: one client
device can dial on several access interfaces, and a router can run several PPPoE clients with
one MAC. Where a key has more than one row or more than one kernel session, nothing tells which
row is which session: the join says so (AMBIGUOUS) instead of picking one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import (
    KernelPppoeSession,
    MacAddressError,
    normalise_mac,
)

# The outcomes of a join, one per (client MAC, access interface) key.
JOINED = "joined"  # one row and one kernel session: they are the same session
AMBIGUOUS = "ambiguous"  # rows and kernel sessions, but more than one on a side
KERNEL_ONLY = "kernel only"  # kernel sessions accel-ppp does not list (yet, or not its own)
CLI_ONLY = "cli only"  # rows without a kernel session, or that are not keyed (not PPPoE)

# The `show sessions` columns a row needs for the join.
JOIN_COLUMNS = ("calling-sid", "inbound-if")


def row_key(row: Mapping) -> tuple[str, str] | None:
    """(client MAC, access interface) of a parsed `show sessions` row; None when the row lacks
    either, or its calling-sid is not a MAC (not a PPPoE session, or ifname-in-sid is set)."""
    mac, interface = row.get("calling_sid"), row.get("inbound_if")
    if not mac or not interface:
        return None
    try:
        return normalise_mac(mac), interface
    except MacAddressError:
        return None


@dataclass(frozen=True)
class SessionJoin:
    """The rows and the kernel sessions of one key (None for a row that has no key)."""

    key: tuple[str, str] | None
    kernel: tuple[KernelPppoeSession, ...] = ()
    rows: tuple[Mapping, ...] = ()

    @property
    def outcome(self) -> str:
        if self.kernel and self.rows:
            return JOINED if len(self.kernel) == len(self.rows) == 1 else AMBIGUOUS
        return KERNEL_ONLY if self.kernel else CLI_ONLY

    @property
    def row(self) -> Mapping | None:
        """The row of the kernel session when the outcome is JOINED, else None."""
        return self.rows[0] if self.outcome == JOINED else None

    @property
    def session(self) -> KernelPppoeSession | None:
        """The kernel session of the row when the outcome is JOINED, else None."""
        return self.kernel[0] if self.outcome == JOINED else None


def join_sessions(kernel: Iterable[KernelPppoeSession], rows: Iterable[Mapping]) -> list[SessionJoin]:
    """Every kernel session and every row in exactly one SessionJoin, joined on row_key().

    The keys come in the order they are first seen, the kernel's first; a row without a key is
    a join of its own (CLI_ONLY), after them.
    """
    kernel_by_key: dict[tuple[str, str], list[KernelPppoeSession]] = {}
    rows_by_key: dict[tuple[str, str], list[Mapping]] = {}
    for session in kernel:
        kernel_by_key.setdefault((session.peer_mac, session.device), []).append(session)
    unkeyed = []
    for row in rows:
        key = row_key(row)
        if key is None:
            unkeyed.append(row)
        else:
            rows_by_key.setdefault(key, []).append(row)
    keys = list(dict.fromkeys([*kernel_by_key, *rows_by_key]))
    joins = [
        SessionJoin(key, tuple(kernel_by_key.get(key, ())), tuple(rows_by_key.get(key, ()))) for key in keys
    ]
    return joins + [SessionJoin(None, rows=(row,)) for row in unkeyed]
