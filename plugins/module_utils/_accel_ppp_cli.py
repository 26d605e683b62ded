# SPDX-License-Identifier: GPL-3.0-or-later
"""Client for accel-ppp's TCP CLI (`[cli] tcp=ADDR:PORT`), verified against accel-ppp 1.14.0.

Private to the isplab.bng collection: no stability promise outside it. The one CLI client of
the collection: the modules, the failover agent and the tests all use it.

The protocol (see the reference notes of the collection): one TCP connection per command;
send the password line if one is configured, then `COMMAND\\n`, then `exit\\n`, and read until
the server closes the connection. There is no prompt, banner or end-of-reply marker, and
errors are plain reply lines, so this client judges the reply text itself and raises typed
exceptions. It frames every command with `show version`, which always answers one line: the
first answer proves the password was taken (a refused or missing one gets nothing at all), and
the same line again at the end proves the reply is whole (a FIN is also how a reply ends).
Words are split on blanks with no quoting, so every value is checked before any connection is
made: a value with a blank or a newline would change the command or start a second one.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import re
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_parsers import (
    ParseError,
    column_key,
    parse_ippool,
    parse_pppoe_interfaces,
    parse_sessions,
    parse_single_value,
    parse_stat,
)
from ansible_collections.isplab.bng.plugins.module_utils._nsthread import EnterError, call_in_netns

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 2001
DEFAULT_TIMEOUT = 10.0

# accel-ppp reads a request line into a 1024-byte buffer and drops the connection when the
# line does not fit; counting the newline in the limit keeps one byte of margin.
MAX_LINE_BYTES = 1023
MAX_WORDS = 100
# A reply is read to EOF; this bounds the memory a reply can make a module use: every column of
# 60,000 sessions is 16 MiB, and its parse holds 111 MiB at its peak (7 times the reply,
# benchmarks/accel_ppp_session_parse.py), before the module's JSON.
MAX_REPLY_BYTES = 16 * 1024 * 1024
# Sent before and after every command: it answers one line, always the same.
FRAME_COMMAND = "show version"
# Commands after which the CLI may not answer the closing `show version`: they stop the daemon.
ENDING_COMMANDS = frozenset({"exit", "restart", "shutdown"})
# The commands of accel-ppp 1.14.0 (its `help`) that only read; check mode runs nothing else.
READ_ONLY_COMMANDS = (
    ("help",),
    ("show", "stat"),
    ("show", "version"),
    ("show", "sessions"),
    ("show", "ippool"),
    ("pppoe", "show"),
    ("pppoe", "interface", "show"),
    ("pppoe", "mac-filter", "show"),
)

NETNS_DIR = "/var/run/netns"

# Every `show sessions` column of accel-ppp 1.14.0 (from its `help`), in the order of the
# recording of a real daemon's table with all of them.
SESSION_COLUMNS = (
    "ifname",
    "username",
    "ip",
    "ip6",
    "ip6-dp",
    "calling-sid",
    "called-sid",
    "sid",
    "type",
    "state",
    "uptime",
    "uptime-raw",
    "rx-bytes",
    "tx-bytes",
    "rx-bytes-raw",
    "tx-bytes-raw",
    "rx-pkts",
    "tx-pkts",
    "inbound-if",
    "service-name",
    "comp",
    "netns",
    "vrf",
)
# The columns that print, for people, what a *-raw column prints as a number.
HUMAN_READABLE_COLUMNS = frozenset({"uptime", "rx-bytes", "tx-bytes"})
TERMINATE_MODES = ("soft", "hard")
PPPOE_SETTINGS = ("verbose", "PADO-delay", "Service-Name", "AC-Name")

_COLUMN_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_SID_RE = re.compile(r"^[0-9a-f]{16}$")
_IFNAME_BAD = frozenset("/:,")


class AccelPppError(Exception):
    """Base of every error of this client."""


class AccelPppInputError(AccelPppError, ValueError):
    """A value was refused before anything was sent."""


class AccelPppConnectionError(AccelPppError):
    """The CLI could not be reached, or the connection broke."""


class AccelPppTimeoutError(AccelPppConnectionError):
    """Connecting or reading the reply took longer than the timeout."""


class AccelPppAuthError(AccelPppError):
    """The password was refused, or a password was sent to a CLI that has none."""


class AccelPppReplyError(AccelPppError):
    """The reply could not be parsed."""


class AccelPppCommandError(AccelPppError):
    """accel-ppp answered the command with an error line."""

    def __init__(self, command: str, reply: str, message: str | None = None):
        self.command = command
        self.reply = reply
        super().__init__(message or f"accel-ppp refused {command!r}: {reply!r}")


class AccelPppUnknownCommandError(AccelPppCommandError):
    """`command unknown` (also: a module such as pppoe or ippool is not loaded)."""


class AccelPppSyntaxError(AccelPppCommandError):
    """`syntax error`."""


class AccelPppInvalidArgumentError(AccelPppCommandError):
    """`invalid argument`."""


class AccelPppCommandFailedError(AccelPppCommandError):
    """`command failed`."""


class AccelPppUnknownColumnError(AccelPppCommandError):
    """`unknown column X` from `show sessions`."""

    def __init__(self, command: str, reply: str, column: str):
        self.column = column
        super().__init__(command, reply, f"accel-ppp does not know the session column {column!r}")


class AccelPppRegexError(AccelPppCommandError):
    """`match: <pcre2 message> at N`: the regex of `match` did not compile."""

    def __init__(self, command: str, reply: str, detail: str, offset: int):
        self.detail = detail
        self.offset = offset
        super().__init__(command, reply, f"accel-ppp rejected the match regex: {detail} at offset {offset}")


class AccelPppAlreadyExistsError(AccelPppCommandError):
    """`error: already exists` (e.g. `pppoe interface add` of a served interface)."""


class AccelPppNoSuchDeviceError(AccelPppCommandError):
    """`<ifname>: No such device`."""

    def __init__(self, command: str, reply: str, ifname: str):
        self.ifname = ifname
        super().__init__(command, reply, f"accel-ppp: no such network interface {ifname!r}")


_FIXED_ERRORS: dict[str, type[AccelPppCommandError]] = {
    "command unknown": AccelPppUnknownCommandError,
    "syntax error": AccelPppSyntaxError,
    "invalid argument": AccelPppInvalidArgumentError,
    "command failed": AccelPppCommandFailedError,
    "error: already exists": AccelPppAlreadyExistsError,
}
_UNKNOWN_COLUMN_RE = re.compile(r"^unknown column (\S+)$")
_REGEX_ERROR_RE = re.compile(r"^match: (.*) at (\d+)$")
_NO_SUCH_DEVICE_RE = re.compile(r"^(\S+): No such device$")
_GENERIC_ERROR_RE = re.compile(r"^error: .*$")
_UNKNOWN_COMMAND_LINE = "command unknown\r\n"


def raise_for_error_reply(command: str, reply: str) -> None:
    """Raise the typed error for an error reply; a normal reply passes.

    Error replies are always exactly one line, so only one-line replies are judged: a session
    table or a stat block can never be mistaken for an error.
    """
    line = reply.rstrip("\r\n")
    if "\n" in line or not line:
        return
    fixed = _FIXED_ERRORS.get(line)
    if fixed:
        raise fixed(command, reply)
    match = _UNKNOWN_COLUMN_RE.match(line)
    if match:
        raise AccelPppUnknownColumnError(command, reply, match[1])
    match = _REGEX_ERROR_RE.match(line)
    if match:
        raise AccelPppRegexError(command, reply, match[1], int(match[2]))
    match = _NO_SUCH_DEVICE_RE.match(line)
    if match:
        raise AccelPppNoSuchDeviceError(command, reply, match[1])
    if _GENERIC_ERROR_RE.match(line):
        raise AccelPppCommandError(command, reply)


def is_read_only(line: str) -> bool:
    """Whether a command line is one that accel-ppp 1.14.0 only reads with (READ_ONLY_COMMANDS)."""
    words = tuple(line.split())
    return any(words[: len(prefix)] == prefix for prefix in READ_ONLY_COMMANDS)


def read_only_commands() -> str:
    """READ_ONLY_COMMANDS as a person reads them, for messages."""
    return ", ".join(" ".join(prefix) for prefix in READ_ONLY_COMMANDS)


def _check_text(field: str, value: Any, shown: str) -> str:
    if not isinstance(value, str):
        raise AccelPppInputError(f"{field} must be a string, got {type(value).__name__} {shown}")
    if not value.strip():
        raise AccelPppInputError(f"{field} must not be empty or blank, got {shown}")
    for char in value:
        if char in "\r\n":
            raise AccelPppInputError(
                f"{field} must not contain a line break (it would start a second CLI command), got {shown}"
            )
        if ord(char) < 0x20 or ord(char) == 0x7F:
            raise AccelPppInputError(f"{field} must not contain control characters, got {shown}")
    return value


def check_word(field: str, value: Any) -> str:
    """A value sent as one CLI word: non-empty, no blank, no line break, no control character.

    The message names the field and shows the value (repr), so callers must not use this for
    secrets.
    """
    _check_text(field, value, repr(value))
    if " " in value:
        raise AccelPppInputError(
            f"{field} must not contain blanks (the CLI splits words on blanks and has no quoting), "
            f"got {value!r}"
        )
    return value


def check_line(field: str, line: Any, secret: bool = False) -> str:
    """A whole request line: printable, fits accel-ppp's line buffer, at most MAX_WORDS words."""
    shown = "(value hidden)" if secret else repr(line)
    _check_text(field, line, shown)
    size = len(line.encode("utf-8")) + 1
    if size > MAX_LINE_BYTES:
        raise AccelPppInputError(
            f"{field} is {size} bytes with its newline; accel-ppp drops lines over "
            f"{MAX_LINE_BYTES} bytes: {shown if secret else repr(line[:80] + '...')}"
        )
    if not secret and len(line.split()) > MAX_WORDS:
        raise AccelPppInputError(
            f"{field} has more than {MAX_WORDS} words, accel-ppp's limit: {line[:80]!r}..."
        )
    return line


