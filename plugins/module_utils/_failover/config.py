# SPDX-License-Identifier: GPL-3.0-or-later
"""The failover agent's settings: the JSON file the role bng_failover writes, checked.

Private to the isplab.bng collection: no stability promise outside it.

What the modules, the role's filter and the agent's command line share with the agent: they
read the same file with the same checks. Nothing here starts or talks to an agent.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import MacAddressError, normalise_mac

SERVERS = ("accel-ppp", "rp-pppoe")
TAKEOVER_MODES = ("hitless", "padt")
CONFIG_DIR = "/etc/isplab/bng_failover"
RUN_DIR = "/run/isplab-bng-failover"
STATE_DIR = "/var/lib/isplab-bng-failover"
# Where the pppd ip-up/ipv6-up hook of the rp-pppoe server's sessions records them.
PPPD_RECORDS = "ppp"

_INSTANCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_IFNAME_RE = re.compile(r"^[^\s/:,]{1,15}$")


class AgentError(Exception):
    """A configuration or control error; the message says what and where."""


def _path_in(directory: str, name: str) -> property:
    """A property: the file `name` in the directory that the attribute `directory` holds."""
    return property(lambda self: os.path.join(getattr(self, directory), name))


@dataclass(frozen=True)
class AgentConfig:
    """One agent's settings: the JSON file the role bng_failover writes (see its argument specs)."""

    instance: str
    server: str
    access_interface: str
    core_interface: str
    listen_address: str
    listen_port: int
    peer_address: str
    peer_port: int
    vip: str | None = None
    peer_ac_mac: str | None = None
    takeover: str = "hitless"
    replication_interval: float = 1.0
    replication_full_interval: float = 10.0
    state_max_age: float = 10.0
    max_skew: float = 60.0
    health_interval: float = 1.0
    health_failures: int = 3
    probe_timeout: float = 0.3
    peer_timeout: float = 0.5
    echo_interval: float = 5.0
    echo_failures: int = 3
    ra_interval: float = 60.0
    ra_router_lifetime: int = 1800
    ra_valid_lifetime: int = 3600
    ra_preferred_lifetime: int = 1800
    rehome_rate: float = 5.0
    padt_rate: float = 10.0
    accel_ppp_host: str = "127.0.0.1"
    accel_ppp_port: int = 2001
    accel_ppp_password: str | None = field(default=None, repr=False)
    accel_ppp_timeout: float = 2.0
    server_unit: str | None = None
    replication_key: str | None = field(default=None, repr=False)
    run_dir: str = RUN_DIR
    state_dir: str = STATE_DIR

    @property
    def key(self) -> bytes | None:
        return self.replication_key.encode("utf-8") if self.replication_key else None

    @property
    def instance_run_dir(self) -> str:
        return os.path.join(self.run_dir, self.instance)

    @property
    def instance_state_dir(self) -> str:
        return os.path.join(self.state_dir, self.instance)

    # The agent's files: in the instance's run directory (gone at reboot) unless said otherwise.
    control_socket = _path_in("instance_run_dir", "control.sock")
    status_file = _path_in("instance_run_dir", "status.json")
    track_file = _path_in("instance_run_dir", "track")
    fifo = _path_in("instance_run_dir", "keepalived.fifo")
    journal_file = _path_in("instance_run_dir", "takeover.json")
    # Present while the BNG is fenced: an agent that restarts stays fenced until `rejoin`.
    fenced_file = _path_in("instance_run_dir", "fenced")
    state_file = _path_in("instance_state_dir", "replicated-state.json")
    pppd_records_dir = _path_in("run_dir", PPPD_RECORDS)


# A shared secret a person can still type; the role generates one of 43 letters and digits.
MIN_KEY_LENGTH = 16

_NUMBERS = {
    "replication_interval": (0.05, 3600.0),
    "replication_full_interval": (0.5, 3600.0),
    "state_max_age": (0.1, 86400.0),
    "max_skew": (0.1, 86400.0),
    "health_interval": (0.05, 60.0),
    "probe_timeout": (0.01, 10.0),
    "peer_timeout": (0.01, 10.0),
    "echo_interval": (0.1, 3600.0),
    "ra_interval": (1.0, 3600.0),
    "rehome_rate": (0.01, 10000.0),
    "padt_rate": (0.01, 10000.0),
    "accel_ppp_timeout": (0.1, 60.0),
}
_INTEGERS = {
    "listen_port": (1, 65535),
    "peer_port": (1, 65535),
    "accel_ppp_port": (1, 65535),
    "echo_failures": (1, 100),
    "health_failures": (1, 100),
    "ra_router_lifetime": (0, 9000),
    "ra_valid_lifetime": (0, 2**31),
    "ra_preferred_lifetime": (0, 2**31),
}


