# SPDX-License-Identifier: GPL-3.0-or-later
"""The filters of the role accel_ppp: instance checks, the [modules] list, reload or restart."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.isplab.bng.plugins.filter.accel_ppp import FilterModule

FILTERS = FilterModule().filters()
accel_ppp_errors = FILTERS["accel_ppp_errors"]
accel_ppp_modules = FILTERS["accel_ppp_modules"]
accel_ppp_conf_changes = FILTERS["accel_ppp_conf_changes"]

ROLE = Path(__file__).resolve().parents[4] / "roles" / "accel_ppp"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["accel_ppp_instance_defaults"]


def merge(base: dict, over: dict) -> dict:
    """The role's merge: `combine(recursive=True)`, lists replaced."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = (
            merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def lab_instance(**over) -> dict:
    """An instance like the lab's bng1 (inventories/lab/group_vars/all/bng.yml)."""
    lab = {
        "name": "bng1",
        "netns": "bng1",
        "ppp": {"ipv6": "allow", "lcp_echo_interval": 5},
        "pppoe": {"interfaces": ["access"], "ac_name": "isplab-bng", "pado_delay": "0"},
        "ipv4_gateway": "100.64.0.1",
        "chap_secrets": {
            "users": [
                {"user": f"user{n}", "password": f"pass{n}", "ipv4": f"100.64.0.{10 + n}", "name": f"cpe{n}"}
                for n in range(1, 5)
            ]
        },
        "ip_pool": {"ranges": ["100.64.240.2-254"]},
        "ipv6_pool": {
            "prefixes": [{"prefix": "2001:db8:110::/49", "length": 64}],
            "delegate": [{"prefix": "2001:db8:120::/49", "length": 56}],
        },
        "dns": {"ipv6": ["2001:db8:100:53::53"]},
        "cli": {"password": "s3cret-cli"},
    }
    return merge(merge(DEFAULTS, lab), over)


# --- accel_ppp_errors ------------------------------------------------------------------------


