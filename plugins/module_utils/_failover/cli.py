# SPDX-License-Identifier: GPL-3.0-or-later
"""The command line of the failover agent, `isplab-bng-failover COMMAND INSTANCE [ARGS]`: runs the
agent, checks its health for keepalived, and sends the control requests an operator asks for.

Private to the isplab.bng collection: no stability promise outside it.
"""

from __future__ import annotations

import json
import logging
import sys

from ansible_collections.isplab.bng.plugins.module_utils._failover.agent import Agent
from ansible_collections.isplab.bng.plugins.module_utils._failover.config import (
    AgentConfig,
    AgentError,
    config_path,
    load_config,
)
from ansible_collections.isplab.bng.plugins.module_utils._failover.control import control_request
from ansible_collections.isplab.bng.plugins.module_utils._failover.health import check_health
from ansible_collections.isplab.bng.plugins.module_utils._failover.host import link_mac
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_adopt import AdoptError, probe_for_pado

USAGE = """usage: isplab-bng-failover COMMAND INSTANCE [ARGS]
  run INSTANCE             the agent (systemd: isplab-bng-failover@INSTANCE.service)
  check INSTANCE           keepalived track script: exit 0 when the PPPoE server answers
  validate FILE            check an agent configuration file
  status INSTANCE          the agent's status (JSON)
  peer INSTANCE            the peer agent's status, asked over the replication link (JSON)
  sessions INSTANCE        the adopted sessions (JSON)
  notify INSTANCE STATE    tell the agent keepalived's state (MASTER, BACKUP, FAULT, STOP)
  release INSTANCE         planned switchover: hand the subscribers to the standby and fence
  rejoin INSTANCE          come back as standby after a failover or release
  rehome INSTANCE [RATE]   move every adopted session into the PPPoE server, RATE PADTs per second
  mode INSTANCE MODE       takeover mode until the agent restarts: hitless or padt
  probe INSTANCE [SECONDS] send a PADI on the access link (run it in the BNG's namespace) and
                           say whether the peer BNG (peer_ac_mac) answered with a PADO (JSON)
INSTANCE is a name (configuration in /etc/isplab/bng_failover/NAME.json) or a file path."""


def probe_peer(config: AgentConfig, timeout: float) -> dict:
    """Whether the peer BNG answers discovery: one PADI from this BNG's access MAC, the PADOs
    that come back from the peer's AC MAC within `timeout` seconds."""
    if not config.peer_ac_mac:
        raise AgentError(f"{config.instance}: peer_ac_mac is not set: there is no peer MAC to probe for")
    if not 0 < timeout <= 60:
        raise AgentError(f"probe: the timeout must be from 0 to 60 seconds, got {timeout}")
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        own_mac = link_mac(ipr, config.access_interface)
    if own_mac is None:
        raise AgentError(f"probe: there is no interface {config.access_interface} in this namespace")
    try:
        answered = probe_for_pado(config.access_interface, own_mac, {config.peer_ac_mac}, timeout)
    except (OSError, AdoptError) as exc:
        raise AgentError(f"probe on {config.access_interface}: {exc}") from None
    return {
        "interface": config.access_interface,
        "peer_ac_mac": config.peer_ac_mac,
        "timeout": timeout,
        "peer_answers_discovery": bool(answered),
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):
        # A command line, not a module: it writes to stdout and stderr, with write() since print() is
        # what ansible-test sanity forbids in module_utils (a module's stdout is its JSON result).
        sys.stdout.write(f"{USAGE}\n")
        return 0
    if len(argv) < 2:
        sys.stderr.write(f"{USAGE}\n")
        return 2
    command, target, rest = argv[0], argv[1], argv[2:]
    try:
        config = load_config(config_path(target))
        if command == "validate":
            sys.stdout.write(
                f"{target}: valid ({config.instance}, {config.server}, takeover {config.takeover})\n"
            )
            return 0
        if command == "check":
            healthy, reason, _pado_delay = check_health(config)
            sys.stdout.write(f"{reason}\n")
            return 0 if healthy else 1
        if command == "probe":
            sys.stdout.write(f"{json.dumps(probe_peer(config, float(rest[0]) if rest else 1.0), indent=1)}\n")
            return 0
        if command == "run":
            logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
            return Agent(config).run()
        requests = {
            "status": {"command": "status"},
            "peer": {"command": "peer"},
            "sessions": {"command": "sessions"},
            "release": {"command": "release"},
            "rejoin": {"command": "rejoin"},
        }
        if command == "notify":
            request = {"command": "keepalived", "state": rest[0] if rest else None}
        elif command == "mode":
            request = {"command": "takeover-mode", "mode": rest[0] if rest else None}
        elif command == "rehome":
            request = {"command": "rehome", **({"rate": float(rest[0])} if rest else {})}
        elif command in requests:
            request = requests[command]
        else:
            sys.stderr.write(f"{USAGE}\n")
            return 2
        sys.stdout.write(f"{json.dumps(control_request(config, request, timeout=30.0), indent=1)}\n")
        return 0
    except (AgentError, ValueError) as exc:
        sys.stderr.write(f"isplab-bng-failover: {exc}\n")
        return 1
