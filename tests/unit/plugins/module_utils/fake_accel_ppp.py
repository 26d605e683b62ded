# SPDX-License-Identifier: GPL-3.0-or-later
"""A fake accel-ppp CLI server for the unit tests: real TCP, the real protocol's framing.

One connection per command; the optional password line first (a wrong one gets the
connection closed with zero bytes, as accel-ppp does); commands until `exit` (the client frames
each with `show version`, answered like any other); the reply is
written one line per send and ended by closing the connection. A request line over 1023
bytes drops the connection. Two kinds of handler: a transcript replay (recorded replies of a
real accel-ppp 1.14.0, keyed by command) and BngEmulator, a small stateful stand-in that
renders `show sessions` for any column set and applies terminate / pppoe set / interface
add and del, for the module tests.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli import run_in_netns

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "accel-ppp-1.14.0"
MAX_LINE = 1023


def load_transcript(name: str) -> dict[str, list[str]]:
    data = json.loads((FIXTURES / name).read_text())
    table: dict[str, list[str]] = {}
    for exchange in data["exchanges"]:
        table.setdefault(exchange["command"], []).append(exchange["response"])
    return table


class TranscriptHandler:
    """Replies recorded from a real accel-ppp; a command recorded twice replays in order."""

    def __init__(self, table: dict[str, list[str]]):
        self.table = table
        self.seen: dict[str, int] = {}

    def __call__(self, command: str) -> str:
        replies = self.table.get(command)
        if not replies:
            return "command unknown\r\n"
        index = self.seen.get(command, 0)
        self.seen[command] = index + 1
        return replies[min(index, len(replies) - 1)]


class FakeAccelPppServer:
    """Listens on 127.0.0.1 (in netns if given) on an ephemeral port until stop()."""

    def __init__(
        self,
        handler: Callable[[str], str],
        password: str | None = None,
        reply_delay: float = 0.0,
        silent: bool = False,
        netns: str | None = None,
        cut_after: int | None = None,
    ):
        self.handler = handler
        self.password = password
        self.reply_delay = reply_delay
        self.silent = silent
        # Send this many bytes of the replies of a connection, then close it with a FIN (the
        # way a reply ends, too), as a server that stops or a middlebox that cuts would.
        self.cut_after = cut_after
        # The commands of every connection as sent (requests), and without the client's framing.
        self.requests: list[list[str]] = []
        self.commands: list[str] = []
        self.connections = 0
        self.auth_failures = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._listener = run_in_netns(netns, self._listen)
        self.host, self.port = self._listener.getsockname()[:2]

    @staticmethod
    def _listen() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        sock.settimeout(0.02)  # how soon the accept loop notices stop()
        return sock

    def start(self) -> FakeAccelPppServer:
        thread = threading.Thread(target=self._accept_loop, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _peer_address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        reader = conn.makefile("rb")
        sent = 0
        received: list[str] = []
        try:
            if self.password is not None:
                first = reader.readline(MAX_LINE + 2)
                if first.rstrip(b"\n").decode("utf-8", "replace") != self.password:
                    with self._lock:
                        self.auth_failures += 1
                    return
            while not self._stop.is_set():
                raw = reader.readline(MAX_LINE + 2)
                if not raw or len(raw) > MAX_LINE or not raw.endswith(b"\n"):
                    return
                command = raw[:-1].decode("utf-8", "replace")
                if command == "exit":
                    return
                received.append(command)
                if self.silent:
                    self._stop.wait(30)
                    return
                if self.reply_delay and self._stop.wait(self.reply_delay):
                    return
                # accel-ppp writes a table one row per send: the client must read to EOF.
                # Every accel-ppp answers this one itself, whatever else the handler plays.
                reply = "1.14.0\r\n" if command == "show version" else self.handler(command)
                for line in reply.splitlines(keepends=True):
                    data = line.encode("utf-8")
                    if self.cut_after is not None and sent + len(data) >= self.cut_after:
                        conn.sendall(data[: self.cut_after - sent])
                        conn.shutdown(socket.SHUT_WR)
                        return
                    conn.sendall(data)
                    sent += len(data)
        except OSError:
            return
        finally:
            with self._lock:
                self.requests.append(received)
                # The client's `show version` before and after each command is its framing.
                framed = len(received) >= 2 and received[0] == received[-1] == "show version"
                self.commands.extend(received[1:-1] if framed else received)
            reader.close()
            conn.close()


def render_table(columns: list[str], rows: list[dict[str, str]]) -> str:
    """A `show sessions` table as accel-ppp 1.14.0 draws it (header cells centred)."""
    widths = [max([len(column)] + [len(row[column]) for row in rows]) for column in columns]
    header = []
    for column, width in zip(columns, widths, strict=True):
        left = (width - len(column)) // 2
        header.append(" " + " " * left + column + " " * (width - len(column) - left) + " ")
    lines = ["|".join(header), "+".join("-" * (width + 2) for width in widths)]
    for row in rows:
        lines.append(
            "|".join(f" {row[column]:<{width}} " for column, width in zip(columns, widths, strict=True))
        )
    return "".join(line + "\r\n" for line in lines)


DEFAULT_COLUMNS = ["ifname", "username", "calling-sid", "ip", "type", "comp", "state", "uptime"]
ALL_COLUMNS_COMMAND = (
    "show sessions ifname,username,ip,ip6,ip6-dp,calling-sid,called-sid,sid,type,state,uptime,"
    "uptime-raw,rx-bytes,tx-bytes,rx-bytes-raw,tx-bytes-raw,rx-pkts,tx-pkts,inbound-if,service-name,"
    "comp,netns,vrf"
)
_PADO_DELAY_RE = re.compile(r"^-?\d+(,-?\d+:\d+)*$")


def recorded_sessions(transcript: str = "cli-30-sessions.json") -> list[dict[str, str]]:
    """The sessions of the 30-session recording, every column as the text accel-ppp printed."""
    table = load_transcript(transcript)[ALL_COLUMNS_COMMAND][0]
    lines = [line for line in table.split("\r\n") if line]
    columns = [cell.strip() for cell in lines[0].split("|")]
    return [dict(zip(columns, (cell.strip() for cell in line.split("|")), strict=True)) for line in lines[2:]]


class BngEmulator:
    """A stateful stand-in for one accel-pppd, seeded with the 30-session recording.

    terminate: a session shows state `finish` for `linger` more `show sessions` and then goes;
    sids in `stuck` never go. Replies that are not emulated come from the recordings (the
    30-session one where both have the command).
    """

    def __init__(self, sessions: list[dict[str, str]] | None = None, linger: int = 1):
        self.sessions = [dict(s) for s in (sessions if sessions is not None else recorded_sessions())]
        self.linger = linger
        self.stuck: set[str] = set()
        # Sessions that `show stat` counts and `show sessions` does not list, as a listing that
        # lost rows on the way would look.
        self.unlisted = 0
        self.dying: dict[str, int] = {}
        self.terminated: list[tuple[str, str | None]] = []
        self.settings = {"PADO-delay": "0", "AC-Name": "lab-bng", "Service-Name": "*", "verbose": "1"}
        self.interfaces = {"eth0": "active"}
        self.devices = {"eth0", "eth1", "eth2"}
        recorded = load_transcript("cli-4-sessions.json")
        recorded.update(load_transcript("cli-30-sessions.json"))
        self.replay = TranscriptHandler(recorded)
        self.lock = threading.Lock()

    def __call__(self, command: str) -> str:
        with self.lock:
            words = command.split()
            if words[:2] == ["show", "sessions"]:
                return self._show_sessions(words[2:])
            if words[:1] == ["terminate"]:
                return self._terminate(words[1:])
            if words == ["show", "stat"]:
                return self._show_stat()
            if words[:2] == ["pppoe", "show"] and len(words) == 3:
                return (
                    self.settings[words[2]] + "\r\n" if words[2] in self.settings else "invalid argument\r\n"
                )
            if words[:2] == ["pppoe", "set"] and len(words) == 4:
                return self._pppoe_set(words[2], words[3])
            if words[:2] == ["pppoe", "interface"]:
                return self._interface(words[2:])
            return self.replay(command)

    def _show_sessions(self, args: list[str]) -> str:
        columns = DEFAULT_COLUMNS
        if args and args[0] not in ("order", "match"):
            columns = args.pop(0).split(",")
        known = set(ALL_COLUMNS_COMMAND.split()[2].split(","))
        order = match = None
        while args:
            if args[0] == "order" and len(args) >= 2:
                order, args = args[1], args[2:]
            elif args[0] == "match" and len(args) >= 3:
                match, args = (args[1], args[2]), args[3:]
            else:
                return "syntax error\r\n"
        for column in [*columns, *([order] if order else []), *([match[0]] if match else [])]:
            if column not in known:
                return f"unknown column {column}\r\n"
        rows = list(self.sessions)
        if match:
            try:
                regex = re.compile(match[1])
            except re.error as exc:
                return f"match: {exc.msg} at {exc.pos}\r\n"
            rows = [row for row in rows if regex.search(row[match[0]])]
        if order:
            rows.sort(key=lambda row: row[order])
        text = render_table(columns, rows)
        for sid in list(self.dying):
            self.dying[sid] -= 1
            if self.dying[sid] < 0:
                del self.dying[sid]
                self.sessions = [s for s in self.sessions if s["sid"] != sid]
        return text

    def _show_stat(self) -> str:
        """The recorded `show stat`, with the sessions counted as they are now."""
        states = [session["state"] for session in self.sessions]
        counts = {
            "starting": 0,
            "active": states.count("active") + self.unlisted,
            "finishing": states.count("finish"),
        }
        recorded = self.replay.table["show stat"][0]
        return re.sub(
            r"^  (starting|active|finishing): \d+",
            lambda match: f"  {match[1]}: {counts[match[1]]}",
            recorded,
            flags=re.MULTILINE,
        )

    def _terminate(self, args: list[str]) -> str:
        mode = None
        if args and args[-1] in ("soft", "hard"):
            mode = args.pop()
        selectors = {"sid": "sid", "if": "ifname", "username": "username", "ip": "ip", "csid": "calling-sid"}
        if args == ["all"]:
            hits = list(self.sessions)
        elif len(args) == 2 and args[0] in selectors:
            hits = [s for s in self.sessions if s[selectors[args[0]]] == args[1]]
        else:
            return "syntax error\r\n"
        for session in hits:
            self.terminated.append((session["sid"], mode))
            session["state"] = "finish"
            if session["sid"] not in self.stuck:
                self.dying.setdefault(session["sid"], self.linger)
        return ""

    def _pppoe_set(self, name: str, value: str) -> str:
        if name not in self.settings or (name == "PADO-delay" and not _PADO_DELAY_RE.match(value)):
            return "invalid argument\r\n"
        self.settings[name] = value
        return ""

    def _interface(self, args: list[str]) -> str:
        if args == ["show"]:
            rows = "".join(
                f"{name:>9}    {0:>11}    {state:>6}\r\n" for name, state in self.interfaces.items()
            )
            return "interface:   connections:    state:\r\n-----------------------------------\r\n" + rows
        if len(args) != 2 or args[0] not in ("add", "del"):
            return "syntax error\r\n"
        action, name = args
        if action == "add":
            if name in self.interfaces:
                return "error: already exists\r\n"
            if name not in self.devices:
                return f"{name}: No such device\r\n"
            self.interfaces[name] = "active"
            return ""
        if name not in self.interfaces:
            return "command failed\r\n"
        del self.interfaces[name]
        return ""


@pytest.fixture
def fake_cli():
    """start(handler, **options) -> a running FakeAccelPppServer, stopped after the test."""
    servers: list[FakeAccelPppServer] = []

    def start(handler: Callable[[str], str], **options) -> FakeAccelPppServer:
        server = FakeAccelPppServer(handler, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def closed_port() -> int:
    """A local TCP port with nothing listening (bound once, then released)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
