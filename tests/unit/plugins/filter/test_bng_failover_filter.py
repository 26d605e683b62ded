# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter bng_failover_instances: the role's data checked, with the agent's own settings check."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.isplab.bng.plugins.filter.bng_failover import bng_failover_instances
from ansible_collections.isplab.bng.plugins.filter.ping_outage import ping_outage

SETTINGS = {
    "vip": "2001:db8:100:1::10/64",
    "virtual_router_id": 10,
    "advert_interval": 0.5,
    "replication_port": 7300,
    "replication_interval": 1.0,
    "replication_full_interval": 10,
    "replication_key": "lab-replication-key",
    "state_max_age": 10,
    "takeover": "hitless",
    "health_interval": 1.0,
    "health_failures": 3,
    "probe_timeout": 0.3,
    "peer_timeout": 0.5,
    "echo_interval": 5,
    "echo_failures": 3,
    "ra_interval": 60,
    "rehome_rate": 5,
    "run_dir": "/run/isplab-bng-failover",
    "state_dir": "/var/lib/isplab-bng-failover",
}
LAB = [
    {
        "name": "bng1",
        "netns": "bng1",
        "priority": 150,
        "server": "accel-ppp",
        "address": "2001:db8:100:1::11",
        "peer_address": "2001:db8:100:1::12",
        "peer_ac_mac": "02:00:00:00:0b:02",
        "accel_ppp_cli": {"address": "127.0.0.1", "port": 2001, "password": "secret-cli"},
    },
    {
        "name": "bng2",
        "netns": "bng2",
        "server": "rp-pppoe",
        "server_unit": "isplab-pppoe-server@bng2.service",
        "address": "2001:db8:100:1::12",
        "peer_address": "2001:db8:100:1::11",
    },
]


def test_the_lab_pair():
    bng1, bng2 = bng_failover_instances(LAB, SETTINGS)
    assert (bng1["name"], bng1["priority"], bng1["vip_link_local"]) == ("bng1", 150, "fe80::a")
    assert bng1["agent"]["listen_address"] == "2001:db8:100:1::11"
    # keepalived's unicast VRRP: from this address, to and only from the peer's (without the
    # agent's settings, which the role keeps out of task output).
    assert (bng1["address"], bng1["peer_address"]) == ("2001:db8:100:1::11", "2001:db8:100:1::12")
    assert bng1["agent"]["accel_ppp_password"] == "secret-cli"
    assert bng1["agent"]["vip"] == "2001:db8:100:1::10"
    assert (bng2["priority"], bng2["server"], bng2["agent"]["server_unit"]) == (
        100,
        "rp-pppoe",
        "isplab-pppoe-server@bng2.service",
    )
    assert bng_failover_instances([], SETTINGS) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "bng 1"}, r"bng_failover_instances\[0\].name must be a name"),
        ({"priority": 255}, r"\(bng1\).priority must be an integer from 1 to 254, got 255"),
        ({"server": "pppd"}, r"\(bng1\).server must be one of accel-ppp, rp-pppoe, got 'pppd'"),
        ({"address": "bng1.lab"}, r"\(bng1\).address must be an IP address, got 'bng1.lab'"),
        ({"peer_address": "192.0.2.1"}, r"peer_address 192.0.2.1 is not of the VIP's family"),
        ({"colour": "red"}, r"unknown keys \['colour'\]"),
        ({"peer_ac_mac": "02:00"}, r"\(bng1\) \(agent settings\): peer_ac_mac is not a MAC address"),
        ({"accel_ppp_cli": {"password": "a\nb"}}, r"accel_ppp_password must be .* got \(hidden\)"),
    ],
)
def test_bad_instances_name_the_field(change, message):
    with pytest.raises(AnsibleFilterError, match=message):
        bng_failover_instances([{**LAB[0], **change}, LAB[1]], SETTINGS)


def test_secrets_never_show_in_messages():
    with pytest.raises(AnsibleFilterError) as error:
        bng_failover_instances([{**LAB[0], "accel_ppp_cli": {"password": "top\nsecret"}}], SETTINGS)
    assert "secret" not in str(error.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"vip": "2001:db8::10/129"}, "bng_failover_vip must be an address with its prefix length"),
        ({"virtual_router_id": 0}, "bng_failover_virtual_router_id must be an integer from 1 to 255"),
        ({"advert_interval": 50}, "bng_failover_advert_interval must be 0.01 to 40.95 seconds"),
        ({"takeover": "magic"}, "takeover must be one of hitless, padt"),
        ({"replication_port": 0}, "listen_port must be an integer from 1 to 65535"),
    ],
)
def test_bad_settings(change, message):
    with pytest.raises(AnsibleFilterError, match=message):
        bng_failover_instances(LAB, {**SETTINGS, **change})


def test_twice_the_same_name_and_not_a_list():
    with pytest.raises(AnsibleFilterError, match="'bng1' is used twice"):
        bng_failover_instances([LAB[0], LAB[0]], SETTINGS)
    with pytest.raises(AnsibleFilterError, match="must be a list"):
        bng_failover_instances({"name": "bng1"}, SETTINGS)


def test_ping_outage_filter():
    text = "[100.0] 64 bytes from x: icmp_seq=1\n[102.5] 64 bytes from x: icmp_seq=2\n"
    assert ping_outage(text, 99.5, 103.0)["gap"] == 2.5


@pytest.mark.parametrize("key", ["", None, "short-secret"])
def test_the_role_refuses_a_pair_without_a_real_replication_key(key):
    """Unsigned replication would let anyone on the upstream link feed the standby sessions."""
    with pytest.raises(AnsibleFilterError, match=r"replication_key must be a secret of at least"):
        bng_failover_instances(LAB, dict(SETTINGS, replication_key=key))