def test_the_lab_data_is_good():
    assert accel_ppp_errors([lab_instance(), lab_instance(name="bng2", netns="bng2")]) == []


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        ({"name": "bng 1"}, "accel_ppp_instances[0] (bng 1).name: must be 1 to 64 letters"),
        ({"netns": "../x"}, ".netns: must be a network namespace name, got '../x'"),
        ({"cli": {"address": "::1"}}, ".cli.address: must be an IPv4 address"),
        ({"common": {"single_session": "allow"}}, ".common.single_session: must be deny, replace or unset"),
        ({"cli": {"port": 0}}, ".cli.port: must be a TCP port, got 0"),
        (
            {"cli": {"address": "0.0.0.0", "password": None}},
            ".cli.password: required when the CLI listens outside loopback (cli.address '0.0.0.0')",
        ),
        ({"cli": {"address": "192.0.2.1", "password": ""}}, ".cli.password: required when the CLI listens"),
        ({"ppp": {"mtu": 9000}}, ".ppp.mtu: must be between 576 and 1500"),
        ({"ppp": {"mtu": 1200}}, ".ppp: mtu and mru must be at least 1280 when IPv6 is not denied"),
        ({"pppoe": {"interfaces": []}}, ".pppoe.interfaces: must list at least one access interface"),
        (
            {"pppoe": {"interfaces": ["a-very-long-ifname0"]}},
            ".pppoe.interfaces[0]: is not a Linux interface name",
        ),
        ({"pppoe": {"interfaces": ["eth0", "eth0"]}}, ".pppoe.interfaces: lists an interface twice"),
        ({"pppoe": {"ac_name": "my bng"}}, ".pppoe.ac_name: must be one word without commas"),
        ({"pppoe": {"pado_delay": "fast"}}, ".pppoe.pado_delay: must be DELAY[,DELAY:COUNT...]"),
        ({"pppoe": {"padi_limit": -1}}, ".pppoe.padi_limit: must not be negative"),
        ({"auth": {"protocols": []}}, ".auth.protocols: must list at least one"),
        ({"ipv4_gateway": "100.64.0.300"}, ".ipv4_gateway: must be an IPv4 address, got '100.64.0.300'"),
        ({"ip_pool": {"ranges": ["100.64.1.20-10"]}}, ".ip_pool.ranges[0]: must be A.B.C.D-E"),
        ({"ip_pool": {"ranges": ["100.64.1.0/23x"]}}, ".ip_pool.ranges[0]: must be A.B.C.D-E"),
        ({"ip_pool": {"ranges": ["100.64.1.1/24"]}}, ".ip_pool.ranges[0]: must be A.B.C.D-E"),
        (
            {"ip_pool": {"ranges": ["100.64.1.0/24", "100.64.1.10-20"]}},
            ".ip_pool.ranges[1]: '100.64.1.10-20' overlaps",
        ),
        ({"ip_pool": {"ranges": ["100.64.0.0/24"]}}, ".ipv4_gateway: 100.64.0.1 is inside ip_pool.ranges"),
        (
            {"ip_pool": {"ranges": ["100.64.0.12-20"]}},
            ".chap_secrets.users[1].ipv4: 100.64.0.12 (user 'user2') is inside ip_pool.ranges",
        ),
        (
            {"ipv6_pool": {"prefixes": [{"prefix": "2001:db8:110::1/48", "length": 64}]}},
            ".ipv6_pool.prefixes[0]: prefix must be an IPv6 network with no host bits set",
        ),
        (
            {"ipv6_pool": {"prefixes": [{"prefix": "2001:db8:110::/64", "length": 48}]}},
            ".ipv6_pool.prefixes[0]: length must be between the prefix's own length (64) and 128",
        ),
        (
            {"ipv6_pool": {"delegate": [{"prefix": "2001:db8:110::/48", "length": 56}]}},
            ".ipv6_pool.delegate[0]: 2001:db8:110::/48 overlaps 2001:db8:110::/49",
        ),
        ({"ppp": {"ipv6": "deny"}}, ".ppp.ipv6: is deny but ipv6_pool has prefixes"),
        (
            {"dns": {"ipv4": ["192.0.2.1", "192.0.2.2", "192.0.2.3"]}},
            ".dns.ipv4: accel-ppp offers at most two",
        ),
        ({"dns": {"ipv6": ["192.0.2.1"]}}, ".dns.ipv6[0]: must be an IPv6 address"),
        (
            {"radius": {"servers": [{"address": "radius.example", "secret": "x"}]}},
            ".radius.servers[0].address",
        ),
        ({"radius": {"dae": {"address": "127.0.0.1", "secret": "x"}}}, ".radius.dae: needs radius.servers"),
        ({"connlimit": {"enabled": True, "limit": "lots"}}, ".connlimit.limit: must be N or N/"),
        ({"modules_extra": ["pppd compat"]}, ".modules_extra[0]: must be a module name"),
    ],
)
def test_each_error_names_the_field_and_the_value(over, expected):
    errors = accel_ppp_errors([lab_instance(**over)])
    assert any(expected in error for error in errors), errors


def users(*changes: dict) -> dict:
    """The lab's four users with the first ones changed."""
    base = lab_instance()["chap_secrets"]["users"]
    return {
        "users": [{**user, **change} for user, change in zip(base, [*changes, {}, {}, {}, {}], strict=False)]
    }


