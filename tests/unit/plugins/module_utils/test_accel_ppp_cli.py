# SPDX-License-Identifier: GPL-3.0-or-later
"""The CLI client over real TCP against the fake accel-ppp server."""

from __future__ import annotations

import os
import re
import socket
import threading
import time

import pytest

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli import (
    AccelPppAlreadyExistsError,
    AccelPppAuthError,
    AccelPppCli,
    AccelPppConnectionError,
    AccelPppInputError,
    AccelPppInvalidArgumentError,
    AccelPppNoSuchDeviceError,
    AccelPppRegexError,
    AccelPppReplyError,
    AccelPppTimeoutError,
    AccelPppUnknownColumnError,
    AccelPppUnknownCommandError,
    check_line,
    check_word,
    exact_regex,
    is_read_only,
    run_in_netns,
)
from ansible_collections.isplab.bng.tests.unit.plugins.module_utils.fake_accel_ppp import (
    ALL_COLUMNS_COMMAND,
    BngEmulator,
    TranscriptHandler,
    load_transcript,
    recorded_sessions,
    render_table,
)


@pytest.fixture
def replay30(fake_cli):
    return fake_cli(TranscriptHandler(load_transcript("cli-30-sessions.json")))


def client(server, **options) -> AccelPppCli:
    options.setdefault("timeout", 3)
    return AccelPppCli(host=server.host, port=server.port, **options)


# -- the protocol -------------------------------------------------------------------------


def test_reply_far_over_1024_bytes_is_read_to_eof(replay30):
    reply = client(replay30).command(ALL_COLUMNS_COMMAND)
    assert reply == load_transcript("cli-30-sessions.json")[ALL_COLUMNS_COMMAND][0]
    assert len(reply) == 8672
    assert replay30.commands == [ALL_COLUMNS_COMMAND]


def test_one_connection_per_command(replay30):
    cli = client(replay30)
    assert cli.pppoe_show("Service-Name") == "*"
    assert cli.pppoe_show("AC-Name") == "lab-bng"
    assert replay30.connections == 2
    assert replay30.commands == ["pppoe show Service-Name", "pppoe show AC-Name"]


