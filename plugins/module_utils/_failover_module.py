# SPDX-License-Identifier: GPL-3.0-or-later
"""What the modules that talk to a BNG failover agent share.

Private to the isplab.bng collection: no stability promise outside it.

The options are documented once in the doc fragment isplab.bng.bng_failover; the agent's own
client (control_request of _failover/control.py) does the talking.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from ansible_collections.isplab.bng.plugins.module_utils._failover.config import (
    CONFIG_DIR,
    AgentConfig,
    AgentError,
    config_path,
    load_config,
)
from ansible_collections.isplab.bng.plugins.module_utils._failover.control import control_request
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import MacAddressError, normalise_mac


def agent_argument_spec() -> dict:
    return {
        "instance": {"type": "str", "required": True},
        "config_dir": {"type": "path", "default": CONFIG_DIR},
        "timeout": {"type": "float", "default": 30.0},
    }


def session_filter_spec() -> dict:
    return {
        "session_id": {"type": "int"},
        "client_mac": {"type": "str"},
        "username": {"type": "str"},
        "ipv4": {"type": "str"},
    }


def session_selector(params: Mapping) -> dict:
    """The filters given, checked and in the agent's form (AgentError names a bad one)."""
    selector = {}
    if params.get("session_id") is not None:
        if not 1 <= params["session_id"] <= 0xFFFE:
            raise AgentError(
                f"session_id must be a PPPoE session id from 1 to 65534, got {params['session_id']!r}"
            )
        selector["session_id"] = params["session_id"]
    if params.get("client_mac") is not None:
        try:
            selector["client_mac"] = normalise_mac(params["client_mac"], "client_mac")
        except MacAddressError as exc:
            raise AgentError(str(exc)) from None
    if params.get("username") is not None:
        selector["username"] = params["username"]
    if params.get("ipv4") is not None:
        try:
            selector["ipv4"] = str(ipaddress.IPv4Address(params["ipv4"]))
        except ValueError:
            raise AgentError(f"ipv4 must be an IPv4 address, got {params['ipv4']!r}") from None
    return selector


class Agent:
    """A running agent, by instance name."""

    def __init__(self, params: Mapping):
        if params["timeout"] <= 0:
            raise AgentError(f"timeout must be a positive number of seconds, got {params['timeout']!r}")
        self.config: AgentConfig = load_config(config_path(params["instance"], params["config_dir"]))
        self.timeout = params["timeout"]

    def request(self, command: str, **fields) -> dict:
        return control_request(self.config, {"command": command, **fields}, self.timeout)
