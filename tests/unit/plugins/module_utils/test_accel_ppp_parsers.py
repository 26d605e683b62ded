# SPDX-License-Identifier: GPL-3.0-or-later
"""The CLI reply parsers against every reply recorded from a real accel-ppp 1.14.0."""

from __future__ import annotations

import json

import pytest

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli import (
    AccelPppAlreadyExistsError,
    AccelPppCommandError,
    AccelPppInvalidArgumentError,
    AccelPppNoSuchDeviceError,
    AccelPppRegexError,
    AccelPppSyntaxError,
    AccelPppUnknownColumnError,
    AccelPppUnknownCommandError,
    raise_for_error_reply,
)
from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_parsers import (
    ParseError,
    parse_ippool,
    parse_pppoe_interfaces,
    parse_sessions,
    parse_single_value,
    parse_stat,
)
from ansible_collections.isplab.bng.tests.unit.plugins.module_utils.fake_accel_ppp import FIXTURES

TRANSCRIPTS = ("cli-4-sessions.json", "cli-30-sessions.json")
ALL_EXCHANGES = [
    pytest.param(
        name, index, exchange["command"], exchange["response"], id=f"{name}#{index}:{exchange['command']}"
    )
    for name in TRANSCRIPTS
    for index, exchange in enumerate(json.loads((FIXTURES / name).read_text())["exchanges"])
]

# The error lines the recordings hold, and the exception each must raise.
ERROR_REPLIES = {
    "unknown column bogus-col\r\n": AccelPppUnknownColumnError,
    "unknown column nosuchcol\r\n": AccelPppUnknownColumnError,
    "command unknown\r\n": AccelPppUnknownCommandError,
    "syntax error\r\n": AccelPppSyntaxError,
    "match: missing closing parenthesis at 1\r\n": AccelPppRegexError,
    "invalid argument\r\n": AccelPppInvalidArgumentError,
    "error: already exists\r\n": AccelPppAlreadyExistsError,
    "nosuchif: No such device\r\n": AccelPppNoSuchDeviceError,
}


def parse_reply(command: str, reply: str):
    """What the client does with a reply: error check, then the parser for the command."""
    raise_for_error_reply(command, reply)
    if command.startswith("show sessions"):
        return parse_sessions(reply)
    if command == "show stat":
        return parse_stat(reply)
    if command == "show ippool":
        return parse_ippool(reply)
    if command == "pppoe interface show":
        return parse_pppoe_interfaces(reply)
    if command == "show version" or command.startswith("pppoe show "):
        return parse_single_value(reply)
    return reply


@pytest.mark.parametrize(("name", "index", "command", "reply"), ALL_EXCHANGES)
def test_every_recorded_reply_is_classified(name, index, command, reply):
    """Each recorded reply is an error of the right type, or parses, or is a plain success."""
    if reply in ERROR_REPLIES:
        with pytest.raises(ERROR_REPLIES[reply]):
            parse_reply(command, reply)
        return
    parsed = parse_reply(command, reply)
    if command.startswith("show sessions"):
        assert parsed, "every recorded table has rows"
        assert all(set(row) == set(parsed[0]) for row in parsed)
    elif command.startswith(("terminate", "pppoe set")):
        assert parsed == ""
    elif command == "help":
        assert parsed.startswith("show stat - shows various statistics information\r\n")
    else:
        assert parsed not in ("", [], {})


def test_error_replies_carry_their_details():
    with pytest.raises(AccelPppUnknownColumnError) as column:
        raise_for_error_reply("show sessions bogus-col", "unknown column bogus-col\r\n")
    assert column.value.column == "bogus-col"
    with pytest.raises(AccelPppRegexError) as regex:
        raise_for_error_reply("show sessions match username (", "match: missing closing parenthesis at 1\r\n")
    assert (regex.value.detail, regex.value.offset) == ("missing closing parenthesis", 1)
    with pytest.raises(AccelPppNoSuchDeviceError) as device:
        raise_for_error_reply("pppoe interface add nosuchif", "nosuchif: No such device\r\n")
    assert device.value.ifname == "nosuchif"
    with pytest.raises(AccelPppCommandError, match="boom"):
        raise_for_error_reply("x", "error: boom\r\n")


@pytest.mark.parametrize("reply", ["", "1.14.0\r\n", " username \r\n----------\r\n command unknown \r\n"])
def test_normal_replies_are_not_errors(reply):
    raise_for_error_reply("show", reply)