def test_request_is_the_command_framed_then_exit():
    """The exact bytes on the wire: password line, the command framed by `show version`, exit."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    received = []

    def serve():
        conn, _peer_address = listener.accept()
        data = b""
        while not data.endswith(b"exit\n"):
            data += conn.recv(1024)
        received.append(data)
        conn.sendall(b"1.14.0\r\n" * 3)
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        AccelPppCli(port=listener.getsockname()[1], password="s3cret", timeout=3).command("show version")
    finally:
        thread.join(5)
        listener.close()
    assert received == [b"s3cret\nshow version\nshow version\nshow version\nexit\n"]


def test_show_sessions_every_column(replay30):
    columns = ALL_COLUMNS_COMMAND.split()[2].split(",")
    rows = client(replay30).show_sessions(columns)
    assert len(rows) == 30
    assert rows[29]["username"] == "user30"
    assert rows[29]["calling_sid"] == "02:00:00:00:c0:1e"
    assert rows[29]["rx_pkts"] == 4


def test_show_sessions_with_order_and_match(replay30):
    rows = client(replay30).show_sessions(
        ["username", "sid"], match=("calling-sid", "c0:1"), order="username"
    )
    assert replay30.commands == ["show sessions username,sid order username match calling-sid c0:1"]
    assert len(rows) == 15


def test_stat_ippool_interfaces(replay30):
    cli = client(replay30)
    assert cli.show_stat()["pppoe"]["recv_padr"] == 30
    assert cli.show_ippool()[0]["available"] == 241
    assert cli.pppoe_interfaces() == [{"interface": "eth0", "connections": 30, "state": "active"}]


def test_empty_success_replies(replay30):
    cli = client(replay30)
    cli.pppoe_set("PADO-delay", "0,100:100,-1:500")
    assert cli.pppoe_show("PADO-delay") == "0,100:100,-1:500"


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda cli: cli.pppoe_set("PADO-delay", "nonsense"), AccelPppInvalidArgumentError),
        (lambda cli: cli.pppoe_interface_add("eth0"), AccelPppAlreadyExistsError),
        (lambda cli: cli.pppoe_interface_add("nosuchif"), AccelPppNoSuchDeviceError),
        (lambda cli: cli.show_sessions(order="nosuchcol"), AccelPppUnknownColumnError),
        (lambda cli: cli.command("no such command"), AccelPppUnknownCommandError),
    ],
)
def test_error_replies_raise_typed_errors(replay30, call, error):
    with pytest.raises(error):
        call(client(replay30))


def test_regex_error_from_server(fake_cli):
    server = fake_cli(BngEmulator())
    with pytest.raises(AccelPppRegexError) as caught:
        client(server).show_sessions(["username"], match=("username", "("))
    assert caught.value.command == "show sessions username match username ("


def test_unparsable_reply_is_a_reply_error(fake_cli):
    server = fake_cli(lambda command: "something else entirely\r\n")
    with pytest.raises(AccelPppReplyError, match="cannot parse the reply to 'show stat'"):
        client(server).show_stat()


# -- passwords ----------------------------------------------------------------------------


def test_right_password(fake_cli):
    server = fake_cli(BngEmulator(), password="s3cret")
    cli = client(server, password="s3cret")
    assert cli.version() == "1.14.0"
    assert server.auth_failures == 0


def test_wrong_password_on_a_command_that_answers(fake_cli):
    server = fake_cli(BngEmulator(), password="s3cret")
    with pytest.raises(AccelPppAuthError, match="password was refused") as caught:
        client(server, password="hunter2").version()
    assert "hunter2" not in str(caught.value)
    assert server.commands == []


def test_wrong_password_on_a_command_that_answers_nothing(fake_cli):
    """terminate answers nothing on success too: the opening `show version` tells them apart."""
    emulator = BngEmulator()
    server = fake_cli(emulator, password="s3cret")
    with pytest.raises(AccelPppAuthError, match="password was refused"):
        client(server, password="wrong").terminate(sid="e9218d4a806d6489")
    assert emulator.terminated == []
    assert server.auth_failures == 1


def test_right_password_and_an_empty_reply_is_success(fake_cli):
    emulator = BngEmulator()
    server = fake_cli(emulator, password="s3cret")
    client(server, password="s3cret").terminate(sid="e9218d4a806d6489", mode="hard")
    assert emulator.terminated == [("e9218d4a806d6489", "hard")]
    assert server.commands == ["terminate sid e9218d4a806d6489 hard"]
    assert server.connections == 1


def test_no_password_sends_no_password_line(fake_cli):
    server = fake_cli(BngEmulator())
    client(server).terminate(sid="e9218d4a806d6489")
    assert server.commands == ["terminate sid e9218d4a806d6489"]


def test_password_given_but_cli_has_none(fake_cli):
    server = fake_cli(BngEmulator())
    with pytest.raises(AccelPppAuthError, match="has none"):
        client(server, password="s3cret").version()
    assert server.commands[0] == "s3cret"


def test_password_given_but_cli_has_none_and_empty_reply(fake_cli):
    """Reply is exactly 'command unknown' (to the password line): the probe decides."""
    server = fake_cli(BngEmulator())
    with pytest.raises(AccelPppAuthError, match="has none"):
        client(server, password="s3cret").terminate(sid="e9218d4a806d6489")


def test_unknown_command_with_a_right_password_is_not_an_auth_error(fake_cli):
    server = fake_cli(BngEmulator(), password="s3cret")
    with pytest.raises(AccelPppUnknownCommandError):
        client(server, password="s3cret").command("frobnicate")


@pytest.mark.parametrize("password", ["a\nb", "a\rb", "", "x" * 1100])
def test_bad_password_refused_without_showing_it(password):
    with pytest.raises(AccelPppInputError, match="password") as caught:
        AccelPppCli(password=password)
    if password:
        assert password not in str(caught.value)


# -- timeouts and unreachable CLIs ----------------------------------------------------------


def test_slow_server_times_out_fast(fake_cli):
    server = fake_cli(BngEmulator(), reply_delay=5)
    start = time.monotonic()
    with pytest.raises(AccelPppTimeoutError, match="no complete reply"):
        client(server, timeout=0.3).version()
    assert time.monotonic() - start < 0.9


def test_server_that_never_answers(fake_cli):
    server = fake_cli(BngEmulator(), silent=True)
    start = time.monotonic()
    with pytest.raises(AccelPppTimeoutError):
        client(server, timeout=0.3).command("show stat")
    assert time.monotonic() - start < 0.9


def test_trickling_server_cannot_hold_the_client():
    """A peer that sends a byte every 0.1 s: the deadline covers the whole reply."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def serve():
        conn, _peer_address = listener.accept()
        while not stop.is_set():
            try:
                conn.sendall(b"x")
            except OSError:
                break
            time.sleep(0.1)
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    start = time.monotonic()
    try:
        with pytest.raises(AccelPppTimeoutError, match="bytes received"):
            AccelPppCli(port=listener.getsockname()[1], timeout=0.5).command("show stat")
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    assert time.monotonic() - start < 1.2