def check_ifname(field: str, value: Any) -> str:
    """A Linux interface name (1 to 15 bytes, no blank, `/`, `:` or `,`)."""
    check_word(field, value)
    if len(value.encode("utf-8")) > 15 or value in (".", "..") or _IFNAME_BAD & set(value):
        raise AccelPppInputError(
            f"{field} is not a Linux interface name (1 to 15 bytes, no '/', ':' or ','): {value!r}"
        )
    return value


def check_sid(field: str, value: Any) -> str:
    """accel-ppp's own session id: 16 hex digits (not the PPPoE session id). Returns it lower case."""
    check_word(field, value)
    if not _SID_RE.match(value.lower()):
        raise AccelPppInputError(f"{field} must be accel-ppp's session id, 16 hex digits, got {value!r}")
    return value.lower()


def check_ipv4(field: str, value: Any) -> str:
    """An IPv4 address in dotted-quad form, as `show sessions` prints it."""
    check_word(field, value)
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise AccelPppInputError(f"{field} must be an IPv4 address, got {value!r}") from None


def check_netns(field: str, value: Any) -> str:
    """A network namespace name as `ip netns` knows it (a file name under /var/run/netns)."""
    check_word(field, value)
    if "/" in value or value in (".", ".."):
        raise AccelPppInputError(f"{field} must be a network namespace name, not a path: {value!r}")
    return value