FOUR_SESSIONS = [
    ("ppp0", "user1", "02:00:00:00:c0:01", "100.64.0.11", "d656a8388f770e57", 22, 44, 30),
    ("ppp1", "user2", "02:00:00:00:c0:02", "100.64.0.12", "d656a8388f770e58", 22, 64, 40),
    ("ppp2", "user3", "02:00:00:00:c0:03", "100.64.0.13", "d656a8388f770e59", 21, 44, 30),
    ("ppp3", "user4", "02:00:00:00:c0:04", "100.64.0.14", "d656a8388f770e5a", 20, 44, 30),
]


def test_four_session_table_exact(transcript):
    table = transcript("cli-4-sessions.json")
    command = (
        "show sessions ifname,username,ip,calling-sid,called-sid,sid,"
        "uptime-raw,rx-bytes-raw,tx-bytes-raw,state,type"
    )
    rows = parse_sessions(table[command][0])
    got = [
        (
            r["ifname"],
            r["username"],
            r["calling_sid"],
            r["ip"],
            r["sid"],
            r["uptime_raw"],
            r["rx_bytes_raw"],
            r["tx_bytes_raw"],
        )
        for r in rows
    ]
    assert got == FOUR_SESSIONS
    assert {r["called_sid"] for r in rows} == {"02:00:00:00:0b:01"}
    assert {(r["state"], r["type"]) for r in rows} == {("active", "pppoe")}


def test_default_table_has_empty_cells_as_none(transcript):
    rows = parse_sessions(transcript("cli-4-sessions.json")["show sessions"][0])
    assert [r["ip"] for r in rows] == ["100.64.0.11", "100.64.0.12", "100.64.0.13", "100.64.0.14"]
    assert [r["uptime"] for r in rows] == ["00:00:22", "00:00:22", "00:00:21", "00:00:20"]
    assert all(r["comp"] is None for r in rows)
    assert list(rows[0]) == ["ifname", "username", "calling_sid", "ip", "type", "comp", "state", "uptime"]


def test_thirty_session_table_every_column(transcript):
    table = transcript("cli-30-sessions.json")
    command = next(c for c in table if c.startswith("show sessions ifname,username,ip,ip6"))
    reply = table[command][0]
    assert len(reply) > 8000
    rows = parse_sessions(reply)
    assert len(rows) == 30
    assert len(rows[0]) == 23
    assert [r["username"] for r in rows] == [f"user{i}" for i in range(1, 31)]
    assert [r["calling_sid"] for r in rows] == [f"02:00:00:00:c0:{i:02x}" for i in range(1, 31)]
    assert [r["ip"] for r in rows] == [f"100.64.0.{10 + i}" for i in range(1, 31)]
    assert len({r["sid"] for r in rows}) == 30
    first = rows[0]
    assert first["ifname"] == "ppp1"
    assert (first["rx_pkts"], first["tx_pkts"], first["rx_bytes_raw"], first["tx_bytes_raw"]) == (
        4,
        3,
        44,
        30,
    )
    assert (first["rx_bytes"], first["tx_bytes"], first["uptime_raw"]) == ("44 B", "30 B", 96)
    assert (first["ip6"], first["ip6_dp"], first["service_name"], first["vrf"]) == (None, None, None, None)
    for column in ("uptime_raw", "rx_bytes_raw", "tx_bytes_raw", "rx_pkts", "tx_pkts"):
        assert all(isinstance(r[column], int) and not isinstance(r[column], bool) for r in rows), column
    assert all(r["inbound_if"] == "eth0" for r in rows)


def test_match_reply_from_recording(transcript):
    table = transcript("cli-30-sessions.json")
    rows = parse_sessions(table["show sessions username,sid order username match calling-sid c0:1"][0])
    assert [r["username"] for r in rows] == [f"user{i}" for i in range(16, 31)]
    assert rows[0] == {"username": "user16", "sid": "e9218d4a806d6498"}


def test_single_column_table():
    assert parse_sessions(" username \r\n----------\r\n user1    \r\n user2    \r\n") == [
        {"username": "user1"},
        {"username": "user2"},
    ]


def test_table_without_rows():
    assert parse_sessions(" username |     ip      \r\n----------+-------------\r\n") == []


def test_value_with_a_pipe_is_cut_by_column_widths():
    reply = " username | ip \r\n----------+----\r\n a|b      | x  \r\n"
    assert parse_sessions(reply) == [{"username": "a|b", "ip": "x"}]


def test_plain_newlines_are_accepted():
    assert parse_sessions(" ifname \n--------\n ppp0   \n") == [{"ifname": "ppp0"}]


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "command unknown\r\n",
        " username \r\n user1 \r\n",
        " a | b \r\n---+---+---\r\n",
        " rx-pkts \r\n---------\r\n lots    \r\n",
    ],
)
def test_not_a_table_is_refused(reply):
    with pytest.raises(ParseError):
        parse_sessions(reply)