@pytest.mark.parametrize(
    ("chap", "expected"),
    [
        (users({"user": "user 1"}), ".users[0].user: must not contain blanks"),
        (users({"user": "user1\nuser9"}), ".users[0].user: must not contain blanks, line breaks"),
        (users({"user": "#user1"}), ".users[0].user: must not start with #"),
        (users({}, {"user": "user1"}), ".users[1].user: 'user1' is listed twice"),
        (users({}, {"ipv4": "100.64.0.11"}), ".users[1].ipv4: 100.64.0.11 is given to two users"),
        (users({"ipv4": "100.64.0.1"}), ".users[0].ipv4: 100.64.0.1 (user 'user1') is the gateway address"),
        (users({"ipv4": "100.64.0"}), ".users[0].ipv4: must be an IPv4 address, got '100.64.0'"),
        (users({"password": "pa ss"}), ".users[0].password: must not contain blanks"),
        (
            users({"mac": "02:00:00:00:c0"}),
            ".users[0].mac: must be a unicast MAC of six octets, got '02:00:00:00:c0'",
        ),
        (users({"mac": "03:00:00:00:c0:01"}), ".users[0].mac: must be a unicast MAC of six octets"),
        (users({"mac": "02:00:00:00-c0:01"}), ".users[0].mac: must be a unicast MAC of six octets"),
        (users({"password": "'quoted'"}), ".users[0].password: must not start with a quote"),
        ({"enabled": False}, ".chap_secrets.enabled: is false but chap_secrets.users are given"),
    ],
)
def test_bad_users(chap, expected):
    errors = accel_ppp_errors([lab_instance(chap_secrets=chap)])
    assert any(expected in error for error in errors), errors


def test_macs_in_either_notation_pass():
    chap = users({"mac": "02:00:00:00:C0:01"}, {"mac": "02-00-00-00-c0-02"})
    assert accel_ppp_errors([lab_instance(chap_secrets=chap)]) == []


def test_static_addresses_need_the_gateway():
    errors = accel_ppp_errors([lab_instance(ipv4_gateway=None, ip_pool={"ranges": []})])
    assert "is required for static addresses in chap-secrets (user 'user1')" in errors[0]


def test_a_cli_on_loopback_may_go_without_a_password():
    assert accel_ppp_errors([lab_instance(cli={"address": "127.0.0.2", "password": None})]) == []


def test_secrets_never_appear_in_the_messages():
    inst = lab_instance(
        cli={"password": "bad secret"}, radius={"servers": [{"address": "x", "secret": "two words"}]}
    )
    inst["chap_secrets"]["users"][0]["password"] = "pass with blank"
    errors = accel_ppp_errors([inst])
    assert len(errors) == 4, errors
    assert not [
        error for error in errors if "secret" in error.split(":")[-1] and "value not shown" not in error
    ]
    for secret in ("bad secret", "two words", "pass with blank"):
        assert not [error for error in errors if secret in error]


def test_users_marked_absent_are_not_checked():
    inst = lab_instance()
    inst["chap_secrets"]["users"].append({"user": "gone user", "password": "x", "state": "absent"})
    assert accel_ppp_errors([inst]) == []


def test_every_error_at_once_and_duplicates_across_instances():
    errors = accel_ppp_errors(
        [
            lab_instance(pppoe={"pado_delay": "x"}, ipv4_gateway="nope"),
            lab_instance(),
            lab_instance(name="bng2"),
        ]
    )
    assert any(".pppoe.pado_delay" in e for e in errors)
    assert any(".ipv4_gateway" in e for e in errors)
    assert any("accel_ppp_instances[1] (bng1).name: 'bng1' is used by two instances" in e for e in errors)
    assert any("accel_ppp_instances[2] (bng2).cli: listens where instance bng1 does" in e for e in errors)


def test_an_absent_instance_needs_only_its_name():
    assert accel_ppp_errors([{"name": "old", "state": "absent"}]) == []


def test_a_shapeless_instance_is_reported_not_raised():
    errors = accel_ppp_errors([{"name": "x", "pppoe": "eth0"}])
    assert errors and "is not shaped as meta/argument_specs.yml describes" in errors[0]


def test_not_a_list_is_refused():
    with pytest.raises(AnsibleFilterError, match="expects the list of instances"):
        accel_ppp_errors({"name": "bng1"})


# --- accel_ppp_modules -----------------------------------------------------------------------


