# SPDX-License-Identifier: GPL-3.0-or-later
"""The health verdict keepalived tracks: the PPPoE server answers, the access link is up.

Private to the isplab.bng collection: no stability promise outside it.

check_health is what `isplab-bng-failover check` runs; the agent's Health repeats it every
health_interval, keeps the PPPoE server's discovery posture while at it, and writes the verdict
to keepalived's track file.
"""

from __future__ import annotations

import contextlib
import json
import logging

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli import AccelPppError
from ansible_collections.isplab.bng.plugins.module_utils._failover.config import AgentConfig
from ansible_collections.isplab.bng.plugins.module_utils._failover.host import (
    atomic_write,
    find_processes,
    interface_running,
    interface_up,
    namespace_inode,
)
from ansible_collections.isplab.bng.plugins.module_utils._failover.server import (
    SERVER_PROCESSES,
    accel_ppp_cli,
)

log = logging.getLogger("isplab-bng-failover")


def check_health(
    config: AgentConfig, role: str | None = None, server_running: bool | None = None
) -> tuple[bool, str, str | None]:
    """(healthy, why, accel-ppp's PADO-delay): the PPPoE server answers, the access link is up.

    accel-ppp must answer its CLI whatever the role (the PADO-delay it reports comes back for
    the agent to correct); the rp-pppoe server must run while this BNG is active (a standby's
    runs behind the discovery filter, and its agent starts it again when it is missing). role
    None reads the agent's status file; server_running None looks for the rp-pppoe server
    among the namespace's processes.
    """
    if not interface_running(config.access_interface):
        return False, f"access interface {config.access_interface} is down or has no carrier", None
    if config.server == "accel-ppp":
        try:
            delay = accel_ppp_cli(config).pppoe_show("PADO-delay")
        except AccelPppError as exc:
            return False, f"accel-ppp does not answer its CLI: {exc}", None
        return True, "accel-ppp answers its CLI", delay
    if role is None:
        try:
            with open(config.status_file, encoding="utf-8") as handle:
                role = json.load(handle).get("role")
        except (OSError, ValueError):
            role = "standby"
    if role != "active":
        return True, "rp-pppoe standby (discovery filtered)", None
    if server_running is None:
        server_running = bool(find_processes(SERVER_PROCESSES["rp-pppoe"], namespace_inode()))
    if not server_running:
        return False, "the rp-pppoe server is not running on the active BNG", None
    return True, "rp-pppoe server running", None


class Health:
    """The verdict (healthy, reason) and keepalived's track file, kept by a thread of its own."""

    def __init__(self, agent):
        self.agent = agent
        self.config = agent.config
        self.healthy: bool | None = None
        self.reason = "not checked yet"
        self.cli_failures = 0

    def check(self) -> None:
        """A verdict at once (starting, rejoining), without waiting for the loop."""
        self.healthy, self.reason, _pado_delay = check_health(self.config, self.agent.role)
        self.write_track()

    def loop(self) -> None:
        from pyroute2 import IPRoute

        agent, server = self.agent, self.agent.server
        ipr = IPRoute() if self.config.server == "rp-pppoe" else None  # this thread's own socket
        while not agent.stop_event.wait(self.config.health_interval):
            running = server.pid is not None if self.config.server == "rp-pppoe" else None
            healthy, reason, delay = check_health(self.config, agent.role, running)
            healthy, reason = self.hold_verdict(healthy, reason)
            if not healthy and agent.role == "active" and server.starting():
                healthy, reason = True, f"starting the PPPoE server ({reason})"
            if healthy != self.healthy:
                (log.info if healthy else log.warning)("health: %s", reason)
            self.healthy, self.reason = healthy, reason
            self.write_track()
            if delay is not None and agent.role in ("active", "standby"):
                server.enforce_pado_delay(delay)
            if ipr is not None and agent.role in ("active", "standby"):
                server.keep_rp_pppoe_posture(ipr)
            if agent.role == "fenced" and interface_up(self.config.access_interface):
                agent.call_soon(agent.keep_fenced)  # should a netlink event have been missed

    def hold_verdict(self, healthy: bool, reason: str) -> tuple[bool, str]:
        """An accel-ppp whose CLI does not answer counts as failed only after `health_failures`
        checks in a row: a busy host delays answers (seen: more than 2 s under emulation while
        20 subscribers dialed), and a spurious failover fences a BNG that serves. A dead
        accel-pppd is noticed at once through its process, a link down at the first check."""
        if (
            healthy
            or self.config.server != "accel-ppp"
            or not interface_running(self.config.access_interface)
        ):
            self.cli_failures = 0
            return healthy, reason
        self.cli_failures += 1
        if self.cli_failures >= self.config.health_failures or not self.healthy:
            return False, reason
        log.warning(
            "%s (check %d of %d before it counts)", reason, self.cli_failures, self.config.health_failures
        )
        return True, self.reason

    def write_track(self) -> None:
        value = b"0\n" if self.healthy and self.agent.role != "fenced" else b"1\n"
        with contextlib.suppress(OSError), open(self.config.track_file, "rb") as handle:
            if handle.read() == value:
                return
        with contextlib.suppress(OSError):
            atomic_write(self.config.track_file, value, 0o644, sync=False)
