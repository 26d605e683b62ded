# SPDX-License-Identifier: GPL-3.0-or-later
"""The accel-ppp configuration parser, against the rules of accel-pppd 1.14.0 (triton/conf_file.c)."""

from __future__ import annotations

import pytest

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_conf import (
    CONF_LINE_MAX,
    ConfItem,
    ConfProblem,
    parse_conf,
    split_item,
)

# Item lines and how accel-pppd splits them into a name and a value.
SPLITS = {
    "mtu=1492": ("mtu", "1492"),
    "mtu = 1492": ("mtu", "1492"),
    "password=": ("password", ""),
    "server=192.0.2.1,secret1,auth-port=1812": ("server", "192.0.2.1,secret1,auth-port=1812"),
    "interface=eth0,padi-limit=0": ("interface", "eth0,padi-limit=0"),
    # Bare lines: a range of a pool, a prefix with its length, a module.
    "100.64.1.10-250": ("100.64.1.10-250", None),
    "2001:db8:110::/48,64": ("2001:db8:110::/48,64", None),
    "pppoe": ("pppoe", None),
    # A name ends at a blank; what follows counts only after `=` or `,`.
    "pppoe  # the server": ("pppoe", None),
    "gw-ip-address , 100.64.0.1": ("gw-ip-address", "100.64.0.1"),
    # A tab does not end the name by itself (accel-pppd cuts only at a blank or the `=`).
    "mtu\t=1492": ("mtu\t", "1492"),
    "mtu\t1492": ("mtu\t1492", None),
}


@pytest.mark.parametrize(("line", "item"), SPLITS.items())
def test_items_split_as_accel_ppp_splits_them(line, item):
    assert split_item(line) == item


def test_sections_comments_blanks_and_problems():
    text = (
        "stray=1\n"
        "# comment\n"
        "  [modules]  \n"
        "\tlog_file \t\n"
        "[ppp\n"
        "mtu=1492\r\n"
        "[cli]\n"
        "[modules]\n"
        "pppoe\n"
        f"[cli]\npassword={'x' * CONF_LINE_MAX}\n"
    )
    conf = parse_conf(text)
    assert conf.sections == {
        "modules": [("log_file", None), ("mtu", "1492\r"), ("pppoe", None)],
        "cli": [("password", "x" * CONF_LINE_MAX)],
    }
    # Only blanks and tabs are dropped at the ends: accel-pppd keeps the \r (here in [modules],
    # where the broken header left the item).
    assert conf.items[1] == ConfItem(6, "modules", "mtu", "1492\r")
    assert conf.problems == [
        ConfProblem(1, "option outside any section"),
        ConfProblem(5, "section header without ']'"),
        ConfProblem(11, f"line of {CONF_LINE_MAX + 10} bytes; accel-ppp cuts lines at {CONF_LINE_MAX}"),
    ]


def test_line_lengths_count_bytes():
    text = "[ppp]\nname=" + "é" * 509 + "\n"  # 5 + 1018 bytes and the newline: 1024
    assert [p.line for p in parse_conf(text).problems] == [2]
    assert parse_conf(text.replace("é", "e")).problems == []