def test_modules_of_the_lab_instance():
    assert accel_ppp_modules(lab_instance()) == [
        "log_file",
        "chap-secrets",
        "pppoe",
        "auth_chap_md5",
        "auth_pap",
        "ippool",
        "ipv6_nd",
        "ipv6_dhcp",
        "ipv6pool",
    ]


def test_modules_follow_the_settings():
    inst = lab_instance(
        connlimit={"enabled": True},
        radius={"servers": [{"address": "192.0.2.1", "secret": "s"}]},
        chap_secrets={"enabled": False, "users": []},
        auth={"protocols": ["pap", "mschap_v2"]},
        ip_pool={"ranges": []},
        shaper={"enabled": True},
        ipv6_pool={"prefixes": [], "delegate": []},
        modules_extra=["sigchld", "pppd_compat", "pppoe"],
    )
    assert accel_ppp_modules(inst) == [
        "log_file",
        "connlimit",
        "radius",
        "pppoe",
        "auth_mschap_v2",
        "auth_pap",
        "shaper",
        "sigchld",
        "pppd_compat",
    ]


# --- accel_ppp_conf_changes ------------------------------------------------------------------

# The configuration that worked in the reference lab (shared/reference/accel-ppp-1.14.0/NOTES.md).
BASE = """\
# managed
[modules]
log_file
pppoe
auth_pap
auth_chap_md5
chap-secrets
ippool

[core]
thread-count=2

[ppp]
mtu=1492
mru=1492
ipv4=require
ipv6=deny
lcp-echo-interval=5
lcp-echo-failure=3

[pppoe]
ac-name=lab-bng
called-sid=mac
pado-delay=0
interface=eth0

[chap-secrets]
gw-ip-address=100.64.0.1
chap-secrets=/etc/accel/chap-secrets

[ip-pool]
gw-ip-address=100.64.0.1
100.64.1.10-250

[ipv6-pool]
2001:db8:110::/48,64
delegate=2001:db8:120::/48,56

[radius]
server=192.0.2.1,secret1,auth-port=1812
dae-server=127.0.0.1:3799,daesecret

[log]
log-file=/var/log/accel-ppp/bng1.log
level=3

[cli]
tcp=127.0.0.1:2001
password=cli-secret
"""


def changed(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new)


NOTHING = {
    "restart": [],
    "reload": [],
    "interfaces_add": [],
    "interfaces_del": [],
    "unknown": False,
    "differs": False,
}


def test_the_same_configuration_needs_nothing():
    assert accel_ppp_conf_changes(BASE, BASE) == NOTHING


def test_comments_blank_lines_and_blanks_at_the_ends_do_not_count():
    new = BASE.replace("# managed\n", "# managed by someone else\n\n").replace("mtu=1492", "  mtu=1492   ")
    assert accel_ppp_conf_changes(BASE, new) == NOTHING


