# SPDX-License-Identifier: GPL-3.0-or-later
"""The BNG failover agent: replicates sessions to the standby, and takes them over when it becomes active.

Private to the isplab.bng collection: no stability promise outside it.

One agent runs per BNG (systemd unit isplab-bng-failover@NAME, in the BNG's network namespace
when there is one), next to keepalived, which elects the active BNG (the one holding the
upstream VIP). What the agent does:

* While active: reads every session (inventory.py) and sends the set to the peer's agent over
  TCP (replicator.py, wire.py), periodically and at once when a ppp interface or address
  changes (netlink). The peer acknowledges each snapshot; the change-to-acknowledgement time is
  the replication lag, logged and kept in the status file.
* While standby: keeps the newest snapshot in memory and on disk (replica.py), answers no
  discovery (server.py: accel-ppp PADO-delay -1; the rp-pppoe server running behind a tc filter
  that drops its PADOs), and is ready to take over.
* On becoming active (keepalived notify, or the VIP appearing): checks that the old active no
  longer serves, starts answering discovery, then adopts every replicated session into its own
  kernel and sends a PADT on the old active's behalf for every session it cannot or may not
  adopt (takeover.py, plan.py, adopted.py). With no fresh state it says so and lets the
  clients redial on their own.
* On losing the active role: takes its access link down first (nothing it still holds may
  reach the clients the peer now serves), then drops its own sessions; it stays fenced until
  an operator (or the switchover) asks it to rejoin as standby.
* Keeps a health verdict for keepalived's track_file (health.py) and a status file; answers a
  control socket (control.py) used by the modules and the command line (cli.py).

This module is the event loop and the role state machine (standby, active, fenced); each part
it drives owns its own state: Replicator, Replica, Takeover, AdoptedSessions, PppoeServer,
Health, ControlServer.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import queue
import re
import secrets
import selectors
import signal
import socket
import threading
import time

from ansible_collections.isplab.bng.plugins.module_utils._descriptors import budget, raise_open_file_limit
from ansible_collections.isplab.bng.plugins.module_utils._failover.adopted import AdoptedSessions
from ansible_collections.isplab.bng.plugins.module_utils._failover.config import AgentConfig, AgentError
from ansible_collections.isplab.bng.plugins.module_utils._failover.control import ControlServer
from ansible_collections.isplab.bng.plugins.module_utils._failover.health import Health
from ansible_collections.isplab.bng.plugins.module_utils._failover.host import (
    atomic_write,
    interface_up,
    link_mac,
    namespace_inode,
    quiet_ipv6,
    sd_notify,
)
from ansible_collections.isplab.bng.plugins.module_utils._failover.replica import Replica
from ansible_collections.isplab.bng.plugins.module_utils._failover.replicator import Replicator
from ansible_collections.isplab.bng.plugins.module_utils._failover.server import PppoeServer
from ansible_collections.isplab.bng.plugins.module_utils._failover.state import FailoverStateError
from ansible_collections.isplab.bng.plugins.module_utils._failover.takeover import Takeover
from ansible_collections.isplab.bng.plugins.module_utils._failover.wire import ask_peer_status
from ansible_collections.isplab.bng.plugins.module_utils._netlink import netlink_dump

_FIFO_RE = re.compile(r'^(INSTANCE|GROUP)\s+"?([^"\s]+)"?\s+(MASTER|BACKUP|FAULT|STOP|DELETED)\b')

log = logging.getLogger("isplab-bng-failover")


def parse_fifo_line(line: str) -> tuple[str, str] | None:
    """(vrrp instance or group, state) of a keepalived notify_fifo line, None for other lines."""
    match = _FIFO_RE.match(line.strip())
    return (match[2], match[3]) if match else None


class Agent:
    """The failover agent of one BNG (see the module's description)."""

    def __init__(self, config: AgentConfig):
        self.config = config
        self.boot_id = secrets.token_hex(8)
        self.stop_event = threading.Event()
        # Set when the sessions may have changed: the replicator reads them again at once.
        self.poke = threading.Event()
        self.role = "standby"
        self.keepalived_state: str | None = None
        # The configured takeover, which an operator may switch at run time (drills, benchmarks).
        self.takeover_mode = config.takeover
        self.retry_takeover: float | None = None
        self.netns_inode = namespace_inode()
        self.own_mac: str | None = None
        self.selector = selectors.DefaultSelector()
        self.ipr = None
        self.events = None
        self.fifo_fd: int | None = None
        self.fifo_buffer = b""
        self.threads: list[threading.Thread] = []
        self.calls: queue.SimpleQueue = queue.SimpleQueue()
        self.wake_read, self.wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.next_status = 0.0
        self._last_status: dict | None = None
        self._status_due = 0.0
        self._descriptor_problem: str | None = None
        self.server = PppoeServer(self)
        self.health = Health(self)
        self.adopted = AdoptedSessions(self)
        self.replica = Replica(self)
        self.replicator = Replicator(self)
        self.takeover = Takeover(self)
        self.control = ControlServer(self)

    # -- setup and the main loop ---------------------------------------------------------------------

    def run(self) -> int:
        from pyroute2 import IPRoute  # only the agent needs netlink; the CLI entry points do not

        config = self.config
        soft, hard = raise_open_file_limit()
        log.info("open file limit %d (hard %d): room to adopt %d sessions", soft, hard, budget(0).adoptable)
        for directory in (config.instance_run_dir, config.instance_state_dir, config.pppd_records_dir):
            os.makedirs(directory, mode=0o700, exist_ok=True)
        os.chmod(config.pppd_records_dir, 0o755)
        self.ipr = IPRoute()
        self.events = IPRoute()
        self.events.bind()
        self.own_mac = link_mac(self.ipr, config.access_interface)
        self.replica.load()
        self.adopted.reclaim(self.takeover.journal_sessions)
        self._open_listeners()
        quiet_ipv6(config.access_interface)
        if os.path.exists(config.fenced_file):
            self.role = "fenced"
            self._set_link(config.access_interface, False)
        else:
            self.role = "active" if self._holds_vip() else "standby"
        log.info(
            "agent %s started (%s, takeover %s, access %s %s): %s",
            config.instance,
            config.server,
            config.takeover,
            config.access_interface,
            self.own_mac,
            {
                "active": "holding the VIP: resuming as active",
                "fenced": "fenced before the restart: access link down until `rejoin`",
            }.get(self.role, "standby"),
        )
        if self.role == "active":
            self.takeover.resume()
        else:
            self.takeover.journal(None)
        if config.server == "accel-ppp" and not config.server_unit:
            log.warning(
                "no server_unit for accel-ppp: a fence cannot stop accel-pppd, and one that systemd "
                "restarts brings the access link up (this agent puts it down again)"
            )
        self.health.check()
        signal.signal(signal.SIGTERM, lambda *_: self.stop_event.set())
        signal.signal(signal.SIGINT, lambda *_: self.stop_event.set())
        for target in (self.replicator.loop, self.health.loop, self.server.watch_loop):
            thread = threading.Thread(target=target, name=target.__qualname__, daemon=True)
            thread.start()
            self.threads.append(thread)
        sd_notify("READY=1\nSTATUS=" + self.role)
        try:
            while not self.stop_event.is_set():
                # A bug in one handler must not take the adopted sessions' responder down.
                try:
                    timeout = self._timers(time.monotonic())
                except Exception:
                    log.exception("timers")
                    timeout = 1.0
                for key, mask in self.selector.select(timeout):
                    try:
                        key.data(key.fileobj, mask)
                    except Exception:
                        log.exception("handling %s", getattr(key.data, "__name__", key.data))
        finally:
            self.stop_event.set()
            self.write_status()
            log.info(
                "agent %s stopping (%d adopted sessions stay in systemd's store)",
                config.instance,
                len(self.adopted.by_key),
            )
        return 0

    def _holds_vip(self) -> bool:
        if self.config.vip is None:
            return self.keepalived_state == "MASTER"
        target = ipaddress.ip_address(self.config.vip)
        family = socket.AF_INET6 if target.version == 6 else socket.AF_INET
        for msg in netlink_dump(self.ipr.get_addr, family=family):
            address = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
            if address and ipaddress.ip_address(address) == target:
                return True
        return False

    def _open_listeners(self) -> None:
        config = self.config
        family = socket.AF_INET6 if ":" in config.listen_address else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            # The core address may still be tentative (DAD) right after boot.
            with contextlib.suppress(OSError):
                listener.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND
        deadline = time.monotonic() + 30
        while True:
            try:
                listener.bind((config.listen_address, config.listen_port))
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise AgentError(
                        f"cannot listen on [{config.listen_address}]:{config.listen_port}: {exc.strerror}"
                    ) from None
                time.sleep(0.5)
        listener.listen(8)
        listener.setblocking(False)
        self.selector.register(listener, selectors.EVENT_READ, self.replica.accept)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(config.control_socket)
        control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        control.bind(config.control_socket)
        os.chmod(config.control_socket, 0o600)
        control.listen(8)
        control.setblocking(False)
        self.selector.register(control, selectors.EVENT_READ, self.control.accept)
        if not os.path.exists(config.fifo):
            os.mkfifo(config.fifo, 0o600)
        # Opened read-write so that keepalived closing its end never gives us end-of-file.
        self.fifo_fd = os.open(config.fifo, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        self.selector.register(self.fifo_fd, selectors.EVENT_READ, self._read_fifo)
        self.selector.register(self.events.fileno(), selectors.EVENT_READ, self._netlink_event)
        self.selector.register(self.wake_read, selectors.EVENT_READ, self._run_calls)

    def call_soon(self, func) -> None:
        """Run func in the main loop, which owns the adopted sessions (for the other threads)."""
        self.calls.put(func)
        with contextlib.suppress(BlockingIOError):
            os.write(self.wake_write, b"x")

    def _run_calls(self, fd: int, mask: int) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(fd, 4096)
        while True:
            try:
                func = self.calls.get_nowait()
            except queue.Empty:
                return
            func()

    def _timers(self, now: float) -> float:
        """Run what is due; the seconds until the next thing is due (the selector's timeout)."""
        due = self.adopted.timers(now, now + 1.0)
        due = self.takeover.timers(now, due)
        if self.retry_takeover is not None and now >= self.retry_takeover:
            self.retry_takeover = None
            if self.role != "active" and self._holds_vip():
                self.take_over("retry after a refusal")
        if self.retry_takeover is not None:
            due = min(due, self.retry_takeover)
        self.replica.close_idle(now)
        if now >= self.next_status:
            self.write_status()
            self.next_status = now + 1.0
        return max(due - time.monotonic(), 0.0)

    # -- keepalived: notify fifo and the VIP --------------------------------------------------------------

    def _read_fifo(self, fd: int, mask: int) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        self.fifo_buffer += data
        *lines, self.fifo_buffer = self.fifo_buffer.split(b"\n")
        for raw in lines:
            parsed = parse_fifo_line(raw.decode("utf-8", errors="replace"))
            if parsed:
                self.keepalived_event(parsed[1], f"keepalived: {parsed[0]} {parsed[1]}")

    def _netlink_event(self, fileobj: int, mask: int) -> None:
        try:
            messages = self.events.get()
        except Exception as exc:  # a netlink overrun: re-read everything
            log.debug("netlink: %s", exc)
            messages = []
            self.poke.set()
        vip = ipaddress.ip_address(self.config.vip) if self.config.vip else None
        for msg in messages:
            event = msg.get("event")
            if event in ("RTM_NEWLINK", "RTM_DELLINK"):
                name = msg.get_attr("IFLA_IFNAME") or ""
                access = name == self.config.access_interface and event == "RTM_NEWLINK"
                if access and self.role == "fenced":
                    self.keep_fenced()
                if name.startswith("ppp") or access:
                    self.poke.set()
            elif event in ("RTM_NEWADDR", "RTM_DELADDR"):
                address = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
                if vip is not None and address and ipaddress.ip_address(address) == vip:
                    self.keepalived_event(
                        "MASTER" if event == "RTM_NEWADDR" else "VIP-GONE",
                        f"VIP {vip} {'added' if event == 'RTM_NEWADDR' else 'removed'}",
                    )
                else:
                    self.poke.set()
            elif (
                # The rp-pppoe server's ipv6-up hook routes a subscriber's prefix after IPv6CP.
                event in ("RTM_NEWROUTE", "RTM_DELROUTE")
                and self.config.server == "rp-pppoe"
                and msg["family"] == socket.AF_INET6
                and 0 < msg["dst_len"] < 128
            ):
                self.poke.set()

    # -- the role: standby, active, fenced --------------------------------------------------------------

    def keepalived_event(self, state: str, source: str) -> None:
        """React to an election result: MASTER takes over; anything else gives the active role up."""
        previous = self.keepalived_state
        if state != "VIP-GONE":
            self.keepalived_state = state
        if state == "MASTER":
            if self.role == "fenced":
                log.error(
                    "%s, but this BNG is fenced (access link down): not taking over until `rejoin`", source
                )
            elif self.role != "active":
                log.info("%s: becoming active", source)
                self.take_over(source)
            return
        if self.role == "active" and (state != "VIP-GONE" or self.config.vip is not None):
            log.warning(
                "%s: no longer active: fencing this BNG (access link down) before anything else", source
            )
            self.fence(f"lost the active role ({source})")
        elif state in ("BACKUP", "FAULT", "STOP") and previous != state:
            log.info("%s", source)

    def take_over(self, reason: str) -> None:
        """Become the active BNG: check the old one is gone, answer discovery, adopt, PADT the rest."""
        started = time.monotonic()
        wall = time.time()
        stored = self.replica.current()
        blocker = self.takeover.old_active_serves(stored)
        if blocker:
            log.error(
                "NOT taking over (%s): %s; keeping the standby posture and checking again in 1 s",
                reason,
                blocker,
            )
            self.retry_takeover = time.monotonic() + 1.0
            return
        self.role = "active"
        self.health.write_track()
        self.server.discovery(True)
        self.takeover.run(stored, reason, started, wall)

    def serving(self) -> bool:
        """Active, healthy, and its PPPoE server process alive."""
        return self.role == "active" and self.health.healthy and self.server.pid is not None

    def server_died(self, pid: int) -> None:
        if self.role == "active":
            self.health.healthy, self.health.reason = False, f"the PPPoE server (pid {pid}) died"
            self.fence(self.health.reason)
        else:
            log.info("the PPPoE server (pid %d) stopped", pid)

    def fence(self, why: str) -> None:
        """Stop serving at once: access link down first, then drop every session held here.

        The peer serves from this BNG's MAC now (its adopted sessions), so nothing here may
        send from it until `rejoin`: the PPPoE server's unit is stopped (a server that systemd
        restarted would answer discovery, and accel-pppd brings its interfaces up), and the
        access link is kept down, across restarts of this agent too.
        """
        self.role = "fenced"
        self.health.write_track()
        with contextlib.suppress(OSError):
            atomic_write(self.config.fenced_file, why.encode() + b"\n", 0o644, sync=False)
        self._set_link(self.config.access_interface, False)
        self.adopted.drop_all("fenced")
        for name in self._macvlans():
            self._set_link(name, False)
        self.server.stand_down()
        self.takeover.journal(None)
        log.warning("fenced (%s): access link %s down until `rejoin`", why, self.config.access_interface)
        self.write_status()

    def keep_fenced(self) -> None:
        """Something brought a fenced BNG's access link up (accel-pppd does when it starts):
        down again, before it sends from the MAC the peer's adopted sessions use."""
        if self.role != "fenced" or not interface_up(self.config.access_interface):
            return
        log.warning(
            "access link %s came up while this BNG is fenced: putting it down (`rejoin` brings it up)",
            self.config.access_interface,
        )
        self._set_link(self.config.access_interface, False)

    def _macvlans(self) -> list[str]:
        return [
            m.get_attr("IFLA_IFNAME")
            for m in netlink_dump(self.ipr.get_links)
            if (m.get_attr("IFLA_IFNAME") or "").startswith("ac") and len(m.get_attr("IFLA_IFNAME")) == 14
        ]

    def _set_link(self, name: str, up: bool) -> None:
        try:
            index = self.ipr.link_lookup(ifname=name)
            if index:
                self.ipr.link("set", index=index[0], state="up" if up else "down")
        except Exception as exc:
            log.error("cannot set %s %s: %s", name, "up" if up else "down", exc)

    def rejoin(self) -> dict:
        """Come back as standby: no session left here, discovery off, then the access link up."""
        if self.role == "active":
            raise AgentError("this BNG is active: it cannot rejoin as standby (release it first)")
        self.server.prepare_standby()
        for name in self._macvlans():
            if not any(a.device == name for a in self.adopted.all()):
                with contextlib.suppress(Exception):
                    self.ipr.link("del", index=self.ipr.link_lookup(ifname=name)[0])
        self._set_link(self.config.access_interface, True)
        self.role = "standby"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.config.fenced_file)
        if self.config.server == "rp-pppoe":
            self.server.start()  # its unit puts the filter back first (pado_delay -1)
        self.health.check()
        log.info("rejoined as standby (access link %s up)", self.config.access_interface)
        self.write_status()
        return self.status()

    def release(self) -> dict:
        """Planned switchover: hand the subscribers to the standby, which adopts them, and fence."""
        if self.role != "active":
            raise AgentError(f"this BNG is {self.role}, not active: nothing to release")
        # One more acknowledged round first, so that the standby has every session as it is now.
        if not self.replicator.acknowledged_round(5.0):
            log.warning("release: the standby did not acknowledge a last replication round within 5 s")
        self.fence("released for a planned switchover")
        return self.status()

    def peer_status(self) -> dict:
        """The peer agent's status, asked over the replication link."""
        try:
            reply = ask_peer_status(self.config, max(self.config.peer_timeout, 2.0))
        except (OSError, FailoverStateError) as exc:
            raise AgentError(
                f"the peer agent at [{self.config.peer_address}]:{self.config.peer_port} does not answer: "
                f"{exc}"
            ) from None
        reply.pop("schema", None)
        reply.pop("version", None)
        reply.pop("type", None)
        return reply

    # -- status ------------------------------------------------------------------------------------------

    def status(self) -> dict:
        now = time.time()
        stored = self.replica.current()
        adopted = self.adopted.status()
        takeover = self.takeover.status()
        return {
            "instance": self.config.instance,
            "server": self.config.server,
            "takeover_mode": self.takeover_mode,
            "role": self.role,
            "keepalived": self.keepalived_state,
            "healthy": bool(self.health.healthy),
            "health": self.health.reason,
            "replicated_state": self.replica.status(),
            "state_problem": self.replica.problem,
            # Connections to the replication port from another address than the peer's, closed.
            "refused_connections": self.replica.refused_connections,
            "replication": self.replicator.status() if self.role == "active" else None,
            "adopted": adopted["adopted"],
            "descriptors": self._descriptor_budget(len(stored.snapshot.sessions) if stored else 0),
            "rehome_pending": adopted["rehome_pending"],
            "padt_pending": takeover["padt_pending"],
            "last_takeover": takeover["last_takeover"],
            "updated": round(now, 3),
        }

    def status_for_peer(self) -> dict:
        """What the peer agent asks before it takes over, and `peer` shows."""
        status = self.status()
        return {
            "type": "status",
            **{
                key: status[key]
                for key in (
                    "instance",
                    "role",
                    "keepalived",
                    "healthy",
                    "health",
                    "adopted",
                    "replicated_state",
                    "last_takeover",
                )
            },
            "sessions": self.replicator.sent_sessions if self.role == "active" else 0,
        }

    def _descriptor_budget(self, wanted: int) -> dict:
        """Whether a takeover of `wanted` sessions fits under the open file limit; a shortfall is
        logged when it appears, while the standby waits, not found in the middle of a takeover."""
        now = budget(wanted)
        problem = now.problem()
        if problem != self._descriptor_problem:
            if problem:
                log.warning("%s", problem)
            elif self._descriptor_problem:
                log.info("the open file limit leaves room to adopt all %d replicated sessions again", wanted)
            self._descriptor_problem = problem
        return now.describe()

    def write_status(self) -> None:
        status = self.status()
        # What a reader acts on: not the update time, nor the state's age (it grows by itself).
        key = {
            **status,
            "updated": None,
            "replicated_state": {**(status["replicated_state"] or {}), "age": None},
        }
        unchanged = key == self._last_status
        # At once on a change, and every 10 s at least, so that a reader sees the agent lives.
        if unchanged and time.monotonic() < self._status_due:
            return
        self._last_status = key
        self._status_due = time.monotonic() + 10.0
        data = json.dumps(status, indent=1).encode() + b"\n"
        with contextlib.suppress(OSError):
            atomic_write(self.config.status_file, data, 0o644, sync=False)
