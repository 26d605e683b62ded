# SPDX-License-Identifier: GPL-3.0-or-later
"""The active's side of the replication: its sessions (inventory.py), read when they change, sent
to the standby's agent over the replication link (wire.py), each snapshot acknowledged.

Private to the isplab.bng collection: no stability promise outside it.

The change-to-acknowledgement time is the replication lag, logged and kept in the status.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from ansible_collections.isplab.bng.plugins.module_utils._failover.inventory import SessionReader
from ansible_collections.isplab.bng.plugins.module_utils._failover.state import (
    LagMeter,
    ReplicatedSession,
    Snapshot,
    encode,
)
from ansible_collections.isplab.bng.plugins.module_utils._failover.wire import PeerLink

# Sessions that go away are replicated only once this has passed with the PPPoE server still
# running: a dying server takes its sessions down one by one, and replicating those removals
# would leave the standby without the very sessions it has to take over.
REMOVAL_HOLD = 1.0

log = logging.getLogger("isplab-bng-failover")


def _lost(before: list[ReplicatedSession], after: list[ReplicatedSession]) -> bool:
    """Whether a session of `before` is not in `after`."""
    return bool({s.key for s in before} - {s.key for s in after})


class Replicator:
    """Sends this BNG's sessions to the standby while it is active; counts what was acknowledged."""

    def __init__(self, agent):
        self.agent = agent
        self.config = agent.config
        self.lock = threading.RLock()
        self.reader = SessionReader(self.config, agent.netns_inode)
        self.lag = LagMeter()
        self.transport = LagMeter()
        self.sent_sessions = 0
        self.sequence = 0
        self.acked_sequence = 0
        self.last_change = time.time()
        # Every message this agent sends its peer counts one up (the peer refuses a count it saw).
        self.message_counter = 0

    def sign(self, message: Mapping) -> bytes:
        """A message of the link to the standby: signed, with this start's boot_id and the next count."""
        with self.lock:
            self.message_counter += 1
            counted = {
                "created": time.time(),
                **message,
                "boot_id": self.agent.boot_id,
                "counter": self.message_counter,
            }
        return encode(counted, self.config.key)

    def status(self) -> dict:
        return {
            "sessions": self.sent_sessions,
            "sequence": self.sequence,
            "acknowledged": self.acked_sequence,
            "lag": self.lag.summary(),
            "transport": self.transport.summary(),
        }

    def acknowledged_round(self, timeout: float) -> bool:
        """Ask for one more round at once and wait until the standby acknowledged it."""
        wanted = self.sequence + 1
        self.agent.poke.set()
        deadline = time.monotonic() + timeout
        while self.acked_sequence < wanted and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.acked_sequence >= wanted

    def loop(self) -> None:
        """While active: send the sessions when they change, and a heartbeat every interval.

        A change of the sessions always shows in netlink (a ppp interface or its address comes
        or goes), so the sessions are read on those events (again 2 s later, for the rp-pppoe
        hook's record that follows the address), and in full every replication_full_interval
        as a safety net. Between changes a small heartbeat tells the standby that the state it
        holds is still the current one, which is what keeps that state fresh.
        """
        from pyroute2 import IPRoute

        agent, config = self.agent, self.config
        ipr = IPRoute()
        link = PeerLink(config, self.sign)
        cli = agent.server.cli()
        last_sessions: list | None = None
        acked_change: float | None = None
        next_read = next_beat = 0.0
        reread_at: float | None = None
        last_log = 0.0
        while not agent.stop_event.is_set():
            if agent.role == "active":
                wait = max(min(next_read, next_beat, reread_at or next_read) - time.monotonic(), 0.0)
            else:
                wait = 1.0
            poked = agent.poke.wait(wait)
            agent.poke.clear()
            if agent.role != "active" or agent.stop_event.is_set():
                link.close()
                last_sessions = None
                next_read = next_beat = 0.0
                continue
            now = time.monotonic()
            read = poked or now >= next_read or (reread_at is not None and now >= reread_at)
            if poked:
                # A session coming up sends several netlink events: read once they settle.
                time.sleep(0.05)
                agent.poke.clear()
                reread_at = now + 2.0
            elif reread_at is not None and now >= reread_at:
                reread_at = None
            if read:
                next_read = now + config.replication_full_interval
                try:
                    sessions = self.settled(
                        lambda: self.reader.read(ipr, cli, agent.adopted.replicated()), last_sessions
                    )
                except Exception as exc:  # keep replicating; the next round reads again
                    log.warning("reading the sessions failed: %s", exc)
                    continue
                if sessions is None:
                    continue
                if sessions != last_sessions or link.needs_state:
                    if sessions != last_sessions:
                        self.last_change = time.time()
                    last_sessions = sessions
                    with self.lock:
                        self.sequence += 1
                        snapshot = Snapshot(
                            config.instance,
                            agent.boot_id,
                            self.sequence,
                            time.time(),
                            tuple(sessions),
                            self.last_change,
                        )
                        self.sent_sessions = len(sessions)
                    acked = link.send(snapshot.message(), snapshot.sequence)
                    next_beat = time.monotonic() + config.replication_interval
                    if acked is None:
                        continue
                    self.acked_sequence = snapshot.sequence
                    self.transport.add(acked - snapshot.created)
                    if snapshot.changed != acked_change:
                        acked_change = snapshot.changed
                        self.lag.add(acked - snapshot.changed)
                        log.info(
                            "replicated %d sessions to [%s]:%d (sequence %d): change-to-ack lag %.1f ms",
                            len(sessions),
                            config.peer_address,
                            config.peer_port,
                            snapshot.sequence,
                            (acked - snapshot.changed) * 1000,
                        )
                        last_log = acked
                    continue
            if time.monotonic() >= next_beat and last_sessions is not None:
                sent = time.time()
                beat = {
                    "type": "heartbeat",
                    "boot_id": agent.boot_id,
                    "sequence": self.sequence,
                    "created": sent,
                }
                acked = link.send(beat, self.sequence)
                next_beat = time.monotonic() + config.replication_interval
                if acked is not None:
                    self.acked_sequence = self.sequence
                    self.transport.add(acked - sent)
                    if acked - last_log > 60:
                        log.info(
                            "replication: %d sessions, lag %s, transport %s",
                            len(last_sessions),
                            self.lag.summary(),
                            self.transport.summary(),
                        )
                        last_log = acked
                if link.needs_state:
                    next_read = 0.0

    def settled(self, read: Callable[[], list], last: list | None) -> list | None:
        """The sessions to replicate, or None when sessions went away with the PPPoE server."""
        sessions = read()
        if last and _lost(last, sessions):
            self.agent.stop_event.wait(REMOVAL_HOLD)
            if not self.agent.serving():
                log.info(
                    "%d sessions went away with the PPPoE server: not replicated", len(last) - len(sessions)
                )
                return None
            sessions = read()
        return sessions
