# SPDX-License-Identifier: GPL-3.0-or-later
"""This BNG's PPPoE server as the failover agent drives it: whether it answers discovery (accel-ppp's
PADO-delay; for the rp-pppoe server, which has none, a tc filter on the access interface), its
process (watched through a pidfd), and its systemd unit (started, stopped).

Private to the isplab.bng collection: no stability promise outside it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import subprocess
import threading
import time

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli import AccelPppCli, AccelPppError
from ansible_collections.isplab.bng.plugins.module_utils._failover.config import AgentConfig, AgentError
from ansible_collections.isplab.bng.plugins.module_utils._failover.host import find_processes
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_discovery import discovery_filter

SERVER_PROCESSES = {"accel-ppp": ("accel-pppd",), "rp-pppoe": ("pppoe-server",)}
# The standby answers no discovery at all; the active at once.
PADO_DELAY_STANDBY = "-1"
PADO_DELAY_ACTIVE = "0"
# Seconds a standby's rp-pppoe server may be missing before its agent starts it (behind the
# discovery filter); it may be starting, or the unit restarting.
STANDBY_GRACE = 10.0
# Seconds an rp-pppoe server that the agent started may take to show up before the active BNG
# counts as unhealthy: starting a unit on a busy host under emulation has taken 25 s.
SERVER_START_GRACE = 60.0
# Seconds a rejoining BNG waits for its accel-ppp, started again, to answer its CLI: less than
# the 30 s that the modules wait for an answer; a `rejoin` asked again finds it started.
ACCEL_PPP_START_TIMEOUT = 20.0
# Seconds systemctl may wait for systemd's answer (its own default is 25).
SYSTEMCTL_TIMEOUT = 90

log = logging.getLogger("isplab-bng-failover")


def accel_ppp_cli(config: AgentConfig) -> AccelPppCli:
    return AccelPppCli(
        host=config.accel_ppp_host,
        port=config.accel_ppp_port,
        password=config.accel_ppp_password,
        timeout=config.accel_ppp_timeout,
    )


def set_discovery_filter(interface: str, delay_ms: int, netns: str | None = None) -> None:
    """Replace the discovery filter of `interface`, in this process's network namespace or `netns`:
    the filter that the role pppoe_server's unit applies for the instance's configured delay."""
    tc = ["ip", "netns", "exec", netns, "tc"] if netns else ["tc"]
    subprocess.run(
        [*tc, "qdisc", "del", "dev", interface, "root"], capture_output=True, check=False, timeout=30
    )
    batch = discovery_filter(interface, delay_ms)
    if batch:
        done = subprocess.run(
            [*tc, "-batch", "-"], input=batch, capture_output=True, text=True, check=False, timeout=30
        )
        if done.returncode:
            raise AgentError(f"tc cannot set the discovery filter of {interface}: {done.stderr.strip()}")


def discovery_blocked(ipr, interface: str) -> bool | None:
    """Whether `interface` has a discovery filter (the prio root qdisc 1: that it lives in),
    read through netlink; None when the interface is not there."""
    index = ipr.link_lookup(ifname=interface)
    if not index:
        return None
    return any(
        q.get_attr("TCA_KIND") == "prio" and q["handle"] == 0x10000 and q["parent"] == 0xFFFFFFFF
        for q in ipr.get_qdiscs(index=index[0])
    )


def systemctl(action: str, unit: str, attempts: int = 3) -> None:
    # systemd answers late when a failure makes dozens of units change at once (seen: more
    # than 30 s under emulation): wait longer than systemctl's own 25 s, and ask again.
    env = dict(os.environ, SYSTEMD_BUS_TIMEOUT=str(SYSTEMCTL_TIMEOUT))
    for attempt in range(1, attempts + 1):
        try:
            done = subprocess.run(
                ["systemctl", "--no-block", action, unit],
                capture_output=True,
                text=True,
                timeout=SYSTEMCTL_TIMEOUT + 5,
                check=False,
                env=env,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("systemctl %s %s (attempt %d of %d): %s", action, unit, attempt, attempts, exc)
            continue
        if done.returncode != 0:
            log.warning("systemctl %s %s: %s", action, unit, done.stderr.strip())
        return


class PppoeServer:
    """The PPPoE server of this BNG: its process, its discovery posture and its unit."""

    def __init__(self, agent):
        self.agent = agent
        self.config = agent.config
        # The server process the watcher thread follows (None: none runs).
        self.pid: int | None = None
        self.started_at = 0.0
        # systemctl start requests of the rp-pppoe server still waiting for systemd's answer.
        self.start_requests = 0
        # Since when a standby's rp-pppoe server has been missing (started again after STANDBY_GRACE).
        self.missing_since: float | None = None

    def cli(self) -> AccelPppCli | None:
        return accel_ppp_cli(self.config) if self.config.server == "accel-ppp" else None

    # -- its process ----------------------------------------------------------------------------------

    def watch_loop(self) -> None:
        """Notice the PPPoE server's death at once (a pidfd), not at the next health check."""
        agent = self.agent
        names = SERVER_PROCESSES[self.config.server]
        gone: set[int] = set()
        while not agent.stop_event.is_set():
            # A dead server may stay listed until it is reaped: never watch the same pid twice.
            pids = [pid for pid in find_processes(names, agent.netns_inode) if pid not in gone]
            if not pids:
                # A standby's rp-pppoe server is stopped: look for a new one less often.
                idle = agent.role != "active" and self.config.server == "rp-pppoe"
                agent.stop_event.wait(
                    max(self.config.health_interval, 3.0) if idle else self.config.health_interval
                )
                continue
            pid = pids[0]
            try:
                pidfd = os.pidfd_open(pid)
            except OSError:
                gone.add(pid)
                continue
            self.pid = pid
            try:
                poller = select.poll()
                poller.register(pidfd, select.POLLIN)
                while not agent.stop_event.is_set() and not poller.poll(500):
                    pass
            finally:
                os.close(pidfd)
            gone.add(pid)
            self.pid = None
            if not agent.stop_event.is_set():
                agent.call_soon(lambda pid=pid: agent.server_died(pid))

    # -- discovery --------------------------------------------------------------------------------------

    def discovery(self, answer: bool) -> None:
        """Start or stop answering discovery: accel-ppp's PADO-delay; for the rp-pppoe server,
        which keeps running on the standby, the discovery filter on the access interface (and
        its unit started, should it not run)."""
        if self.config.server == "accel-ppp":
            wanted = PADO_DELAY_ACTIVE if answer else PADO_DELAY_STANDBY
            try:
                self.cli().pppoe_set("PADO-delay", wanted)
            except AccelPppError as exc:
                log.warning("cannot set accel-ppp's PADO-delay to %s: %s", wanted, exc)
            return
        # The filter first, before any PADT goes out: a client that redials must get its PADO.
        self.set_filter(answer)
        if answer and self.pid is None and self.start_requests == 0:
            log.info("the rp-pppoe server is not running: starting it")
            self.start()

    def enforce_pado_delay(self, current: str) -> None:
        """accel-ppp answers discovery at once on the active, never on the standby (a restarted
        or reloaded accel-pppd comes back with its configuration's delay)."""
        role = self.agent.role
        wanted = PADO_DELAY_ACTIVE if role == "active" else PADO_DELAY_STANDBY
        if current == wanted:
            return
        try:
            self.cli().pppoe_set("PADO-delay", wanted)
            log.info("accel-ppp PADO-delay %s -> %s (%s)", current, wanted, role)
        except AccelPppError as exc:
            log.warning("cannot set accel-ppp's PADO-delay to %s: %s", wanted, exc)

    def set_filter(self, answer: bool) -> None:
        try:
            set_discovery_filter(self.config.access_interface, 0 if answer else -1)
            log.info(
                "discovery on %s: %s", self.config.access_interface, "answered" if answer else "filtered"
            )
        except (AgentError, OSError, subprocess.TimeoutExpired) as exc:
            log.error("%s", exc)

    def keep_rp_pppoe_posture(self, ipr) -> None:
        """The rp-pppoe server's discovery posture: the active's filter gone (a reload of the
        server's unit puts its configured filter back), the standby's in place, and the
        standby's server running behind it, ready to answer the moment the filter goes."""
        try:
            blocked = discovery_blocked(ipr, self.config.access_interface)
        except Exception as exc:  # netlink hiccup: look again at the next check
            log.warning("cannot read the discovery filter of %s: %s", self.config.access_interface, exc)
            return
        role = self.agent.role
        active = role == "active"
        if blocked is not None and blocked == active:
            log.warning(
                "the discovery filter of %s is %s on this %s BNG: %s it",
                self.config.access_interface,
                "in place" if blocked else "missing",
                role,
                "removing" if blocked else "putting back",
            )
            self.set_filter(answer=active)
        if active or self.agent.keepalived_state == "MASTER" or self.pid is not None:
            self.missing_since = None
            return
        now = time.monotonic()
        if self.missing_since is None:
            self.missing_since = now
        elif now - self.missing_since > STANDBY_GRACE and self.start_requests == 0:
            log.warning("the standby's rp-pppoe server is not running: starting it (behind its filter)")
            self.missing_since = now
            self.start()

    # -- its unit ---------------------------------------------------------------------------------------

    def systemctl(self, action: str, unit: str) -> None:
        systemctl(action, unit)

    def start(self) -> None:
        self.started_at = time.monotonic()
        self.start_requests += 1
        # In a thread: starting a process is slow on a busy host, and the adoption must not wait.
        threading.Thread(target=self.unit, args=("start",), daemon=True).start()

    def unit(self, action: str) -> None:
        try:
            self.systemctl(action, self.config.server_unit)
        finally:
            if action == "start":
                self.start_requests -= 1

    def starting(self) -> bool:
        """The rp-pppoe server this BNG started is not up yet: within SERVER_START_GRACE of the
        start, or while systemd still has it activating (a busy host can take that long)."""
        if self.config.server != "rp-pppoe" or not self.started_at:
            return False
        if self.start_requests > 0 or time.monotonic() - self.started_at < SERVER_START_GRACE:
            return True
        try:
            state = subprocess.run(
                ["systemctl", "is-active", self.config.server_unit],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return False
        return state in ("activating", "reloading")

    # -- fenced and back ----------------------------------------------------------------------------------

    def stand_down(self) -> None:
        """A fenced BNG's server: answering no discovery, holding no session, its unit stopping."""
        self.discovery(False)
        if self.config.server == "accel-ppp":
            with contextlib.suppress(AccelPppError):
                self.cli().terminate(all_sessions=True, mode="hard")
        if self.config.server_unit:
            # Its sessions go with the unit; `rejoin` starts it again, answering no discovery.
            threading.Thread(target=self.unit, args=("stop",), daemon=True).start()

    def prepare_standby(self) -> None:
        """Before a rejoining BNG's access link comes up: a server that answers no discovery and
        holds no session; AgentError when that cannot be had."""
        if self.config.server == "accel-ppp":
            # accel-pppd brings the access link up when it starts: it must answer no discovery
            # (PADO-delay -1) and hold no session before this agent stops keeping the link down.
            if self.config.server_unit:
                self.systemctl("start", self.config.server_unit)
            self._accel_ppp_standby(time.monotonic() + ACCEL_PPP_START_TIMEOUT)
        else:
            self.discovery(False)
            # No session of this BNG may outlive the rejoin: the server goes (with its sessions'
            # pppd) and comes back behind the discovery filter once the access link is up.
            self.systemctl("stop", self.config.server_unit)
            self._wait_stopped()

    def _accel_ppp_standby(self, deadline: float) -> None:
        """Wait until accel-ppp answers its CLI, then: no discovery answered, no session held."""
        while True:
            try:
                cli = self.cli()
                cli.pppoe_set("PADO-delay", PADO_DELAY_STANDBY)
                if cli.show_sessions(["sid"]):
                    cli.terminate(all_sessions=True, mode="hard")
                return
            except AccelPppError as exc:
                if time.monotonic() > deadline:
                    raise AgentError(f"accel-ppp must answer before rejoining: {exc}") from None
            time.sleep(0.5)

    def _wait_stopped(self) -> None:
        deadline = time.monotonic() + 15
        while find_processes(SERVER_PROCESSES["rp-pppoe"] + ("pppd",), self.agent.netns_inode):
            if time.monotonic() > deadline:
                raise AgentError("the rp-pppoe server or its sessions are still running after 15 s")
            time.sleep(0.2)