def config_from_dict(data: Any, where: str = "config") -> AgentConfig:
    """A checked AgentConfig; AgentError names the field and the value of the first problem."""
    if not isinstance(data, Mapping):
        raise AgentError(f"{where}: must be a JSON object, got {type(data).__name__}")
    known = set(AgentConfig.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise AgentError(f"{where}: unknown settings {unknown}")
    required = (
        "instance",
        "server",
        "access_interface",
        "core_interface",
        "listen_address",
        "listen_port",
        "peer_address",
        "peer_port",
        # Without it anyone who reaches the replication port could feed the standby sessions.
        "replication_key",
    )
    missing = [name for name in required if data.get(name) is None]
    if missing:
        raise AgentError(f"{where}: missing settings {missing}")
    values = dict(data)

    def bad(name: str, expected: str) -> AgentError:
        shown = "(hidden)" if name in ("accel_ppp_password", "replication_key") else repr(values.get(name))
        return AgentError(f"{where}: {name} must be {expected}, got {shown}")

    if not isinstance(values["instance"], str) or not _INSTANCE_RE.match(values["instance"]):
        raise bad("instance", "a name of letters, digits, '.', '_' and '-'")
    if values["server"] not in SERVERS:
        raise bad("server", f"one of {', '.join(SERVERS)}")
    if values.get("takeover", "hitless") not in TAKEOVER_MODES:
        raise bad("takeover", f"one of {', '.join(TAKEOVER_MODES)}")
    for name in ("access_interface", "core_interface"):
        if not isinstance(values[name], str) or not _IFNAME_RE.match(values[name]):
            raise bad(name, "a Linux interface name (1 to 15 characters, no blank, '/', ':' or ',')")
    for name in ("listen_address", "peer_address", "accel_ppp_host"):
        if name in values:
            try:
                values[name] = str(ipaddress.ip_address(values[name]))
            except (TypeError, ValueError):
                raise bad(name, "a numeric IPv4 or IPv6 address") from None
    if values.get("vip") is not None:
        try:
            values["vip"] = str(ipaddress.ip_interface(values["vip"]).ip)
        except (TypeError, ValueError):
            raise bad("vip", "an IP address (with or without a prefix length)") from None
    if values.get("peer_ac_mac") is not None:
        try:
            values["peer_ac_mac"] = normalise_mac(values["peer_ac_mac"], "peer_ac_mac")
        except MacAddressError as exc:
            raise AgentError(f"{where}: {exc}") from None
    for name, (low, high) in _NUMBERS.items():
        if name in values:
            value = values[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
                raise bad(
                    name,
                    f"a number of seconds from {low:g} to {high:g}"
                    if name not in ("rehome_rate", "padt_rate")
                    else f"a rate from {low:g} to {high:g} sessions per second",
                )
            values[name] = float(value)
    for name, (low, high) in _INTEGERS.items():
        if name in values:
            value = values[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise bad(name, f"an integer from {low} to {high}")
    if values.get("ra_preferred_lifetime", 1800) > values.get("ra_valid_lifetime", 3600):
        raise bad("ra_preferred_lifetime", "at most ra_valid_lifetime")
    for name in ("accel_ppp_password", "replication_key"):
        value = values.get(name)
        if value is not None and (not isinstance(value, str) or not value or "\n" in value or "\r" in value):
            raise bad(name, "a non-empty string without line breaks")
    if len(values["replication_key"]) < MIN_KEY_LENGTH:
        raise bad("replication_key", f"at least {MIN_KEY_LENGTH} characters (the role generates 43)")
    if values.get("server_unit") is not None and (
        not isinstance(values["server_unit"], str)
        or not re.match(r"^[\w@.:\\-]+\.service$", values["server_unit"])
    ):
        raise bad("server_unit", "a systemd service name such as isplab-pppoe-server@bng1.service")
    if values["server"] == "rp-pppoe" and not values.get("server_unit"):
        raise bad("server_unit", "set for the rp-pppoe server (the unit the agent starts and stops)")
    for name in ("run_dir", "state_dir"):
        if name in values and (not isinstance(values[name], str) or not values[name].startswith("/")):
            raise bad(name, "an absolute path")
    return AgentConfig(**values)


def load_config(path: str) -> AgentConfig:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise AgentError(f"cannot read the agent configuration {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise AgentError(f"{path}: not JSON ({exc})") from None
    return config_from_dict(data, path)


def config_path(instance: str, config_dir: str = CONFIG_DIR) -> str:
    """The configuration file of an instance (a path is taken as it is)."""
    if "/" in instance:
        return instance
    if not _INSTANCE_RE.match(instance):
        raise AgentError(f"instance must be an instance name or a configuration path, got {instance!r}")
    return os.path.join(config_dir, f"{instance}.json")