def test_closed_port_is_a_connection_error(closed_port):
    with pytest.raises(AccelPppConnectionError, match="cannot connect") as caught:
        AccelPppCli(port=closed_port, timeout=1).version()
    assert not isinstance(caught.value, AccelPppTimeoutError)
    assert f"127.0.0.1:{closed_port}" in str(caught.value)


def test_ipv6_loopback(closed_port):
    with pytest.raises(AccelPppConnectionError, match=rf"\[::1\]:{closed_port}"):
        AccelPppCli(host="::1", port=closed_port, timeout=1).version()


# -- input checks (before connecting) --------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "bng1.example", "", "127.0.0.1:2001"])
def test_host_must_be_numeric(host):
    with pytest.raises(AccelPppInputError, match="numeric"):
        AccelPppCli(host=host)


@pytest.mark.parametrize(
    ("option", "value"), [("port", 0), ("port", 70000), ("port", "2001"), ("timeout", 0)]
)
def test_bad_port_or_timeout(option, value):
    with pytest.raises(AccelPppInputError, match=option):
        AccelPppCli(**{option: value})


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("user1\nterminate all", "line break"),
        ("user1\r", "line break"),
        ("", "empty"),
        ("   ", "empty or blank"),
        ("user 1", "blanks"),
        ("us\x00er", "control"),
        ("us\ter", "control"),
        ("us\x7fer", "control"),
        (None, "string"),
    ],
)
def test_bad_words_are_refused_naming_field_and_value(value, reason):
    with pytest.raises(AccelPppInputError, match=reason) as caught:
        check_word("username", value)
    assert str(caught.value).startswith("username ")
    assert repr(value) in str(caught.value)


def test_injection_never_reaches_the_server(fake_cli):
    emulator = BngEmulator()
    server = fake_cli(emulator)
    cli = client(server)
    with pytest.raises(AccelPppInputError, match="username"):
        cli.terminate(username="user1\nterminate all")
    with pytest.raises(AccelPppInputError, match="command"):
        cli.command("show stat\nterminate all")
    assert server.connections == 0
    assert emulator.terminated == []


def test_line_and_word_limits():
    check_line("command", "x" * 1022)
    with pytest.raises(AccelPppInputError, match="1024 bytes"):
        check_line("command", "x" * 1023)
    check_line("command", " ".join(["w"] * 100))
    with pytest.raises(AccelPppInputError, match="more than 100 words"):
        check_line("command", " ".join(["w"] * 101))


def test_too_many_columns_refused_before_connecting(closed_port):
    cli = AccelPppCli(port=closed_port)
    with pytest.raises(AccelPppInputError, match="bytes"):
        cli.show_sessions(["username"] * 200)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda cli: cli.terminate(sid="nothex"), "sid"),
        (lambda cli: cli.terminate(ip="100.64.0.256"), "ip"),
        (lambda cli: cli.terminate(ifname="a/b"), "ifname"),
        (lambda cli: cli.terminate(ifname="averyveryverylongname"), "ifname"),
        (lambda cli: cli.terminate(sid="e9218d4a806d6489", mode="brutal"), "mode"),
        (lambda cli: cli.terminate(), "exactly one"),
        (lambda cli: cli.terminate(sid="e9218d4a806d6489", username="u"), "exactly one"),
        (lambda cli: cli.pppoe_show("MTU"), "pppoe setting"),
        (lambda cli: cli.pppoe_set("AC-Name", "two words"), "AC-Name"),
        (lambda cli: cli.show_sessions(["user name"]), "columns"),
        (lambda cli: cli.show_sessions(["username,ip"]), "columns"),
        (lambda cli: cli.show_sessions([]), "columns"),
    ],
)
def test_helpers_check_their_arguments(closed_port, call, field):
    with pytest.raises(AccelPppInputError, match=field):
        call(AccelPppCli(port=closed_port))