def exact_regex(value: str) -> str:
    """A PCRE2 regex that matches exactly `value`: anchored, metacharacters escaped.

    `match` in accel-ppp is an unanchored regex search, so a plain `a.b` would also match
    `axb` or `xa.bx`. Callers still compare in Python: the regex narrows, it does not decide.
    """
    # In PCRE2 a backslash before any non-alphanumeric ASCII character makes it literal, so
    # escaping all of them covers every metacharacter without a list to keep up to date.
    escaped = "".join("\\" + c if c.isascii() and not (c.isalnum() or c == "_") else c for c in value)
    return f"^{escaped}$"


T = TypeVar("T")


def run_in_netns(netns: str | None, func: Callable[[], T]) -> T:
    """Run func() inside the named network namespace (`ip netns` name) and return its result.

    The process itself never changes namespace (see _nsthread). Files under /proc/net follow
    the process's main thread: code run here must read /proc/thread-self/net/... instead.
    Needs CAP_SYS_ADMIN.
    """
    if netns is None:
        return func()
    check_netns("netns", netns)
    path = os.path.join(NETNS_DIR, netns)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise AccelPppConnectionError(f"network namespace {netns!r} ({path}): {exc.strerror}") from None
    try:
        return call_in_netns(fd, func, f"netns-{netns}")
    except EnterError as exc:
        raise AccelPppConnectionError(
            f"cannot enter network namespace {netns!r}: {exc.strerror} (needs root or CAP_SYS_ADMIN)"
        ) from None
    finally:
        os.close(fd)


