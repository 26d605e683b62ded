# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter bng_failover_instances: the role bng_failover's data, checked, per BNG.

Its documentation is in bng_failover_instances.yml next to this file. The agent's settings are
checked by the agent's own code (plugins/module_utils/_failover/config.py), on the controller,
before the role changes anything.
"""

from __future__ import annotations

import ipaddress
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.isplab.bng.plugins.module_utils._failover.config import (
    MIN_KEY_LENGTH,
    SERVERS,
    AgentError,
    config_from_dict,
)

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_INSTANCE_KEYS = {
    "name",
    "netns",
    "priority",
    "server",
    "server_unit",
    "access_interface",
    "core_interface",
    "address",
    "peer_address",
    "peer_ac_mac",
    "accel_ppp_cli",
}
_CLI_KEYS = {"address", "port", "password", "timeout"}


def _fail(message: str) -> AnsibleFilterError:
    return AnsibleFilterError(f"bng_failover_instances: {message}")


def bng_failover_instances(instances, settings: dict) -> list[dict]:
    """Per instance: name, netns, priority, interfaces, the VIP and the checked agent configuration.

    settings: the role's other variables (vip, port, intervals, takeover mode, key) by their
    names without the bng_failover_ prefix.
    """
    if not isinstance(instances, list):
        raise _fail(f"bng_failover_instances must be a list, got {type(instances).__name__}")
    vip = settings.get("vip")
    try:
        vip_interface = ipaddress.ip_interface(vip)
    except (TypeError, ValueError):
        raise _fail(f"bng_failover_vip must be an address with its prefix length, got {vip!r}") from None
    vrid = settings.get("virtual_router_id")
    if isinstance(vrid, bool) or not isinstance(vrid, int) or not 1 <= vrid <= 255:
        raise _fail(f"bng_failover_virtual_router_id must be an integer from 1 to 255, got {vrid!r}")
    advert = settings.get("advert_interval")
    if isinstance(advert, bool) or not isinstance(advert, int | float) or not 0.01 <= advert <= 40.95:
        raise _fail(f"bng_failover_advert_interval must be 0.01 to 40.95 seconds (VRRPv3), got {advert!r}")
    key = settings.get("replication_key")
    if not isinstance(key, str) or len(key) < MIN_KEY_LENGTH:
        # Never shown: it is a secret, and the role's task output must not carry it.
        raise _fail(
            f"bng_failover_replication_key must be a secret of at least {MIN_KEY_LENGTH} characters that "
            "both BNGs share (keep it in Ansible Vault; e.g. openssl rand -base64 32); without it anyone "
            "who reaches the replication port could feed the standby sessions to adopt"
        )
    names = set()
    out = []
    for index, item in enumerate(instances):
        where = f"bng_failover_instances[{index}]"
        if not isinstance(item, dict):
            raise _fail(f"{where} must be a mapping, got {type(item).__name__}")
        unknown = sorted(set(item) - _INSTANCE_KEYS)
        if unknown:
            raise _fail(f"{where}: unknown keys {unknown}")
        name = item.get("name")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise _fail(f"{where}.name must be a name of letters, digits, '.', '_' and '-', got {name!r}")
        if name in names:
            raise _fail(f"{where}.name {name!r} is used twice")
        names.add(name)
        where = f"bng_failover_instances[{index}] ({name})"
        netns = item.get("netns")
        if netns is not None and (not isinstance(netns, str) or not _NAME_RE.match(netns)):
            raise _fail(f"{where}.netns must be a network namespace name, got {netns!r}")
        priority = item.get("priority", 100)
        if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 254:
            raise _fail(f"{where}.priority must be an integer from 1 to 254, got {priority!r}")
        server = item.get("server", "accel-ppp")
        if server not in SERVERS:
            raise _fail(f"{where}.server must be one of {', '.join(SERVERS)}, got {server!r}")
        cli = item.get("accel_ppp_cli") or {}
        if not isinstance(cli, dict) or set(cli) - _CLI_KEYS:
            raise _fail(f"{where}.accel_ppp_cli must be a mapping of {sorted(_CLI_KEYS)}")
        for field in ("address", "peer_address"):
            try:
                address = ipaddress.ip_address(item.get(field))
            except (TypeError, ValueError):
                raise _fail(f"{where}.{field} must be an IP address, got {item.get(field)!r}") from None
            if address.version != vip_interface.version:
                raise _fail(f"{where}.{field} {address} is not of the VIP's family ({vip_interface})")
        config = {
            "instance": name,
            "server": server,
            "access_interface": item.get("access_interface", "access"),
            "core_interface": item.get("core_interface", "core"),
            "listen_address": item.get("address"),
            "listen_port": settings.get("replication_port"),
            "peer_address": item.get("peer_address"),
            "peer_port": settings.get("replication_port"),
            "vip": str(vip_interface.ip),
            "peer_ac_mac": item.get("peer_ac_mac"),
            "takeover": settings.get("takeover"),
            "replication_interval": settings.get("replication_interval"),
            "replication_full_interval": settings.get("replication_full_interval"),
            "state_max_age": settings.get("state_max_age"),
            "health_interval": settings.get("health_interval"),
            "health_failures": settings.get("health_failures"),
            "probe_timeout": settings.get("probe_timeout"),
            "peer_timeout": settings.get("peer_timeout"),
            "echo_interval": settings.get("echo_interval"),
            "echo_failures": settings.get("echo_failures"),
            "ra_interval": settings.get("ra_interval"),
            "rehome_rate": settings.get("rehome_rate"),
            "accel_ppp_host": cli.get("address", "127.0.0.1"),
            "accel_ppp_port": cli.get("port", 2001),
            "accel_ppp_password": cli.get("password") or None,
            "accel_ppp_timeout": cli.get("timeout", 2.0),
            "server_unit": item.get("server_unit"),
            "replication_key": settings.get("replication_key") or None,
            "run_dir": settings.get("run_dir"),
            "state_dir": settings.get("state_dir"),
        }
        config = {key: value for key, value in config.items() if value is not None}
        try:
            config_from_dict(config, f"{where} (agent settings)")
        except AgentError as exc:
            raise _fail(str(exc)) from None
        out.append(
            {
                "name": name,
                "netns": netns,
                "priority": priority,
                "access_interface": config["access_interface"],
                "core_interface": config["core_interface"],
                "address": config["listen_address"],
                "peer_address": config["peer_address"],
                "server": server,
                # VRRPv3 for IPv6 wants a link-local address first among the virtual addresses.
                "vip_link_local": f"fe80::{vrid:x}" if vip_interface.version == 6 else None,
                "agent": config,
            }
        )
    return out


class FilterModule:
    """The role bng_failover's data."""

    def filters(self):
        return {"bng_failover_instances": bng_failover_instances}