# -- exact lookups ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "others"),
    [
        ("a.b", ["axb", "a.bc", "xa.b"]),
        ("user1", ["user10", "user11", "xuser1"]),
        ("a+b", ["aab", "aaab"]),
        ("(x)", ["x"]),
        ("a|b", ["a", "b"]),
        ("[ab]", ["a"]),
        ("a\\d", ["a1"]),
        ("02:00:00:00:c0:01", ["02:00:00:00:c0:010"]),
        ("a$b^c{2}*?", ["a"]),
    ],
)
def test_exact_regex_matches_only_the_value(value, others):
    regex = re.compile(exact_regex(value))
    assert regex.search(value)
    for other in others:
        assert not regex.search(other), other


def test_exact_regex_is_a_single_word():
    assert check_word("match regex", exact_regex("a.b-c:d")) == r"^a\.b\-c\:d$"


def make_sessions(*usernames: str) -> list[dict[str, str]]:
    base = recorded_sessions()[0]
    sessions = []
    for index, username in enumerate(usernames):
        session = dict(base, username=username, ifname=f"ppp{index}", sid=f"{index:016x}")
        session["calling-sid"] = f"02:00:00:00:d0:{index:02x}"
        sessions.append(session)
    return sessions


def test_find_sessions_regex_metacharacter_does_not_over_match(fake_cli):
    server = fake_cli(BngEmulator(make_sessions("axb", "a.b", "a.bc")))
    rows = client(server).find_sessions(["username", "sid"], {"username": "a.b"})
    assert [row["username"] for row in rows] == ["a.b"]
    assert server.commands == [r"show sessions username,sid match username ^a\.b$"]


def test_find_sessions_filters_exactly_in_python_too(fake_cli):
    """Even if the server's regex over-matched, only exact values come back."""
    sessions = make_sessions("axb", "a.b")
    table = render_table(["username", "sid"], sessions)
    server = fake_cli(lambda command: table)
    rows = client(server).find_sessions(["username", "sid"], {"username": "a.b"})
    assert [row["username"] for row in rows] == ["a.b"]


def test_find_sessions_several_filters(fake_cli):
    server = fake_cli(BngEmulator())
    cli = client(server)
    rows = cli.find_sessions(["username"], {"calling_sid": "02:00:00:00:c0:05", "username": "user5"})
    assert [(r["username"], r["calling_sid"]) for r in rows] == [("user5", "02:00:00:00:c0:05")]
    assert cli.find_sessions(["username"], {"calling_sid": "02:00:00:00:c0:05", "username": "user6"}) == []
    assert (
        server.commands[0] == r"show sessions username,calling-sid match calling-sid ^02\:00\:00\:00\:c0\:05$"
    )


def test_find_sessions_without_filters_lists_all(fake_cli):
    server = fake_cli(BngEmulator())
    assert len(client(server).find_sessions(["sid"], {})) == 30
    assert server.commands == ["show sessions sid"]


# -- network namespaces ----------------------------------------------------------------------


def test_run_in_netns_without_a_namespace_runs_inline():
    assert run_in_netns(None, threading.get_ident) == threading.get_ident()


def test_unknown_netns_is_a_clear_error():
    with pytest.raises(AccelPppConnectionError, match="no-such-ns-isplab"):
        run_in_netns("no-such-ns-isplab", lambda: None)


@pytest.mark.parametrize("name", ["../etc", "a/b", "..", "a b", ""])
def test_netns_name_is_not_a_path(name):
    with pytest.raises(AccelPppInputError, match="netns"):
        AccelPppCli(netns=name)


def test_run_in_netns_passes_exceptions_back():
    with pytest.raises(ZeroDivisionError):
        run_in_netns(None, lambda: 1 / 0)


