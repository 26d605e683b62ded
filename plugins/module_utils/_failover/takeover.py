# SPDX-License-Identifier: GPL-3.0-or-later
"""The takeover: what a BNG that becomes active does with the sessions its peer replicated to it.

Private to the isplab.bng collection: no stability promise outside it.

It checks that the old active no longer serves (its agent's own report, and a PADI on the
access link that its AC MAC must not answer), plans (plan.py), adopts what it may (adopted.py)
and sends a PADT, paced at padt_rate, for every session it cannot or may not adopt. A journal
in the run directory says what the takeover started from and which sessions it handled, so
that an agent restarted in the middle finishes it.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import threading
import time

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli import AccelPppError
from ansible_collections.isplab.bng.plugins.module_utils._failover.host import atomic_write
from ansible_collections.isplab.bng.plugins.module_utils._failover.inventory import link_facts, read_links
from ansible_collections.isplab.bng.plugins.module_utils._failover.plan import Decision, plan_takeover
from ansible_collections.isplab.bng.plugins.module_utils._failover.state import (
    FailoverStateError,
    ReplicatedSession,
    Snapshot,
    StaleStateError,
    StoredState,
)
from ansible_collections.isplab.bng.plugins.module_utils._failover.wire import ask_peer_status
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_adopt import AdoptError, probe_for_pado
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_discovery import build_padt, send_frames
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import (
    PppoeKernelError,
    read_proc_net_pppoe,
)

log = logging.getLogger("isplab-bng-failover")


def key_text(key: tuple[int, str, str]) -> str:
    return f"{key[0]}/{key[1]}/{key[2]}"


class Takeover:
    """Runs takeovers and keeps what the last one did (`status` shows it as last_takeover)."""

    def __init__(self, agent):
        self.agent = agent
        self.config = agent.config
        # Stage one's PADTs (device, frame), sent at padt_rate so that the clients do not all
        # redial at the same moment.
        self.padt_queue: collections.deque[tuple[str, bytes]] = collections.deque()
        self.next_padt = 0.0
        self.last: dict | None = None

    def status(self) -> dict:
        return {"padt_pending": len(self.padt_queue), "last_takeover": self.last}

    # -- before: may this BNG take over? ---------------------------------------------------------------

    def old_active_serves(self, stored: StoredState | None) -> str | None:
        """Why the old active BNG must not be taken over, or None: its agent, then its access port."""
        config = self.config
        sessions = stored.snapshot.sessions if stored else ()
        watch = {s.ac_mac for s in sessions} | ({config.peer_ac_mac} if config.peer_ac_mac else set())
        watch.discard(self.agent.own_mac)
        result: dict[str, str | None] = {}

        def ask_peer() -> None:
            try:
                reply = ask_peer_status(config, config.peer_timeout)
            except (OSError, TimeoutError, FailoverStateError) as exc:
                result["peer"] = None
                log.info("peer agent does not answer (%s): judged by the access link only", exc)
                return
            if reply.get("role") == "active" and reply.get("healthy"):
                result["peer"] = f"the peer agent {reply.get('instance')} reports itself active and healthy"
            else:
                log.info(
                    "peer agent %s reports role %s, %s",
                    reply.get("instance"),
                    reply.get("role"),
                    reply.get("health"),
                )

        thread = threading.Thread(target=ask_peer, daemon=True)
        thread.start()
        answered: list[str] = []
        if watch:
            try:
                answered = probe_for_pado(
                    config.access_interface, self.agent.own_mac, watch, config.probe_timeout
                )
            except AdoptError as exc:
                log.warning("%s", exc)
        thread.join(config.peer_timeout + 0.5)
        if answered:
            return f"{', '.join(answered)} still answered a PADI on {config.access_interface}"
        return result.get("peer")

    # -- the takeover ------------------------------------------------------------------------------------

    def run(self, stored: StoredState | None, reason: str, started: float, wall: float) -> None:
        """Adopt the replicated sessions, PADT the rest: this BNG answers discovery already."""
        config = self.config
        sessions = list(stored.snapshot.sessions) if stored else []
        fresh = stored is not None
        if stored is None:
            why = self.agent.replica.problem or "no state was received from the peer since this agent started"
            log.warning(
                "taking over with NO replicated state (%s): the old active's clients will redial on their "
                "own when their LCP echoes fail",
                why,
            )
        else:
            try:
                stored.check_fresh(wall, config.state_max_age)
            except StaleStateError as exc:
                fresh = False
                log.warning(
                    "%s: sending PADT for its %d sessions instead of adopting them", exc, len(sessions)
                )
        decisions = plan_takeover(
            sessions,
            self.agent.takeover_mode,
            fresh,
            self.kernel_keys(),
            self.address_owners(),
            self.agent.adopted.keys(),
        )
        self.journal(
            {
                "started": wall,
                "reason": reason,
                "sequence": stored.snapshot.sequence if stored else None,
                "state": stored.snapshot.message() if stored else None,
                "fresh": fresh,
            }
        )
        outcome = self.execute(decisions)
        self.record(wall, time.monotonic() - started, reason, fresh, len(sessions), outcome)

    def record(
        self, wall: float, elapsed: float, reason: str, fresh: bool, replicated: int, outcome: dict[str, str]
    ) -> None:
        """The takeover's summary: in the log, and in `status` as last_takeover."""
        counts = {
            action: sum(1 for v in outcome.values() if v == action) for action in ("adopted", "padt", "skip")
        }
        self.last = {
            "at": wall,
            "reason": reason,
            "seconds": round(elapsed, 3),
            "fresh": fresh,
            "replicated": replicated,
            **counts,
        }
        log.info(
            "took over in %.3f s: %d sessions replicated, %d adopted, %d sent a PADT, %d skipped (%s)",
            elapsed,
            replicated,
            counts["adopted"],
            counts["padt"],
            counts["skip"],
            reason,
        )
        self.agent.poke.set()
        self.agent.write_status()

    def kernel_keys(self) -> set[tuple[int, str, str]]:
        try:
            rows = read_proc_net_pppoe()
        except PppoeKernelError:
            return set()
        macs = read_links(self.agent.ipr)[2]
        return {(row.session_id, row.peer_mac, macs.get(row.device, "")) for row in rows}

    def address_owners(self) -> dict[str, str | None]:
        """IPv4 addresses this BNG's own PPPoE server gave out, and to whom."""
        owners: dict[str, str | None] = {}
        if self.config.server == "accel-ppp":
            try:
                for row in self.agent.server.cli().show_sessions(["username", "ip"]):
                    if row.get("ip"):
                        owners[row["ip"]] = row.get("username")
            except AccelPppError as exc:
                log.warning("cannot list accel-ppp's sessions to check addresses: %s", exc)
        links, addresses, _macs = read_links(self.agent.ipr)
        adopted_ifnames = {a.channel.ifname for a in self.agent.adopted.all()}
        for name, facts in link_facts(links, addresses).items():
            if facts["ipv4"] and name not in adopted_ifnames:
                owners.setdefault(facts["ipv4"], None)
        return owners

    def execute(self, decisions: list[Decision]) -> dict[str, str]:
        outcome: dict[str, str] = {}
        adopt = [d for d in decisions if d.action == "adopt"]
        padt = [d for d in decisions if d.action == "padt"]
        for decision in decisions:
            if decision.action == "skip":
                outcome[key_text(decision.session.key)] = "skip"
        adopted = self.agent.adopted
        devices = adopted.prepare_devices({d.session.ac_mac for d in adopt})
        for decision in adopt:
            session = decision.session
            device = devices.get(session.ac_mac)
            try:
                if device is None:
                    raise AdoptError(f"no interface with {session.ac_mac}")
                adopted.adopt(session, device)
                outcome[key_text(session.key)] = "adopted"
            except (AdoptError, OSError) as exc:
                log.warning("could not adopt %s: %s; sending a PADT instead", session.name, exc)
                padt.append(Decision(session, "padt", str(exc)))
            self.journal_done(session.key, outcome.get(key_text(session.key), "padt"))
        if padt and not self.padt_queue:
            self.next_padt = time.monotonic()  # the first at once
        for decision in padt:
            session = decision.session
            device = devices.get(session.ac_mac) or self.config.access_interface
            self.padt_queue.append(
                (device, build_padt(session.session_id, session.client_mac, session.ac_mac))
            )
            outcome[key_text(session.key)] = "padt"
            if decision.action == "padt":
                self.journal_done(session.key, "padt")
            log.info("PADT to %s: %s", session.name, decision.reason)
        if padt:
            log.info("sending %d PADTs at %g per second", len(padt), self.config.padt_rate)
            self.send_due_padts(time.monotonic())
        return outcome

    def timers(self, now: float, due: float) -> float:
        """The stage-one PADTs due by now; the next due time."""
        if self.padt_queue:
            self.send_due_padts(now)
            if self.padt_queue:
                due = min(due, self.next_padt)
        return due

    def send_due_padts(self, now: float) -> None:
        """The PADTs due by now at padt_rate (more than one when the loop was late)."""
        due: dict[str, list[bytes]] = {}
        while self.padt_queue and now >= self.next_padt:
            device, frame = self.padt_queue.popleft()
            due.setdefault(device, []).append(frame)
            self.next_padt += 1.0 / self.config.padt_rate
        for device, frames in due.items():
            try:
                send_frames(device, frames)
            except PppoeKernelError as exc:
                log.error("PADTs on %s: %s", device, exc)

    # -- the journal: a takeover that a restart interrupts ------------------------------------------------

    def journal(self, journal: dict | None) -> None:
        """Write (or with None, remove) the takeover journal: what the takeover started from."""
        for path in (self.config.journal_file, self.config.journal_file + ".done"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        if journal is not None:
            with contextlib.suppress(OSError):
                atomic_write(self.config.journal_file, json.dumps(journal).encode(), sync=False)

    def journal_done(self, key: tuple[int, str, str], outcome: str) -> None:
        """One line per session handled, appended: a restart knows where the takeover stood."""
        with (
            contextlib.suppress(OSError),
            open(self.config.journal_file + ".done", "a", encoding="utf-8") as lines,
        ):
            lines.write(f"{key_text(key)} {outcome}\n")

    def read_journal(self) -> dict | None:
        try:
            with open(self.config.journal_file, encoding="utf-8") as handle:
                journal = json.load(handle)
        except (OSError, ValueError):
            return None
        done: dict[str, str] = {}
        with (
            contextlib.suppress(OSError),
            open(self.config.journal_file + ".done", encoding="utf-8") as lines,
        ):
            for line in lines:
                key, _space, outcome = line.strip().rpartition(" ")
                if key:
                    done[key] = outcome
        journal["done"] = done
        return journal

    def journal_sessions(self) -> list[ReplicatedSession]:
        """The sessions the journal's takeover started from (none when there is no journal)."""
        state = (self.read_journal() or {}).get("state")
        if state:
            with contextlib.suppress(FailoverStateError):
                return list(Snapshot.from_message(state, "journal").sessions)
        return []

    def resume(self) -> None:
        """Active after a restart: finish the takeover the journal records."""
        journal = self.read_journal()
        self.agent.server.discovery(True)
        if not journal or not journal.get("state"):
            return
        try:
            snapshot = Snapshot.from_message(journal["state"], "journal")
        except FailoverStateError as exc:
            log.error("takeover journal: %s", exc)
            return
        # Adopted before the restart but not given back by systemd: that session died with the
        # old process (its socket closed), so it is adopted again.
        done = journal.get("done", {})
        held = self.agent.adopted.keys()
        pending = [s for s in snapshot.sessions if done.get(key_text(s.key)) != "padt" and s.key not in held]
        if not pending:
            return
        log.info("resuming an interrupted takeover: %d sessions still to adopt", len(pending))
        decisions = plan_takeover(
            pending,
            self.agent.takeover_mode,
            bool(journal.get("fresh")),
            self.kernel_keys(),
            self.address_owners(),
            held,
        )
        outcome = self.execute(decisions)
        # The whole takeover, before and after the restart: what the journal says was done,
        # the sessions systemd gave back, and what this run did.
        held = self.agent.adopted.keys()
        given_back = {key_text(s.key): "adopted" for s in snapshot.sessions if s.key in held}
        whole = {**done, **given_back, **outcome}
        started = float(journal.get("started") or time.time())
        self.record(
            started,
            time.time() - started,
            f"{journal.get('reason', 'takeover')}, resumed after an agent restart",
            bool(journal.get("fresh")),
            len(snapshot.sessions),
            whole,
        )