@pytest.mark.parametrize(
    ("old", "new", "sections"),
    [
        ("lcp-echo-interval=5", "lcp-echo-interval=10", ["ppp"]),
        ("ac-name=lab-bng", "ac-name=isplab-bng", ["pppoe"]),
        ("pado-delay=0", "pado-delay=500", ["pppoe"]),
        (
            "gw-ip-address=100.64.0.1\nchap-secrets",
            "gw-ip-address=100.64.0.2\nchap-secrets",
            ["chap-secrets"],
        ),
        ("level=3", "level=5", ["log"]),
        ("password=cli-secret", "password=new-secret", ["cli"]),
        ("server=192.0.2.1,secret1", "server=192.0.2.2,secret1", ["radius"]),
        ("dae-server=127.0.0.1:3799,daesecret", "dae-server=127.0.0.1:3799,other", ["radius"]),
        ("[cli]", "[dns]\ndns1=192.0.2.53\n\n[cli]", ["dns"]),
        ("mtu=1492\nmru=1492", "mtu=1480\nmru=1480", ["ppp"]),
    ],
)
def test_what_reload_covers(old, new, sections):
    result = accel_ppp_conf_changes(BASE, changed(old, new))
    assert result["restart"] == []
    assert result["reload"] == sections
    assert result["differs"] is True


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("ippool\n", "ippool\nshaper\n", "[modules] changed (the module list is loaded at start)"),
        ("thread-count=2", "thread-count=4", "[core] changed"),
        ("100.64.1.10-250", "100.64.1.10-200", "[ip-pool] changed (ippool reads its pools at start only)"),
        ("delegate=2001:db8:120::/48,56", "delegate=2001:db8:120::/48,60", "[ipv6-pool] changed"),
        ("tcp=127.0.0.1:2001", "tcp=127.0.0.1:2002", "[cli] tcp changed (read at start only)"),
        ("log-file=/var/log/accel-ppp/bng1.log", "log-file=/var/log/bng1.log", "[log] log-file changed"),
        (
            "dae-server=127.0.0.1:3799,daesecret",
            "dae-server=127.0.0.1:3800,daesecret",
            "[radius] dae-server address",
        ),
        ("interface=eth0", "interface=eth0,padi-limit=100", "[pppoe] options of interface eth0 changed"),
        ("[cli]", "[l2tp]\nverbose=1\n\n[cli]", "[l2tp] changed (not known to be re-read on reload)"),
    ],
)
def test_what_needs_a_restart(old, new, reason):
    result = accel_ppp_conf_changes(BASE, changed(old, new))
    assert any(item.startswith(reason) for item in result["restart"]), result
    assert result["differs"] is True


def test_served_interfaces_change_through_the_cli_not_a_restart():
    result = accel_ppp_conf_changes(BASE, changed("interface=eth0", "interface=eth1\ninterface=eth2"))
    assert result == {
        **NOTHING,
        "interfaces_add": ["eth1", "eth2"],
        "interfaces_del": ["eth0"],
        "differs": True,
    }


def test_reload_and_restart_reasons_together():
    new = changed("tcp=127.0.0.1:2001", "tcp=127.0.0.1:2002").replace("level=3", "level=4")
    result = accel_ppp_conf_changes(BASE, new)
    assert result["restart"] == ["[cli] tcp changed (read at start only)"]
    assert result["reload"] == ["log"]


def test_no_value_ever_appears_in_the_result():
    new = changed("password=cli-secret", "password=new-secret").replace("secret1", "secret2")
    new = new.replace("tcp=127.0.0.1:2001", "tcp=127.0.0.1:2002")
    text = repr(accel_ppp_conf_changes(BASE, new))
    for value in ("cli-secret", "new-secret", "secret1", "secret2", "2002", "daesecret"):
        assert value not in text


def test_unknown_running_configuration_plans_a_reload():
    result = accel_ppp_conf_changes(None, BASE)
    assert result["unknown"] is True and result["differs"] is True and result["restart"] == []
    assert result["reload"] == ["chap-secrets", "cli", "log", "ppp", "pppoe", "radius"]


def test_items_are_read_as_accel_ppp_reads_them():
    # Blanks around `=` do not count; a repeated section continues the first (triton/conf_file.c).
    new = changed("mtu=1492", "mtu = 1492").replace(
        "[cli]\ntcp=127.0.0.1:2001", "[cli]\n[core]\n[cli]\ntcp=127.0.0.1:2001"
    )
    assert accel_ppp_conf_changes(BASE, new) == NOTHING


def test_texts_are_required():
    with pytest.raises(AnsibleFilterError):
        accel_ppp_conf_changes(BASE, None)


def test_what_follows_a_name_and_blanks_is_not_part_of_it():
    # accel-pppd reads `pppoe  # the server` as the module pppoe (a name ends at a blank, and a
    # value needs `=` or `,`): the same [modules], no restart.
    new = changed("log_file\npppoe\n", "log_file\npppoe  # the server\n")
    assert accel_ppp_conf_changes(BASE, new) == NOTHING
