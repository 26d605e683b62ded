# SPDX-License-Identifier: GPL-3.0-or-later
"""The takeover plan: what a BNG that becomes active does with each session the old active
replicated to it (adopt it, send it a PADT, or leave it alone). Pure.

Private to the isplab.bng collection: no stability promise outside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ansible_collections.isplab.bng.plugins.module_utils._failover.state import ReplicatedSession


@dataclass(frozen=True)
class Decision:
    session: ReplicatedSession
    action: str  # adopt | padt | skip
    reason: str


def plan_takeover(
    sessions: Iterable[ReplicatedSession],
    mode: str,
    fresh: bool,
    kernel_keys: set[tuple[int, str, str]],
    address_owners: Mapping[str, str | None],
    adopted_keys: set[tuple[int, str, str]],
) -> list[Decision]:
    """What to do with each replicated session on taking over; pure.

    skip: already adopted (by this agent before a restart), or already in this kernel (a
    duplicate would steal its frames). padt: stage one (mode padt, stale state, or missing
    data), or an address this BNG already gave to another user (address_owners: IPv4 ->
    username, None when the owner is unknown). adopt: everything else.
    """
    out = []
    claimed: dict[str, ReplicatedSession] = {}
    for session in sessions:
        if session.key in adopted_keys:
            out.append(Decision(session, "skip", "adopted already"))
            continue
        if session.key in kernel_keys:
            out.append(Decision(session, "skip", "this kernel has the session already"))
            continue
        if not fresh:
            out.append(Decision(session, "padt", "the replicated state is not fresh"))
            continue
        if mode == "padt":
            out.append(Decision(session, "padt", "takeover mode padt (stage one)"))
            continue
        missing = [name for name in ("ipv4", "gateway") if getattr(session, name) is None]
        if missing:
            out.append(Decision(session, "padt", f"not enough state to adopt (no {', '.join(missing)})"))
            continue
        if session.ipv4 in address_owners:
            owner = address_owners[session.ipv4]
            if owner is None or owner != session.username:
                who = f"user {owner}" if owner else "another session"
                out.append(Decision(session, "padt", f"{session.ipv4} is already given to {who} here"))
                continue
            out.append(Decision(session, "padt", f"{session.username} is connected here already"))
            continue
        if session.ipv4 in claimed:
            out.append(
                Decision(session, "padt", f"{session.ipv4} is also claimed by {claimed[session.ipv4].name}")
            )
            continue
        claimed[session.ipv4] = session
        out.append(Decision(session, "adopt", "hitless"))
    return out
