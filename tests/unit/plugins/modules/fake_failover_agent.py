# SPDX-License-Identifier: GPL-3.0-or-later
"""A failover agent for the module tests: the real Agent's control logic behind its real control
socket, with adopted sessions whose kernel side is a stand-in (no /dev/ppp needed)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field

import pytest

from ansible_collections.isplab.bng.plugins.module_utils._failover.adopted import Adopted
from ansible_collections.isplab.bng.plugins.module_utils._failover.agent import Agent
from ansible_collections.isplab.bng.plugins.module_utils._failover.config import AgentError, config_from_dict
from ansible_collections.isplab.bng.plugins.module_utils._failover.state import session_from_fields


@dataclass
class FakeChannel:
    """What the agent uses of a kernel channel: descriptors, the interface name, writes and close."""

    unit: int
    written: list = field(default_factory=list)
    closed: bool = False

    chan_fd: int = -1
    unit_fd: int = -2
    sock_fd: int = -3

    @property
    def ifname(self) -> str:
        return f"ppp{self.unit}"

    def write(self, frame: bytes, unit: bool = False) -> None:
        self.written.append(frame)

    def close(self) -> None:
        self.closed = True


def adopted_session(n: int, now: float) -> Adopted:
    session = session_from_fields(
        session_id=n,
        client_mac=f"02:00:00:00:c0:{n:02x}",
        ac_mac="02:00:00:00:0b:01",
        interface="access",
        origin="rp-pppoe",
        since=now - 600,
        username=f"user{n}",
        ipv4=f"100.64.0.{10 + n}",
        gateway="100.64.0.1",
    )
    channel = FakeChannel(unit=n - 1, chan_fd=1000 + 2 * n, unit_fd=1001 + 2 * n)
    return Adopted(
        session=session,
        channel=channel,
        device="ac020000000b01",
        magic=7,
        adopted_at=now - 30,
        last_heard=time.monotonic(),
        heard=True,
        next_echo=time.monotonic() + 3600,
        next_ra=time.monotonic() + 3600,
    )


class FakeAgentServer:
    """Serves an Agent's control socket from a thread, running its timers between requests."""

    def __init__(self, tmp_path, sessions: int = 3, role: str = "active", peer: dict | None = None):
        config_dir = tmp_path / "etc"
        config_dir.mkdir()
        settings = {
            "instance": "bng2",
            "server": "rp-pppoe",
            "server_unit": "isplab-pppoe-server@bng2.service",
            "access_interface": "lo",
            "core_interface": "lo",
            "listen_address": "127.0.0.1",
            "listen_port": 7300,
            "peer_address": "127.0.0.1",
            "peer_port": 7301,
            "replication_key": "fake-agent-replication-key",
            "run_dir": str(tmp_path / "run"),
            "state_dir": str(tmp_path / "state"),
        }
        (config_dir / "bng2.json").write_text(json.dumps(settings))
        self.config_dir = str(config_dir)
        self.agent = Agent(config_from_dict(settings))
        self.agent.role = role
        self.agent.health.healthy, self.agent.health.reason = True, "test"
        now = time.time()
        for n in range(1, sessions + 1):
            adopted = adopted_session(n, now)
            self.agent.adopted.by_key[adopted.session.key] = adopted
        self.peer = peer
        self.requests: list[dict] = []
        if peer is not None:
            self.agent.peer_status = self._peer_status
        os.makedirs(self.agent.config.instance_run_dir)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.agent.config.control_socket)
        self.listener.listen(4)
        self.listener.settimeout(0.05)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _peer_status(self) -> dict:
        if isinstance(self.peer, Exception):
            raise self.peer
        return dict(self.peer)

    def _serve(self) -> None:
        while not self.stop.is_set():
            self.agent._timers(time.monotonic())
            try:
                conn, _peer_address = self.listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                request = json.loads(data)
                self.requests.append(request)
                try:
                    reply = {"ok": True, **self.agent.control.handle(request)}
                except AgentError as exc:
                    reply = {"ok": False, "error": str(exc)}
                conn.sendall(json.dumps(reply).encode() + b"\n")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.listener.close()
        os.close(self.agent.wake_read)
        os.close(self.agent.wake_write)


@pytest.fixture
def fake_agent(tmp_path):
    """start(sessions=3, role='active', peer=None) -> a running FakeAgentServer (stopped afterwards)."""
    servers: list[FakeAgentServer] = []

    def start(**options) -> FakeAgentServer:
        server = FakeAgentServer(tmp_path, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