class AccelPppCli:
    """One accel-ppp CLI endpoint. Each call opens its own connection (the protocol's rule)."""

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        password: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        netns: str | None = None,
    ):
        try:
            self.address = ipaddress.ip_address(host)
        except ValueError:
            # Numeric only: resolving names (accel-cmd uses AI_ADDRCONFIG) fails inside a
            # namespace that has no address of the name's family.
            raise AccelPppInputError(f"host must be a numeric IPv4 or IPv6 address, got {host!r}") from None
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise AccelPppInputError(f"port must be a TCP port number (1-65535), got {port!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 3600:
            raise AccelPppInputError(f"timeout must be a number of seconds in (0, 3600], got {timeout!r}")
        if password is not None:
            check_line("password", password, secret=True)
        if netns is not None:
            check_netns("netns", netns)
        self.host = str(self.address)
        self.port = port
        self.password = password
        self.timeout = float(timeout)
        self.netns = netns

    @property
    def endpoint(self) -> str:
        where = f"[{self.host}]:{self.port}" if self.address.version == 6 else f"{self.host}:{self.port}"
        return f"{where} (netns {self.netns})" if self.netns else where

    # -- transport --------------------------------------------------------------------------

    def _connect(self, deadline: float) -> socket.socket:
        family = socket.AF_INET6 if self.address.version == 6 else socket.AF_INET

        def connect() -> socket.socket:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                sock.connect((self.host, self.port))
            except BaseException:
                sock.close()
                raise
            return sock

        try:
            return run_in_netns(self.netns, connect)
        except TimeoutError:
            raise AccelPppTimeoutError(
                f"accel-ppp CLI at {self.endpoint}: no connection within {self.timeout:g} s"
            ) from None
        except OSError as exc:
            hint = " (is accel-pppd running with [cli] tcp= on this address?)"
            raise AccelPppConnectionError(
                f"accel-ppp CLI at {self.endpoint}: cannot connect: {exc.strerror or exc}"
                f"{hint if exc.errno == errno.ECONNREFUSED else ''}"
            ) from None

    def _exchange(self, line: str) -> bytes:
        """Send one request framed by FRAME_COMMAND, return the raw reply (possibly empty)."""
        request = (f"{self.password}\n" if self.password is not None else "") + (
            f"{FRAME_COMMAND}\n{line}\n{FRAME_COMMAND}\nexit\n"
        )
        deadline = time.monotonic() + self.timeout
        sock = self._connect(deadline)
        chunks: list[bytes] = []
        size = 0
        try:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock.sendall(request.encode("utf-8"))
            while True:
                # One deadline for the whole reply: a peer that trickles bytes cannot hold us.
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                sock.settimeout(remaining)
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_REPLY_BYTES:
                    raise AccelPppReplyError(
                        f"accel-ppp CLI at {self.endpoint}: the reply to {line!r} is more than "
                        f"{MAX_REPLY_BYTES} bytes; ask for fewer columns or a match"
                    )
        except TimeoutError:
            raise AccelPppTimeoutError(
                f"accel-ppp CLI at {self.endpoint}: no complete reply to {line!r} within "
                f"{self.timeout:g} s ({size} bytes received)"
            ) from None
        except (ConnectionResetError, BrokenPipeError):
            # A server that closes while our request is still unread in its buffer sends an
            # RST instead of a FIN; before any reply byte that is the same as a silent close.
            if size:
                raise AccelPppConnectionError(
                    f"accel-ppp CLI at {self.endpoint}: connection reset after {size} bytes "
                    f"of the reply to {line!r}"
                ) from None
        except OSError as exc:
            raise AccelPppConnectionError(
                f"accel-ppp CLI at {self.endpoint}: {exc.strerror or exc} while running {line!r}"
            ) from None
        finally:
            sock.close()
        return b"".join(chunks)

    def command(self, line: str) -> str:
        """Run one command line and return its reply text; error replies raise typed errors.

        The reply comes framed by FRAME_COMMAND's answer (one connection, no probe):
        - nothing at all: the CLI closed before answering, which is what accel-ppp does to a
          wrong password, and to the first line when it wants a password and none was sent
          (an empty reply is also a successful `terminate` or `reload`, so it is never trusted);
        - `command unknown` before the frame: our password line was run as a command, the CLI
          has no password;
        - no closing frame: the reply was cut off, whatever the parser would make of it.
        """
        check_line("command", line)
        reply = self._exchange(line).decode("utf-8", errors="replace")
        if not reply:
            if self.password is not None:
                raise AccelPppAuthError(
                    f"accel-ppp CLI at {self.endpoint} closed the connection without a reply: "
                    "the password was refused"
                )
            raise AccelPppAuthError(
                f"the CLI asks for a password: accel-ppp CLI at {self.endpoint} closed the connection "
                "without a reply (set its password, [cli] password=)"
            )
        if self.password is not None and reply.startswith(_UNKNOWN_COMMAND_LINE):
            raise AccelPppAuthError(
                f"a password was given but the accel-ppp CLI at {self.endpoint} has none "
                f"([cli] password= is unset): it ran the password line as a command, and then {line!r}"
            )
        frame, sep, rest = reply.partition("\r\n")
        frame += sep
        if not sep:
            raise self._cut_off(line, reply)
        if rest.endswith(frame):
            body = rest[: -len(frame)]
        elif line.split()[0] in ENDING_COMMANDS:
            body = rest
        else:
            raise self._cut_off(line, reply)
        raise_for_error_reply(line, body)
        return body

    def _cut_off(self, line: str, reply: str) -> AccelPppReplyError:
        return AccelPppReplyError(
            f"accel-ppp CLI at {self.endpoint}: the reply to {line!r} was cut off after "
            f"{len(reply.encode('utf-8'))} bytes (the connection closed before the closing "
            f"{FRAME_COMMAND!r} was answered)"
        )

    def run(self, *words: str, fields: Iterable[str] | None = None) -> str:
        """Run a command given as words; each word is checked (named by `fields` if given)."""
        names = list(fields) if fields is not None else [f"word {i + 1}" for i in range(len(words))]
        for name, word in zip(names, words, strict=True):
            check_word(name, word)
        return self.command(" ".join(words))

    # -- high-level helpers ------------------------------------------------------------------

    def _parse(self, parser: Callable[[str], T], command: str, reply: str) -> T:
        try:
            return parser(reply)
        except ParseError as exc:
            raise AccelPppReplyError(
                f"accel-ppp CLI at {self.endpoint}: cannot parse the reply to {command!r}: {exc}"
            ) from None

    def show_sessions(
        self,
        columns: Iterable[str] | None = None,
        match: tuple[str, str] | None = None,
        order: str | None = None,
    ) -> list[dict]:
        """`show sessions`: a list of dicts keyed by column name with `-` as `_`.

        match is (column, regex): a raw PCRE2 regex, unanchored; use exact_regex() for exact
        lookups. Values with blanks cannot be sent (no quoting in the CLI).
        """
        words = ["show", "sessions"]
        if columns is not None:
            columns = list(columns)
            if not columns:
                raise AccelPppInputError("columns must not be an empty list")
            for column in columns:
                self._check_column("columns", column)
            words.append(",".join(columns))
        if order is not None:
            words += ["order", self._check_column("order", order)]
        if match is not None:
            column, regex = match
            words += ["match", self._check_column("match column", column), check_word("match regex", regex)]
        command = " ".join(words)
        return self._parse(lambda text: parse_sessions(text, columns), command, self.command(command))

    @staticmethod
    def _check_column(field: str, column: Any) -> str:
        check_word(field, column)
        if not _COLUMN_RE.match(column):
            raise AccelPppInputError(f"{field}: {column!r} is not a session column name")
        return column

    def find_sessions(self, columns: Iterable[str], filters: Mapping[str, str | None]) -> list[dict]:
        """Sessions whose columns equal every given filter exactly, e.g. {'username': 'a.b'}.

        Filter keys are column names (`calling-sid` or `calling_sid`). One filter (the most
        selective) narrows the table on the server with an anchored, escaped `match`; all of
        them are then compared exactly here, because a regex is never trusted to decide.
        """
        wanted = {key.replace("_", "-"): value for key, value in filters.items() if value is not None}
        for column, value in wanted.items():
            self._check_column("filter", column)
            check_word(column, value)
        columns = list(columns)
        columns += [column for column in wanted if column not in columns]
        match = None
        for column in ("sid", "calling-sid", "username", "ip", "ifname", *sorted(wanted)):
            if column in wanted:
                match = (column, exact_regex(wanted[column]))
                break
        rows = self.show_sessions(columns, match=match)
        return [row for row in rows if all(row.get(column_key(c)) == v for c, v in wanted.items())]

    def terminate(
        self,
        *,
        sid: str | None = None,
        ifname: str | None = None,
        username: str | None = None,
        ip: str | None = None,
        csid: str | None = None,
        all_sessions: bool = False,
        mode: str | None = None,
    ) -> None:
        """`terminate` by exactly one selector; mode 'soft' (default of accel-ppp) or 'hard'.

        accel-ppp answers nothing, whether or not a session matched: check before and after.
        Prefer sid: `terminate ip` also hits sessions without an IPv4 address (upstream bug).
        """
        selectors = {"sid": sid, "if": ifname, "username": username, "ip": ip, "csid": csid}
        given = {key: value for key, value in selectors.items() if value is not None}
        if len(given) + bool(all_sessions) != 1:
            raise AccelPppInputError(
                "terminate needs exactly one of sid, ifname, username, ip, csid or all_sessions, "
                f"got {sorted(given) + (['all_sessions'] if all_sessions else [])}"
            )
        if mode is not None and mode not in TERMINATE_MODES:
            raise AccelPppInputError(f"mode must be one of {', '.join(TERMINATE_MODES)}, got {mode!r}")
        words = ["terminate"]
        if all_sessions:
            words.append("all")
        else:
            ((key, value),) = given.items()
            field = {"if": "ifname"}.get(key, key)
            if key == "sid":
                value = check_sid(field, value)
            elif key == "ip":
                value = check_ipv4(field, value)
            elif key == "if":
                value = check_ifname(field, value)
            else:
                value = check_word(field, value)
            words += [key, value]
        if mode is not None:
            words.append(mode)
        self.command(" ".join(words))

    def show_stat(self) -> dict:
        return self._parse(parse_stat, "show stat", self.command("show stat"))

    def show_ippool(self) -> list[dict]:
        return self._parse(parse_ippool, "show ippool", self.command("show ippool"))

    def version(self) -> str:
        return self._parse(parse_single_value, "show version", self.command("show version"))

    def pppoe_interfaces(self) -> list[dict]:
        command = "pppoe interface show"
        return self._parse(parse_pppoe_interfaces, command, self.command(command))

    def pppoe_show(self, name: str) -> str:
        """`pppoe show NAME` (verbose, PADO-delay, Service-Name, AC-Name) as a string."""
        command = f"pppoe show {self._check_setting(name)}"
        return self._parse(parse_single_value, command, self.command(command))

    def pppoe_set(self, name: str, value: str) -> None:
        self.command(f"pppoe set {self._check_setting(name)} {check_word(name, value)}")

    @staticmethod
    def _check_setting(name: Any) -> str:
        if name not in PPPOE_SETTINGS:
            raise AccelPppInputError(
                f"pppoe setting must be one of {', '.join(PPPOE_SETTINGS)}, got {name!r}"
            )
        return name

    def pppoe_interface_add(self, ifname: str) -> None:
        self.command(f"pppoe interface add {check_ifname('interface', ifname)}")

    def pppoe_interface_del(self, ifname: str) -> None:
        """Stop serving PPPoE on ifname; accel-ppp drops that interface's sessions."""
        self.command(f"pppoe interface del {check_ifname('interface', ifname)}")

    def reload(self) -> None:
        self.command("reload")
