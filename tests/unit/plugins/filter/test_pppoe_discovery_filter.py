# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter pppoe_discovery_filter, and the role pppoe_server's discovery.tc that it writes: the
same bytes as the template wrote when it held the tc lines itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible.plugins.filter.core import comment
from jinja2 import Environment

from ansible_collections.isplab.bng.plugins.filter.pppoe_discovery import FilterModule

ROOT = Path(__file__).resolve().parents[4]
HEADER = (
    "#\n# Ansible managed\n#\n"
    "# How late the server in {namespace} answers discovery (rp-pppoe has no PADO-delay):\n"
    "# pado_delay {delay} (0 at once, -1 never, else milliseconds). PADOs (PPPoE\n"
    "# discovery, code 0x07) leave through a netem band that delays them, or are dropped;"
    " nothing else is touched.\n"
)
PRIO = "qdisc add dev {0} root handle 1: prio bands 4 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1\n"
MATCH = "filter add dev {0} parent 1: protocol 0x8863 prio 1 u32 match u8 0x07 0xff at 1"
# discovery.tc as Ansible rendered it before the filter existed, for the lab's two servers (bng1
# at once, bng2 500 ms late), a server that never answers on two interfaces, and the defaults.
BEFORE = [
    (
        {"namespace": "bng1", "interfaces": ["access"], "pado_delay": 0},
        HEADER.format(namespace="bng1", delay=0),
    ),
    (
        {"namespace": "bng2", "interfaces": ["access"], "pado_delay": 500},
        HEADER.format(namespace="bng2", delay=500)
        + PRIO.format("access")
        + "qdisc add dev access parent 1:4 handle 40: netem delay 500ms\n"
        + MATCH.format("access")
        + " flowid 1:4\n",
    ),
    (
        {"namespace": "bng3", "interfaces": ["access", "access2"], "pado_delay": -1},
        HEADER.format(namespace="bng3", delay=-1)
        + PRIO.format("access")
        + MATCH.format("access")
        + " action drop\n"
        + PRIO.format("access2")
        + MATCH.format("access2")
        + " action drop\n",
    ),
    ({"namespace": "bng4"}, HEADER.format(namespace="bng4", delay=0)),
]


def render(server: dict) -> str:
    """discovery.tc for one instance, with the template module's settings (trim_blocks, the
    trailing newline kept) and the filters it uses."""
    env = Environment(trim_blocks=True, keep_trailing_newline=True)
    env.filters["comment"] = comment
    env.filters.update({f"isplab.bng.{name}": f for name, f in FilterModule().filters().items()})
    template = (ROOT / "roles/pppoe_server/templates/discovery.tc.j2").read_text()
    return env.from_string(template).render(ansible_managed="Ansible managed", item=[server, "discovery.tc"])


@pytest.mark.parametrize(("server", "text"), BEFORE, ids=[s["namespace"] for s, _text in BEFORE])
def test_the_role_writes_the_same_discovery_tc_as_before(server, text):
    assert render(server) == text


def test_one_interface_or_a_list():
    pppoe_discovery_filter = FilterModule().filters()["pppoe_discovery_filter"]
    assert pppoe_discovery_filter("access", 500) == pppoe_discovery_filter(["access"], 500)
    assert pppoe_discovery_filter(["access", "access2"]) == ""


@pytest.mark.parametrize(
    ("interfaces", "delay", "message"),
    [
        (None, 0, "an interface name or a list of them, got None"),
        (["access", ""], 0, "an interface name or a list of them"),
        ("access", "500", "pado_delay must be an integer (0, -1 or milliseconds), got '500'"),
        ("access", True, "pado_delay must be an integer"),
    ],
)
def test_bad_input_is_a_filter_error(interfaces, delay, message):
    pppoe_discovery_filter = FilterModule().filters()["pppoe_discovery_filter"]
    with pytest.raises(AnsibleFilterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        pppoe_discovery_filter(interfaces, delay)
