# SPDX-License-Identifier: GPL-3.0-or-later
"""The agent's control socket: one JSON request a line, one JSON reply (`ok` and the answer, or
`ok` false and the error).

Private to the isplab.bng collection: no stability promise outside it.

control_request is the client the modules and the command line use; ControlServer is the
agent's side, which parses and checks a request and hands it to the part of the agent that
answers it. Nothing here imports the agent itself: the modules load this file without it.
"""

from __future__ import annotations

import json
import logging
import selectors
import socket
import time
from collections.abc import Mapping

from ansible_collections.isplab.bng.plugins.module_utils._failover.config import (
    TAKEOVER_MODES,
    AgentConfig,
    AgentError,
)
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import MacAddressError, normalise_mac

log = logging.getLogger("isplab-bng-failover")


def control_request(config: AgentConfig, request: Mapping, timeout: float = 10.0) -> dict:
    """Send one request to a running agent and return its reply; AgentError when it fails."""
    path = config.control_socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except FileNotFoundError:
        raise AgentError(f"the agent of {config.instance} is not running (no {path})") from None
    except TimeoutError:
        raise AgentError(f"the agent of {config.instance} did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise AgentError(f"the agent of {config.instance} ({path}): {exc.strerror or exc}") from None
    try:
        reply = json.loads(data)
    except ValueError:
        raise AgentError(
            f"the agent of {config.instance} sent a reply that is not JSON: {data[:200]!r}"
        ) from None
    if not reply.get("ok"):
        raise AgentError(reply.get("error") or "the agent refused the request")
    reply.pop("ok", None)
    return reply


def _matches(session, item: Mapping, where: str) -> bool:
    """Whether an adopted session's record matches one selector of a request."""
    unknown = sorted(set(item) - {"session_id", "client_mac", "username", "ipv4"})
    if unknown:
        raise AgentError(f"{where}: unknown keys {unknown}")
    if "client_mac" in item:
        try:
            if normalise_mac(item["client_mac"], f"{where}.client_mac") != session.client_mac:
                return False
        except MacAddressError as exc:
            raise AgentError(str(exc)) from None
    for name in ("session_id", "username", "ipv4"):
        if name in item and item[name] != getattr(session, name):
            return False
    return True


class ControlServer:
    """The agent's side of the control socket; the agent's parts do what a request asks."""

    def __init__(self, agent):
        self.agent = agent
        self.config = agent.config
        self.clients: dict[socket.socket, bytearray] = {}

    def accept(self, listener: socket.socket, mask: int) -> None:
        try:
            conn, _peer_address = listener.accept()
        except OSError:
            return
        conn.setblocking(False)
        self.clients[conn] = bytearray()
        self.agent.selector.register(conn, selectors.EVENT_READ, self.read)

    def read(self, conn: socket.socket, mask: int) -> None:
        buffer = self.clients.get(conn)
        try:
            data = conn.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if buffer is not None and data:
            buffer += data
        if not data or b"\n" in buffer or len(buffer) > 1 << 20:
            self.agent.selector.unregister(conn)
            self.clients.pop(conn, None)
            try:
                request = json.loads(bytes(buffer).split(b"\n")[0] or b"{}")
                reply = {"ok": True, **self.handle(request)}
            except (AgentError, ValueError, TypeError) as exc:
                reply = {"ok": False, "error": str(exc)}
            try:
                conn.setblocking(True)
                conn.settimeout(2.0)
                conn.sendall(json.dumps(reply).encode() + b"\n")
            except OSError:
                pass
            conn.close()

    def handle(self, request: Mapping) -> dict:
        """The answer to one request; AgentError says why a request is refused."""
        agent, adopted = self.agent, self.agent.adopted
        command = request.get("command")
        if command == "status":
            return agent.status()
        if command == "sessions":
            now = time.time()
            return {"sessions": [a.describe(now) for a in self.select(request, allow_all=True)]}
        if command == "terminate":
            chosen = self.select(request)
            for held in chosen:
                adopted.drop(held, "terminated by an operator", padt=True)
            return {"terminated": [a.describe(time.time()) for a in chosen]}
        if command == "rehome":
            rate = request.get("rate", self.config.rehome_rate)
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.01 <= rate <= 10000:
                raise AgentError(
                    f"rate must be a number of sessions per second from 0.01 to 10000, got {rate!r}"
                )
            chosen = self.select(request, allow_all=True)
            adopted.rehome(chosen, rate)
            return {"rehoming": [a.describe(time.time()) for a in chosen], "rate": rate}
        if command == "keepalived":
            state = request.get("state")
            if state not in ("MASTER", "BACKUP", "FAULT", "STOP"):
                raise AgentError(f"state must be MASTER, BACKUP, FAULT or STOP, got {state!r}")
            agent.keepalived_event(state, "keepalived notify")
            return agent.status()
        if command == "takeover-mode":
            mode = request.get("mode")
            if mode not in TAKEOVER_MODES:
                raise AgentError(f"mode must be one of {', '.join(TAKEOVER_MODES)}, got {mode!r}")
            if mode != agent.takeover_mode:
                log.info("takeover mode %s -> %s (until the agent restarts)", agent.takeover_mode, mode)
            agent.takeover_mode = mode
            return agent.status()
        if command == "peer":
            return {"peer": agent.peer_status()}
        if command == "release":
            return agent.release()
        if command == "rejoin":
            return agent.rejoin()
        raise AgentError(f"unknown command {command!r}")

    def select(self, request: Mapping, allow_all: bool = False) -> list:
        """The adopted sessions a request names (all of them, when allowed, if it names none)."""
        held = self.agent.adopted.all()
        wanted = request.get("sessions")
        if wanted is None:
            if not allow_all:
                raise AgentError(
                    "name the sessions: a list of {session_id, client_mac} or {username} or {ipv4}"
                )
            return held
        if not isinstance(wanted, list):
            raise AgentError(f"sessions must be a list, got {type(wanted).__name__}")
        chosen = []
        for index, item in enumerate(wanted):
            if not isinstance(item, Mapping) or not item:
                raise AgentError(
                    f"sessions[{index}] must be an object with session_id/client_mac, username or ipv4"
                )
            matches = [a for a in held if _matches(a.session, item, f"sessions[{index}]")]
            chosen.extend(m for m in matches if m not in chosen)
        return chosen