def test_stat_four_sessions(transcript):
    stat = parse_stat(transcript("cli-4-sessions.json")["show stat"][0])
    assert stat["uptime"] == "0.00:00:24"
    assert stat["uptime_seconds"] == 24
    assert stat["cpu_percent"] == 0
    assert (stat["mem_rss_kb"], stat["mem_virt_kb"]) == (5432, 175140)
    assert stat["sessions"] == {"starting": 0, "active": 4, "finishing": 0}
    assert stat["core"]["mempool_allocated"] == 150678
    assert stat["core"]["timer_count"] == 4
    assert stat["pppoe"] == {
        "starting": 0,
        "active": 4,
        "delayed_pado": 0,
        "recv_padi": 4,
        "drop_padi": 0,
        "sent_pado": 4,
        "recv_padr": 4,
        "recv_padr_dup": 0,
        "sent_pads": 4,
        "filtered": 0,
    }


def test_stat_thirty_sessions(transcript):
    stat = parse_stat(transcript("cli-30-sessions.json")["show stat"][0])
    assert stat["uptime_seconds"] == 99
    assert (stat["mem_rss_kb"], stat["mem_virt_kb"]) == (5524, 175132)
    assert stat["sessions"]["active"] == 30
    assert (stat["pppoe"]["recv_padr"], stat["pppoe"]["recv_padr_dup"]) == (30, 0)


def test_stat_packed_pair_and_days():
    stat = parse_stat("uptime: 2.03:04:05\r\npppoe:\r\n  recv PADR(dup): 17(3)\r\n")
    assert stat["uptime_seconds"] == ((2 * 24 + 3) * 60 + 4) * 60 + 5
    assert stat["pppoe"] == {"recv_padr": 17, "recv_padr_dup": 3}


def test_stat_deeper_and_empty_sections():
    stat = parse_stat(
        "a:\r\nradius(1, 10.0.0.1):\r\n  state: active\r\n  queue:\r\n    len: 2\r\n  fail: 1\r\nz: 3\r\n"
    )
    assert stat == {"a": {}, "radius_1_10_0_0_1": {"state": "active", "queue": {"len": 2}, "fail": 1}, "z": 3}


@pytest.mark.parametrize("reply", ["", "command unknown\r\n", "a: 1\r\n   b: 2\r\n"])
def test_stat_refuses_other_text(reply):
    with pytest.raises(ParseError):
        parse_stat(reply)


def test_ippool(transcript):
    for name in TRANSCRIPTS:
        pools = parse_ippool(transcript(name)["show ippool"][0])
        assert pools == [{"name": "<default>", "total": 241, "used": 0, "available": 241, "usage_percent": 0}]


def test_ippool_two_pools():
    reply = (
        "IP Pool Usage Report\r\n====\r\n<default>\r\n    total: 2\r\n"
        "pool1\r\n    total: 10\r\n    usage: 50%\r\n"
    )
    assert parse_ippool(reply) == [
        {"name": "<default>", "total": 2},
        {"name": "pool1", "total": 10, "usage_percent": 50},
    ]


def test_pppoe_interfaces(transcript):
    assert parse_pppoe_interfaces(transcript("cli-4-sessions.json")["pppoe interface show"][0]) == [
        {"interface": "eth0", "connections": 4, "state": "active"}
    ]
    assert parse_pppoe_interfaces(transcript("cli-30-sessions.json")["pppoe interface show"][0]) == [
        {"interface": "eth0", "connections": 30, "state": "active"}
    ]


def test_pppoe_interfaces_empty_and_stopping():
    header = "interface:   connections:    state:\r\n-----------------------------------\r\n"
    assert parse_pppoe_interfaces(header) == []
    assert parse_pppoe_interfaces(header + "  vlan100              0      stop\r\n") == [
        {"interface": "vlan100", "connections": 0, "state": "stop"}
    ]


def test_pppoe_interfaces_refuses_other_text():
    with pytest.raises(ParseError):
        parse_pppoe_interfaces("command unknown\r\n")


def test_single_values(transcript):
    table = transcript("cli-30-sessions.json")
    assert parse_single_value(table["pppoe show AC-Name"][0]) == "lab-bng"
    assert parse_single_value(table["pppoe show Service-Name"][0]) == "*"
    assert parse_single_value(table["pppoe show PADO-delay"][0]) == "0,100:100,-1:500"
    assert parse_single_value(transcript("cli-4-sessions.json")["show version"][0]) == "1.14.0"
    with pytest.raises(ParseError):
        parse_single_value("a\r\nb\r\n")