def test_connect_inside_a_namespace(fake_cli, scratch_netns):
    """A server listening only inside the namespace is reached with netns=, not without."""
    own_netns = os.readlink("/proc/thread-self/ns/net")
    server = fake_cli(BngEmulator(), netns=scratch_netns)
    assert client(server, netns=scratch_netns).version() == "1.14.0"
    with pytest.raises(AccelPppConnectionError):
        client(server, timeout=1).version()
    assert run_in_netns(scratch_netns, lambda: os.readlink("/proc/thread-self/ns/net")) != own_netns
    assert os.readlink("/proc/thread-self/ns/net") == own_netns


# -- replies that are not whole, and passwords nobody gave ------------------------------------


@pytest.mark.parametrize("keep", [0.25, 0.5, 0.99])
def test_a_reply_cut_off_by_a_fin_is_an_error(fake_cli, keep):
    """A FIN is also how a whole reply ends: the closing `show version` tells them apart."""
    table = load_transcript("cli-30-sessions.json")[ALL_COLUMNS_COMMAND][0]
    server = fake_cli(BngEmulator(), cut_after=int(len("1.14.0\r\n") + len(table) * keep))
    with pytest.raises(AccelPppReplyError, match="cut off"):
        client(server).command(ALL_COLUMNS_COMMAND)


def test_a_reply_cut_off_at_a_row_end_is_an_error(fake_cli):
    table = load_transcript("cli-30-sessions.json")[ALL_COLUMNS_COMMAND][0]
    rows = table.split("\r\n")
    whole_rows = len("1.14.0\r\n") + len("\r\n".join(rows[:20])) + 2
    server = fake_cli(BngEmulator(), cut_after=whole_rows)
    with pytest.raises(AccelPppReplyError, match="cut off"):
        client(server).command(ALL_COLUMNS_COMMAND)


def test_an_empty_reply_without_a_password_means_the_cli_wants_one(fake_cli):
    """terminate answers nothing on success; a CLI that wants a password closes without a byte."""
    emulator = BngEmulator()
    server = fake_cli(emulator, password="s3cret")
    with pytest.raises(AccelPppAuthError, match="the CLI asks for a password"):
        client(server).terminate(all_sessions=True)
    assert emulator.terminated == []
    with pytest.raises(AccelPppAuthError, match="the CLI asks for a password"):
        client(server).show_sessions(["sid"])


def test_a_password_costs_no_second_connection(fake_cli):
    emulator = BngEmulator()
    server = fake_cli(emulator, password="s3cret")
    cli = client(server, password="s3cret")
    cli.terminate(sid="e9218d4a806d6489")
    cli.pppoe_set("PADO-delay", "100")
    assert server.connections == 2
    assert emulator.terminated == [("e9218d4a806d6489", None)]


def test_a_header_other_than_the_columns_asked_for_is_refused(fake_cli):
    other = render_table(["username", "ip"], [{"username": "user1", "ip": "100.64.0.11"}])
    server = fake_cli(lambda command: other)
    with pytest.raises(AccelPppReplyError, match=r"columns \['username', 'ip'\].*asked for \['sid', 'ip'\]"):
        client(server).show_sessions(["sid", "ip"])


def test_a_reply_over_the_limit_is_refused_with_what_to_do(fake_cli, monkeypatch):
    monkeypatch.setattr(
        "ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli.MAX_REPLY_BYTES", 4096
    )
    server = fake_cli(BngEmulator())
    with pytest.raises(AccelPppReplyError, match=r"more than 4096 bytes.*fewer columns or a match"):
        client(server).command(ALL_COLUMNS_COMMAND)


@pytest.mark.parametrize(
    ("line", "read_only"),
    [
        ("show stat", True),
        ("show sessions sid,ip match username ^a$", True),
        ("pppoe show PADO-delay", True),
        ("pppoe interface show", True),
        ("help", True),
        ("terminate all", False),
        ("reload", False),
        ("pppoe set PADO-delay 0", False),
        ("pppoe interface del eth0", False),
        ("shutdown hard", False),
        ("showstat", False),
    ],
)
def test_only_known_commands_count_as_read_only(line, read_only):
    assert is_read_only(line) is read_only
