# SPDX-License-Identifier: GPL-3.0-or-later
"""The BNG failover agent: replicates sessions to the standby, and takes them over when it becomes active.

Private to the isplab.bng collection: no stability promise outside it.

One agent runs per BNG (systemd unit isplab-bng-failover@NAME, in the BNG's network namespace
when there is one), next to keepalived, which elects the active BNG (the one holding the
upstream VIP). What the agent does:

* While active: reads every session (accel-ppp: /proc/net/pppoe joined with the CLI's session
  table and the ppp interfaces' addresses; rp-pppoe: the per-session pppd command lines and
  the records of their ip-up hook; plus the sessions it adopted itself) and sends the set to
  the peer's agent over TCP, periodically and at once when a ppp interface or address changes
  (netlink). The peer acknowledges each snapshot; the change-to-acknowledgement time is the
  replication lag, logged and kept in the status file.
* While standby: keeps the newest snapshot in memory and on disk, answers no discovery
  (accel-ppp PADO-delay -1; the rp-pppoe server running behind a tc filter that drops its
  PADOs), and is ready to take over.
* On becoming active (keepalived notify, or the VIP appearing): checks that the old active no
  longer serves (its agent's own report, and a PADI on the access link that its AC MAC must
  not answer), starts answering discovery, then adopts every replicated session into its own
  kernel (stage two, see _pppoe_adopt) on an interface carrying the AC MAC the client knows,
  and sends a PADT on the old active's behalf for every session it cannot or may not adopt
  (stage one). With no fresh state it says so and lets the clients redial on their own.
* On losing the active role: takes its access link down first (nothing it still holds may
  reach the clients the peer now serves), then drops its own sessions; it stays fenced until
  an operator (or the switchover) asks it to rejoin as standby.
* Keeps a health verdict for keepalived's track_file (the PPPoE server answers, the access
  link is up) and a status file; answers a control socket (status, adopted sessions,
  terminate, re-home, release, rejoin) used by the modules and the CLI entry point.

Adopted sessions survive a restart of the agent: their file descriptors go to systemd's file
descriptor store and come back; a journal says which sessions a takeover had still to adopt.

The module-level functions are pure and unit tested; the Agent class does the I/O.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import ipaddress
import itertools
import json
import logging
import os
import queue
import re
import secrets
import select
import selectors
import shlex
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli import (
    AccelPppCli,
    AccelPppError,
)
from ansible_collections.isplab.bng.plugins.module_utils._descriptors import budget, raise_open_file_limit
from ansible_collections.isplab.bng.plugins.module_utils._failover_peer import (
    COUNTED_TYPES,
    MAX_CONNECTIONS,
    UNAUTHENTICATED_FRAME_LIMIT,
    PeerConnection,
    ReplayGuard,
    idle_timeout,
    oldest_to_close,
    same_address,
)
from ansible_collections.isplab.bng.plugins.module_utils._failover_state import (
    CorruptStateError,
    FailoverStateError,
    LagMeter,
    ReplicatedSession,
    Snapshot,
    StaleStateError,
    StoredState,
    decode,
    decode_stored,
    encode,
    encode_stored,
)
from ansible_collections.isplab.bng.plugins.module_utils._netlink import netlink_dump
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_adopt import (
    LCP_TERM_REQ,
    PPP_LCP,
    AdoptError,
    Channel,
    FrameError,
    add_ipv6_link_local,
    build_router_advertisement,
    channel_from_fds,
    configure_ipv4,
    echo_request,
    handle_lcp_frame,
    handle_unit_frame,
    lcp_packet,
    new_magic,
    open_channel,
    ppp_frame,
    probe_for_pado,
    send_router_advertisement,
)
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import (
    MacAddressError,
    PppoeKernelError,
    build_padt,
    normalise_mac,
    read_proc_net_pppoe,
    send_frames,
)

SERVERS = ("accel-ppp", "rp-pppoe")
TAKEOVER_MODES = ("hitless", "padt")
CONFIG_DIR = "/etc/isplab/bng_failover"
RUN_DIR = "/run/isplab-bng-failover"
STATE_DIR = "/var/lib/isplab-bng-failover"
# Where the pppd ip-up/ipv6-up hook of the rp-pppoe server's sessions records them.
PPPD_RECORDS = "ppp"
FRAME_HEADER = struct.Struct("!I")
ARPHRD_PPP = 512
RT_TABLE_MAIN = 254
IFF_UP = 0x1
IFF_RUNNING = 0x40
SIOCGIFFLAGS = 0x8913
SERVER_PROCESSES = {"accel-ppp": ("accel-pppd",), "rp-pppoe": ("pppoe-server",)}
# The standby answers no discovery at all; the active at once.
PADO_DELAY_STANDBY = "-1"
PADO_DELAY_ACTIVE = "0"
# Seconds a standby's rp-pppoe server may be missing before its agent starts it (behind the
# discovery filter); it may be starting, or the unit restarting.
STANDBY_GRACE = 10.0
# Sessions that go away are replicated only once this has passed with the PPPoE server still
# running: a dying server takes its sessions down one by one, and replicating those removals
# would leave the standby without the very sessions it has to take over.
REMOVAL_HOLD = 1.0
# Seconds an rp-pppoe server that the agent started may take to show up before the active BNG
# counts as unhealthy: starting a unit on a busy host under emulation has taken 25 s.
SERVER_START_GRACE = 60.0
# Seconds a rejoining BNG waits for its accel-ppp, started again, to answer its CLI: less than
# the 30 s that the modules wait for an answer; a `rejoin` asked again finds it started.
ACCEL_PPP_START_TIMEOUT = 20.0
# Seconds systemctl may wait for systemd's answer (its own default is 25).
SYSTEMCTL_TIMEOUT = 90
# systemd's file descriptor store keeps at most this many names' worth per unit (see the unit).
FD_KINDS = ("sock", "chan", "unit")

_INSTANCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_IFNAME_RE = re.compile(r"^[^\s/:,]{1,15}$")
_FIFO_RE = re.compile(r'^(INSTANCE|GROUP)\s+"?([^"\s]+)"?\s+(MASTER|BACKUP|FAULT|STOP|DELETED)\b')
_FDNAME_RE = re.compile(r"^s(\d+)\.([0-9a-f]{12})\.(sock|chan|unit)$")

log = logging.getLogger("isplab-bng-failover")


class AgentError(Exception):
    """A configuration or control error; the message says what and where."""


# --- configuration ---------------------------------------------------------------------------------


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


# --- the wire: length-prefixed messages -----------------------------------------------------------


def frame(data: bytes) -> bytes:
    return FRAME_HEADER.pack(len(data)) + data


class FrameReader:
    """Splits a byte stream into length-prefixed messages; refuses a length over the limit."""

    def __init__(self, limit: int = 20 * 1024 * 1024):
        self.buffer = bytearray()
        self.limit = limit

    def feed(self, data: bytes) -> list[bytes]:
        self.buffer += data
        out = []
        while len(self.buffer) >= FRAME_HEADER.size:
            (length,) = FRAME_HEADER.unpack_from(self.buffer)
            if length > self.limit:
                raise CorruptStateError(
                    f"replication link: a message announces {length} bytes, over {self.limit}"
                )
            if len(self.buffer) < FRAME_HEADER.size + length:
                break
            out.append(bytes(self.buffer[FRAME_HEADER.size : FRAME_HEADER.size + length]))
            del self.buffer[: FRAME_HEADER.size + length]
        return out


def connect(address: str, port: int, timeout: float, source: str | None = None) -> socket.socket:
    """A TCP connection to the peer, from source (the address the peer accepts) unless a wildcard."""
    bind = None if source is None or ipaddress.ip_address(source).is_unspecified else (source, 0)
    return socket.create_connection((address, port), timeout=timeout, source_address=bind)


def exchange(address: str, port: int, message: bytes, timeout: float, source: str | None = None) -> bytes:
    """Connect, send one framed message, read one framed reply, close; all within timeout."""
    deadline = time.monotonic() + timeout
    with connect(address, port, timeout, source) as sock:
        sock.settimeout(timeout)
        sock.sendall(frame(message))
        reader = FrameReader()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no reply from [{address}]:{port} within {timeout:g} s")
            sock.settimeout(remaining)
            data = sock.recv(65536)
            if not data:
                raise ConnectionError(f"[{address}]:{port} closed the connection without a reply")
            replies = reader.feed(data)
            if replies:
                return replies[0]


# --- keepalived and systemd -------------------------------------------------------------------------


def parse_fifo_line(line: str) -> tuple[str, str] | None:
    """(vrrp instance or group, state) of a keepalived notify_fifo line, None for other lines."""
    match = _FIFO_RE.match(line.strip())
    return (match[2], match[3]) if match else None


def fd_name(session_id: int, client_mac: str, kind: str) -> str:
    """The systemd fd store name of one descriptor of an adopted session (no ':' allowed there)."""
    return f"s{session_id}.{client_mac.replace(':', '')}.{kind}"


def stored_channels(
    env: Mapping[str, str], first_fd: int = 3
) -> tuple[dict[tuple[int, str], dict], list[int]]:
    """The adopted sessions' descriptors systemd passed back (LISTEN_FDS, LISTEN_FDNAMES).

    Returns {(session id, client mac): {'sock': fd, 'chan': fd, 'unit': fd}} and the fds that
    belong to nothing known (to be closed).
    """
    if env.get("LISTEN_PID") not in (None, str(os.getpid())):
        return {}, []
    try:
        count = int(env.get("LISTEN_FDS", "0"))
    except ValueError:
        return {}, []
    names = env.get("LISTEN_FDNAMES", "").split(":") if count else []
    found: dict[tuple[int, str], dict] = {}
    stray: list[int] = []
    for offset in range(count):
        fd = first_fd + offset
        name = names[offset] if offset < len(names) else ""
        match = _FDNAME_RE.match(name)
        if not match:
            stray.append(fd)
            continue
        mac = ":".join(match[2][i : i + 2] for i in range(0, 12, 2))
        found.setdefault((int(match[1]), mac), {})[match[3]] = fd
    complete = {key: fds for key, fds in found.items() if set(fds) == set(FD_KINDS)}
    for key, fds in found.items():
        if key not in complete:
            stray.extend(fds.values())
    return complete, stray


def sd_notify(message: str, fds: Iterable[int] = ()) -> bool:
    """Send a notification to systemd (with descriptors for its store); False when not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    fds = list(fds)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))] if fds else []
        sock.sendmsg([message.encode()], ancillary, 0, address)
    return True


# --- reading sessions on the active BNG -----------------------------------------------------------------


def parse_rp_pppoe_argv(argv: list[str]) -> tuple[str, int, str] | None:
    """(interface, session id, client MAC) of an rp-pppoe server session's pppd, else None.

    pppoe-server runs every session as `pppd pty "/usr/sbin/pppoe -n -I IF -e SID:MAC ..." ...`:
    the pty command, one argument, carries the interface and the session.
    """
    if len(argv) < 3 or os.path.basename(argv[0]) != "pppd" or argv[1] != "pty":
        return None
    try:
        words = shlex.split(argv[2])
    except ValueError:
        return None
    if not words or os.path.basename(words[0]) != "pppoe":
        return None
    interface = session = None
    for option, value in itertools.pairwise(words):
        if option == "-I":
            interface = value
        elif option == "-e":
            session = value
    if not interface or not session or ":" not in session:
        return None
    sid, _colon, mac = session.partition(":")
    try:
        session_id = int(sid, 10)
        mac = normalise_mac(mac)
    except (ValueError, MacAddressError):
        return None
    if not 1 <= session_id <= 0xFFFE:
        return None
    return interface, session_id, mac


def parse_pppd_record(text: str) -> dict[str, str]:
    """A record of the pppd ip-up hook: `key=value` lines (ifname, peername, local, remote)."""
    record = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and value.strip():
            record[key.strip()] = value.strip()
    return record


def link_facts(
    links: Iterable[Mapping], addresses: Iterable[Mapping], routes: Iterable[Mapping] = ()
) -> dict[str, dict]:
    """Per ppp interface name: mtu, the IPv4 local/peer, the IPv6 link-local local/peer, and the
    IPv6 prefixes routed to it (global, shorter than /128: what the PPPoE server routes to the
    subscriber, e.g. the rp-pppoe server's ipv6-up hook; not the link-local or host routes).

    links: dicts of index, name, type, mtu; addresses: dicts of index, family, local, peer;
    routes: dicts of oif, family, dst (NETWORK/LEN).
    """
    by_index: dict[int, dict] = {}
    for link in links:
        if link.get("type") == ARPHRD_PPP:
            by_index[link["index"]] = {
                "name": link["name"],
                "mtu": link.get("mtu"),
                "gateway": None,
                "ipv4": None,
                "ipv6_local_ll": None,
                "ipv6_peer_ll": None,
                "ipv6_routed": [],
            }
    for route in routes:
        facts = by_index.get(route.get("oif"))
        if facts is None or route.get("family") != socket.AF_INET6:
            continue
        with contextlib.suppress(ValueError):
            network = ipaddress.IPv6Network(route["dst"])
            if 0 < network.prefixlen < 128 and not (network.is_link_local or network.is_multicast):
                facts["ipv6_routed"].append(str(network))
    for facts in by_index.values():
        facts["ipv6_routed"].sort()
    for address in addresses:
        facts = by_index.get(address["index"])
        if facts is None or not address.get("local"):
            continue
        if address["family"] == socket.AF_INET:
            facts["gateway"] = address["local"]
            facts["ipv4"] = address.get("peer") if address.get("peer") != address["local"] else None
        elif address["family"] == socket.AF_INET6 and ipaddress.IPv6Address(address["local"]).is_link_local:
            facts["ipv6_local_ll"] = address["local"]
            peer = address.get("peer")
            facts["ipv6_peer_ll"] = peer if peer and peer != address["local"] else None
    return {facts["name"]: facts for facts in by_index.values()}


def _session(fields: Mapping[str, Any]) -> ReplicatedSession | None:
    try:
        return ReplicatedSession.from_dict({k: v for k, v in fields.items() if v is not None})
    except CorruptStateError as exc:
        log.warning("session left out of the replicated state: %s", exc)
        return None


def join_accel_ppp(
    kernel: Iterable,
    cli_rows: Iterable[Mapping],
    ppp: Mapping[str, dict],
    macs: Mapping[str, str],
    now: float,
    exclude: set[tuple[int, str, str]] = frozenset(),
) -> list[ReplicatedSession]:
    """accel-ppp's sessions: /proc/net/pppoe rows joined with `show sessions` rows and pppN facts.

    kernel: KernelPppoeSession rows (the session id, client MAC and access device); cli_rows:
    show sessions with ifname, username, ip, ip6, ip6-dp, calling-sid, uptime-raw; ppp:
    link_facts(); macs: interface name -> MAC. The join key is the client MAC on the access
    device; a client MAC with two kernel sessions or two CLI rows is ambiguous and replicated
    without the CLI's data (it cannot be adopted, only sent a PADT). exclude: keys of sessions
    the agent adopted itself, which accel-ppp does not know.
    """
    rows_by_mac: dict[str, list[Mapping]] = {}
    for row in cli_rows:
        mac = row.get("calling_sid")
        if mac:
            with contextlib.suppress(MacAddressError):
                rows_by_mac.setdefault(normalise_mac(mac), []).append(row)
    kernel = list(kernel)
    per_mac: dict[str, int] = {}
    for item in kernel:
        per_mac[item.peer_mac] = per_mac.get(item.peer_mac, 0) + 1
    sessions = []
    for item in kernel:
        ac_mac = macs.get(item.device)
        if ac_mac is None:
            continue
        key = (item.session_id, item.peer_mac, ac_mac)
        if key in exclude:
            continue
        rows = rows_by_mac.get(item.peer_mac, [])
        row = rows[0] if len(rows) == 1 and per_mac[item.peer_mac] == 1 else {}
        facts = ppp.get(row.get("ifname") or "", {})
        uptime = row.get("uptime_raw")
        ip6 = row.get("ip6")
        session = _session(
            {
                "session_id": item.session_id,
                "client_mac": item.peer_mac,
                "ac_mac": ac_mac,
                "interface": item.device,
                "origin": "accel-ppp",
                "since": now - uptime if isinstance(uptime, int) else now,
                "ifname": row.get("ifname"),
                "username": row.get("username"),
                "ipv4": row.get("ip") or facts.get("ipv4"),
                "gateway": facts.get("gateway"),
                "ipv6_prefix": _prefix_of(ip6),
                "ipv6_delegated": _prefix_of(row.get("ip6_dp")),
                "ipv6_local_ll": facts.get("ipv6_local_ll"),
                "ipv6_peer_ll": facts.get("ipv6_peer_ll"),
                "mtu": facts.get("mtu"),
            }
        )
        if session is not None:
            sessions.append(session)
    return sessions


def _prefix_of(value: str | None) -> str | None:
    """accel-ppp prints ip6 as ADDRESS/LEN (the subscriber's /64 or address); keep the network."""
    if not value:
        return None
    try:
        return str(ipaddress.IPv6Interface(value).network)
    except ValueError:
        return None


def rp_pppoe_session(
    parsed: tuple[str, int, str],
    record: Mapping[str, str],
    ppp: Mapping[str, dict],
    macs: Mapping[str, str],
    since: float,
) -> ReplicatedSession | None:
    """One rp-pppoe server session from its pppd's arguments and the record of its ip-up hook.

    The IPv6 prefix the server routes to the session (the role pppoe_server's ipv6-up hook routes
    the subscriber's static prefix) is replicated as its delegated prefix: routed to an adopted
    copy, not advertised (the rp-pppoe server sends no router advertisements).
    """
    interface, session_id, client_mac = parsed
    ac_mac = macs.get(interface)
    if ac_mac is None:
        return None
    ifname = record.get("ifname")
    facts = ppp.get(ifname or "", {})
    return _session(
        {
            "session_id": session_id,
            "client_mac": client_mac,
            "ac_mac": ac_mac,
            "interface": interface,
            "origin": "rp-pppoe",
            "since": since,
            "ifname": ifname if ifname in ppp else None,
            "username": record.get("peername"),
            "ipv4": record.get("remote") or facts.get("ipv4"),
            "gateway": record.get("local") or facts.get("gateway"),
            "ipv6_local_ll": facts.get("ipv6_local_ll"),
            "ipv6_peer_ll": facts.get("ipv6_peer_ll"),
            "ipv6_delegated": next(iter(facts.get("ipv6_routed") or []), None),
            "mtu": facts.get("mtu"),
        }
    )


# --- the takeover plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    session: ReplicatedSession
    action: str  # adopt | padt | skip
    reason: str


def plan_takeover(
    sessions: Iterable[ReplicatedSession],
    mode: str,
    fresh: bool,
    kernel_keys: set[tuple[int, str, str]],
    address_owners: Mapping[str, str | None],
    adopted_keys: set[tuple[int, str, str]],
) -> list[Decision]:
    """What to do with each replicated session on taking over; pure.

    skip: already adopted (by this agent before a restart), or already in this kernel (a
    duplicate would steal its frames). padt: stage one (mode padt, stale state, or missing
    data), or an address this BNG already gave to another user (address_owners: IPv4 ->
    username, None when the owner is unknown). adopt: everything else.
    """
    out = []
    claimed: dict[str, ReplicatedSession] = {}
    for session in sessions:
        if session.key in adopted_keys:
            out.append(Decision(session, "skip", "adopted already"))
            continue
        if session.key in kernel_keys:
            out.append(Decision(session, "skip", "this kernel has the session already"))
            continue
        if not fresh:
            out.append(Decision(session, "padt", "the replicated state is not fresh"))
            continue
        if mode == "padt":
            out.append(Decision(session, "padt", "takeover mode padt (stage one)"))
            continue
        missing = [name for name in ("ipv4", "gateway") if getattr(session, name) is None]
        if missing:
            out.append(Decision(session, "padt", f"not enough state to adopt (no {', '.join(missing)})"))
            continue
        if session.ipv4 in address_owners:
            owner = address_owners[session.ipv4]
            if owner is None or owner != session.username:
                who = f"user {owner}" if owner else "another session"
                out.append(Decision(session, "padt", f"{session.ipv4} is already given to {who} here"))
                continue
            out.append(Decision(session, "padt", f"{session.username} is connected here already"))
            continue
        if session.ipv4 in claimed:
            out.append(
                Decision(session, "padt", f"{session.ipv4} is also claimed by {claimed[session.ipv4].name}")
            )
            continue
        claimed[session.ipv4] = session
        out.append(Decision(session, "adopt", "hitless"))
    return out


def macvlan_name(mac: str) -> str:
    """The interface that carries a foreign AC MAC: `ac` and its 12 hex digits (14 characters)."""
    return "ac" + normalise_mac(mac).replace(":", "")


# --- the agent ---------------------------------------------------------------------------------------------


@dataclass
class Adopted:
    """A session this agent holds in its kernel."""

    session: ReplicatedSession
    channel: Channel
    device: str
    magic: int
    adopted_at: float
    last_heard: float
    echo_id: int = 0
    echoes_unanswered: int = 0
    heard: bool = False
    next_echo: float = 0.0
    next_ra: float = 0.0
    ra_error: str | None = None
    peer_magic: int | None = None

    @classmethod
    def start(cls, session: ReplicatedSession, channel: Channel, device: str) -> Adopted:
        """Held from now on, with a new LCP magic number and an Echo-Request due at once."""
        now = time.monotonic()
        return cls(
            session=session,
            channel=channel,
            device=device,
            magic=new_magic(),
            adopted_at=time.time(),
            last_heard=now,
            next_echo=now,
        )

    def describe(self, now: float) -> dict:
        s = self.session
        return {
            "session_id": s.session_id,
            "client_mac": s.client_mac,
            "ac_mac": s.ac_mac,
            "username": s.username,
            "ipv4": s.ipv4,
            "gateway": s.gateway,
            "ipv6_prefix": s.ipv6_prefix,
            "ipv6_delegated": s.ipv6_delegated,
            "ifname": self.channel.ifname,
            "device": self.device,
            "adopted_at": round(self.adopted_at, 3),
            "age": round(now - self.adopted_at, 1),
            "session_age": round(now - s.since, 1),
            "last_heard": round(now - self.last_heard, 1),
        }


def _atomic_write(path: str, data: bytes, mode: int = 0o600, sync: bool = True) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _netns_inode() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


def find_processes(names: Iterable[str], netns_inode: int, proc: str = "/proc") -> list[int]:
    """PIDs of processes with one of these names (comm) in this network namespace."""
    names = set(names)
    found = []
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            with open(f"{proc}/{entry}/comm", encoding="utf-8", errors="replace") as handle:
                comm = handle.read().strip()
            if comm in names and os.stat(f"{proc}/{entry}/ns/net").st_ino == netns_inode:
                found.append(int(entry))
        except OSError:
            continue
    return sorted(found)


def _interface_flags(name: str) -> int:
    """The interface's flags (SIOCGIFFLAGS), 0 when there is no such interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            result = fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, struct.pack("16sH14x", name.encode()[:15], 0))
        except OSError:
            return 0
    return struct.unpack("16sH14x", result)[1]


def link_mac(ipr, name: str) -> str | None:
    """The MAC of interface `name` (pyroute2's IPRoute), None when there is no such interface."""
    links = ipr.link_lookup(ifname=name)
    if not links:
        return None
    mac = ipr.get_links(links[0])[0].get_attr("IFLA_ADDRESS")
    return normalise_mac(mac) if mac else None


def interface_running(name: str) -> bool:
    """Whether the interface is up and has carrier (IFF_UP and IFF_RUNNING)."""
    flags = _interface_flags(name)
    return bool(flags & IFF_UP and flags & IFF_RUNNING)


def interface_up(name: str) -> bool:
    """Whether the interface is set up (IFF_UP), carrier or not."""
    return bool(_interface_flags(name) & IFF_UP)


def discovery_filter(interface: str, delay_ms: int) -> str:
    """The `tc -batch` lines that make an rp-pppoe server on `interface` answer discovery late
    (delay_ms > 0), never (-1), or at once (0: no lines). rp-pppoe has no PADO-delay: PADOs
    (PPPoE discovery code 0x07) leave through a netem band, or are dropped; nothing else is
    touched. The role pppoe_server writes the same filter (templates/discovery.tc.j2) for the
    instances' configured delay, which its unit applies when it starts."""
    if delay_ms == 0:
        return ""
    lines = [f"qdisc add dev {interface} root handle 1: prio bands 4 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1"]
    match = f"filter add dev {interface} parent 1: protocol 0x8863 prio 1 u32 match u8 0x07 0xff at 1"
    if delay_ms > 0:
        lines.append(f"qdisc add dev {interface} parent 1:4 handle 40: netem delay {delay_ms}ms")
        lines.append(f"{match} flowid 1:4")
    else:
        lines.append(f"{match} action drop")
    return "\n".join(lines) + "\n"


def set_discovery_filter(interface: str, delay_ms: int, netns: str | None = None) -> None:
    """Replace the discovery filter of `interface`, in this process's network namespace or `netns`."""
    tc = ["ip", "netns", "exec", netns, "tc"] if netns else ["tc"]
    subprocess.run(
        [*tc, "qdisc", "del", "dev", interface, "root"], capture_output=True, check=False, timeout=30
    )
    batch = discovery_filter(interface, delay_ms)
    if batch:
        done = subprocess.run(
            [*tc, "-batch", "-"], input=batch, capture_output=True, text=True, check=False, timeout=30
        )
        if done.returncode:
            raise AgentError(f"tc cannot set the discovery filter of {interface}: {done.stderr.strip()}")


def discovery_blocked(ipr, interface: str) -> bool | None:
    """Whether `interface` has a discovery filter (the prio root qdisc 1: that it lives in),
    read through netlink; None when the interface is not there."""
    index = ipr.link_lookup(ifname=interface)
    if not index:
        return None
    return any(
        q.get_attr("TCA_KIND") == "prio" and q["handle"] == 0x10000 and q["parent"] == 0xFFFFFFFF
        for q in ipr.get_qdiscs(index=index[0])
    )


def check_health(
    config: AgentConfig, role: str | None = None, server_running: bool | None = None
) -> tuple[bool, str, str | None]:
    """(healthy, why, accel-ppp's PADO-delay): the PPPoE server answers, the access link is up.

    accel-ppp must answer its CLI whatever the role (the PADO-delay it reports comes back for
    the agent to correct); the rp-pppoe server must run while this BNG is active (a standby's
    runs behind the discovery filter, and its agent starts it again when it is missing). role
    None reads the agent's status file; server_running None looks for the rp-pppoe server
    among the namespace's processes.
    """
    if not interface_running(config.access_interface):
        return False, f"access interface {config.access_interface} is down or has no carrier", None
    if config.server == "accel-ppp":
        cli = AccelPppCli(
            host=config.accel_ppp_host,
            port=config.accel_ppp_port,
            password=config.accel_ppp_password,
            timeout=config.accel_ppp_timeout,
        )
        try:
            delay = cli.pppoe_show("PADO-delay")
        except AccelPppError as exc:
            return False, f"accel-ppp does not answer its CLI: {exc}", None
        return True, "accel-ppp answers its CLI", delay
    if role is None:
        try:
            with open(config.status_file, encoding="utf-8") as handle:
                role = json.load(handle).get("role")
        except (OSError, ValueError):
            role = "standby"
    if role != "active":
        return True, "rp-pppoe standby (discovery filtered)", None
    if server_running is None:
        server_running = bool(find_processes(SERVER_PROCESSES["rp-pppoe"], _netns_inode()))
    if not server_running:
        return False, "the rp-pppoe server is not running on the active BNG", None
    return True, "rp-pppoe server running", None


# The sequence a hello and its acknowledgement carry (a snapshot's sequence starts at 1).
HELLO = 0


class _PeerLink:
    """The active agent's connection to the standby's: one message out, its acknowledgement back."""

    def __init__(self, agent: Agent):
        self.agent = agent
        self.config = agent.config
        self.sock: socket.socket | None = None
        self.reader = FrameReader()
        self.retry_at = 0.0
        self.failing = False
        # The standby said it holds no state of this sequence (it restarted): send it in full.
        self.needs_state = False

    @property
    def ack_timeout(self) -> float:
        # The standby may be busy (a loaded host): waiting for its acknowledgement costs nothing.
        return max(5.0, self.config.peer_timeout * 4)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def send(self, message: Mapping, sequence: int) -> float | None:
        """Send, wait for the acknowledgement of sequence; its arrival time, None on failure.

        The message is counted and signed here, after the hello of a new connection: the
        standby refuses a count lower than one it has seen.
        """
        if time.monotonic() < self.retry_at:
            return None
        try:
            if self.sock is None:
                self.sock = connect(
                    self.config.peer_address,
                    self.config.peer_port,
                    self.config.peer_timeout * 2,
                    self.config.listen_address,
                )
                self.reader = FrameReader()
                # The standby takes only a small frame from a connection until it proves itself.
                self.sock.settimeout(self.ack_timeout)
                self.sock.sendall(frame(self.agent.encode_for_peer({"type": "hello", "sequence": HELLO})))
                self._read_ack(HELLO)
            self.sock.settimeout(self.ack_timeout)
            self.sock.sendall(frame(self.agent.encode_for_peer(message)))
            ack = self._read_ack(sequence)
        except (OSError, FailoverStateError) as exc:
            self.close()
            if not self.failing:
                log.warning(
                    "replication to [%s]:%d failed: %s (retrying every 2 s)",
                    self.config.peer_address,
                    self.config.peer_port,
                    exc,
                )
            self.failing = True
            self.retry_at = time.monotonic() + 2.0
            return None
        if self.failing:
            log.info("replication to [%s]:%d works again", self.config.peer_address, self.config.peer_port)
        self.failing = False
        self.needs_state = bool(ack.get("need_state"))
        return time.time()

    def _read_ack(self, sequence: int) -> dict:
        deadline = time.monotonic() + self.ack_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no acknowledgement of sequence {sequence}")
            self.sock.settimeout(remaining)
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the peer closed the replication connection")
            for raw in self.reader.feed(data):
                message = decode(raw, self.config.key, "acknowledgement")
                if message.get("type") == "ack" and message.get("sequence") == sequence:
                    return message


class Agent:
    """The failover agent of one BNG (see the module's description)."""

    def __init__(self, config: AgentConfig):
        self.config = config
        self.boot_id = secrets.token_hex(8)
        self.lock = threading.RLock()
        self.stop_event = threading.Event()
        self.poke = threading.Event()
        self.role = "standby"
        self.keepalived_state: str | None = None
        self.healthy: bool | None = None
        self.health_reason = "not checked yet"
        self.cli_failures = 0
        self.peer_state: StoredState | None = None
        self.state_problem: str | None = None
        self.adopted: dict[tuple[int, str, str], Adopted] = {}
        self.by_fd: dict[int, Adopted] = {}
        self.rehome_queue: list[tuple[int, str, str]] = []
        self.rehome_interval = 1.0 / config.rehome_rate
        # Stage one's PADTs (device, frame), sent at padt_rate so that the clients do not all
        # redial at the same moment.
        self.padt_queue: collections.deque[tuple[str, bytes]] = collections.deque()
        self.next_padt = 0.0
        # The configured takeover, which an operator may switch at run time (drills, benchmarks).
        self.takeover_mode = config.takeover
        self.next_rehome = 0.0
        self.lag = LagMeter()
        self.last_sent: dict | None = None
        self.sent_sessions = 0
        self.sequence = 0
        self.last_change = time.time()
        self.since: dict[tuple, float] = {}
        self.last_takeover: dict | None = None
        self.netns_inode = _netns_inode()
        self.own_mac: str | None = None
        self.selector = selectors.DefaultSelector()
        self.connections: dict[socket.socket, PeerConnection] = {}
        self.peer_guard = ReplayGuard(config.max_skew)
        self.refused_connections = 0
        self.refusal_logged: dict[str, float] = {}
        # Every message this agent sends its peer counts one up (the peer refuses a count it saw).
        self.message_counter = 0
        self.control_clients: dict[socket.socket, bytearray] = {}
        # The PPPoE server process the watcher thread follows (None: none runs).
        self.server_pid: int | None = None
        self.next_status = 0.0
        self._last_status: dict | None = None
        self._status_due = 0.0
        self.retry_takeover: float | None = None
        self.acked_sequence = 0
        self.transport = LagMeter()
        self.server_started_at = 0.0
        # systemctl start requests of the rp-pppoe server still waiting for systemd's answer.
        self.server_start_requests = 0
        # Since when a standby's rp-pppoe server has been missing (started again after STANDBY_GRACE).
        self.server_missing_since: float | None = None
        self.ipr = None
        self.events = None
        self.fifo_fd: int | None = None
        self.fifo_buffer = b""
        self.threads: list[threading.Thread] = []
        self.calls: queue.SimpleQueue = queue.SimpleQueue()
        self.wake_read, self.wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._descriptor_problem: str | None = None

    # -- setup and the main loop ---------------------------------------------------------------------

    def run(self) -> int:
        from pyroute2 import IPRoute  # only the agent needs netlink; the CLI entry points do not

        config = self.config
        soft, hard = raise_open_file_limit()
        log.info("open file limit %d (hard %d): room to adopt %d sessions", soft, hard, budget(0).adoptable)
        for directory in (config.instance_run_dir, config.instance_state_dir, config.pppd_records_dir):
            os.makedirs(directory, mode=0o700, exist_ok=True)
        os.chmod(config.pppd_records_dir, 0o755)
        self.ipr = IPRoute()
        self.events = IPRoute()
        self.events.bind()
        self.own_mac = link_mac(self.ipr, config.access_interface)
        self._load_stored_state()
        self._reclaim()
        self._open_listeners()
        self._quiet_ipv6(config.access_interface)
        if os.path.exists(config.fenced_file):
            self.role = "fenced"
            self._set_link(config.access_interface, False)
        else:
            self.role = "active" if self._holds_vip() else "standby"
        log.info(
            "agent %s started (%s, takeover %s, access %s %s): %s",
            config.instance,
            config.server,
            config.takeover,
            config.access_interface,
            self.own_mac,
            {
                "active": "holding the VIP: resuming as active",
                "fenced": "fenced before the restart: access link down until `rejoin`",
            }.get(self.role, "standby"),
        )
        if self.role == "active":
            self._resume_journal()
        else:
            self._journal(None)
        if config.server == "accel-ppp" and not config.server_unit:
            log.warning(
                "no server_unit for accel-ppp: a fence cannot stop accel-pppd, and one that systemd "
                "restarts brings the access link up (this agent puts it down again)"
            )
        self.healthy, self.health_reason, _pado_delay = check_health(config, self.role)
        self._write_track()
        signal.signal(signal.SIGTERM, lambda *_: self.stop_event.set())
        signal.signal(signal.SIGINT, lambda *_: self.stop_event.set())
        for target in (self._collector_loop, self._health_loop, self._server_watch_loop):
            thread = threading.Thread(target=target, name=target.__name__, daemon=True)
            thread.start()
            self.threads.append(thread)
        sd_notify("READY=1\nSTATUS=" + self.role)
        try:
            while not self.stop_event.is_set():
                # A bug in one handler must not take the adopted sessions' responder down.
                try:
                    timeout = self._timers(time.monotonic())
                except Exception:
                    log.exception("timers")
                    timeout = 1.0
                for key, mask in self.selector.select(timeout):
                    try:
                        key.data(key.fileobj, mask)
                    except Exception:
                        log.exception("handling %s", getattr(key.data, "__name__", key.data))
        finally:
            self.stop_event.set()
            self._write_status()
            log.info(
                "agent %s stopping (%d adopted sessions stay in systemd's store)",
                config.instance,
                len(self.adopted),
            )
        return 0

    @staticmethod
    def _quiet_ipv6(name: str) -> None:
        # An interface that carries an AC MAC for adopted sessions carries PPPoE only: no
        # link-local address, no MLD or ND frames of its own.
        with (
            contextlib.suppress(OSError),
            open(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6", "w") as handle,
        ):
            handle.write("1")

    def _holds_vip(self) -> bool:
        if self.config.vip is None:
            return self.keepalived_state == "MASTER"
        target = ipaddress.ip_address(self.config.vip)
        family = socket.AF_INET6 if target.version == 6 else socket.AF_INET
        for msg in netlink_dump(self.ipr.get_addr, family=family):
            address = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
            if address and ipaddress.ip_address(address) == target:
                return True
        return False

    def _open_listeners(self) -> None:
        config = self.config
        family = socket.AF_INET6 if ":" in config.listen_address else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            # The core address may still be tentative (DAD) right after boot.
            with contextlib.suppress(OSError):
                listener.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND
        deadline = time.monotonic() + 30
        while True:
            try:
                listener.bind((config.listen_address, config.listen_port))
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise AgentError(
                        f"cannot listen on [{config.listen_address}]:{config.listen_port}: {exc.strerror}"
                    ) from None
                time.sleep(0.5)
        listener.listen(8)
        listener.setblocking(False)
        self.selector.register(listener, selectors.EVENT_READ, self._accept_replication)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(config.control_socket)
        control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        control.bind(config.control_socket)
        os.chmod(config.control_socket, 0o600)
        control.listen(8)
        control.setblocking(False)
        self.selector.register(control, selectors.EVENT_READ, self._accept_control)
        if not os.path.exists(config.fifo):
            os.mkfifo(config.fifo, 0o600)
        # Opened read-write so that keepalived closing its end never gives us end-of-file.
        self.fifo_fd = os.open(config.fifo, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        self.selector.register(self.fifo_fd, selectors.EVENT_READ, self._read_fifo)
        self.selector.register(self.events.fileno(), selectors.EVENT_READ, self._netlink_event)
        self.selector.register(self.wake_read, selectors.EVENT_READ, self._run_calls)

    def call_soon(self, func) -> None:
        """Run func in the main loop, which owns the adopted sessions (for the other threads)."""
        self.calls.put(func)
        with contextlib.suppress(BlockingIOError):
            os.write(self.wake_write, b"x")

    def _run_calls(self, fd: int, mask: int) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(fd, 4096)
        while True:
            try:
                func = self.calls.get_nowait()
            except queue.Empty:
                return
            func()

    # -- timers ------------------------------------------------------------------------------------------

    def _timers(self, now: float) -> float:
        """Run what is due; the seconds until the next thing is due (the selector's timeout)."""
        due = now + 1.0
        for adopted in list(self.adopted.values()):
            if now >= adopted.next_echo:
                self._echo(adopted, now)
            ra = adopted.session.ipv6_prefix and adopted.session.ipv6_local_ll
            if ra and now >= adopted.next_ra:
                self._send_ra(adopted)
                adopted.next_ra = now + self.config.ra_interval
            due = min(due, adopted.next_echo, adopted.next_ra if ra else due)
        if self.rehome_queue and now >= self.next_rehome:
            key = self.rehome_queue.pop(0)
            if key in self.adopted:
                self._drop(
                    self.adopted[key], "re-homed: PADT, the client redials this BNG's PPPoE server", padt=True
                )
            self.next_rehome = now + self.rehome_interval
        if self.rehome_queue:
            due = min(due, self.next_rehome)
        if self.padt_queue:
            self._send_due_padts(now)
            if self.padt_queue:
                due = min(due, self.next_padt)
        if self.retry_takeover is not None and now >= self.retry_takeover:
            self.retry_takeover = None
            if self.role != "active" and self._holds_vip():
                self.take_over("retry after a refusal")
        if self.retry_takeover is not None:
            due = min(due, self.retry_takeover)
        self._close_idle_connections(now)
        if now >= self.next_status:
            self._write_status()
            self.next_status = now + 1.0
        return max(due - time.monotonic(), 0.0)

    # -- keepalived: notify fifo and the VIP --------------------------------------------------------------

    def _read_fifo(self, fd: int, mask: int) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        self.fifo_buffer += data
        *lines, self.fifo_buffer = self.fifo_buffer.split(b"\n")
        for raw in lines:
            parsed = parse_fifo_line(raw.decode("utf-8", errors="replace"))
            if parsed:
                self.keepalived_event(parsed[1], f"keepalived: {parsed[0]} {parsed[1]}")

    def _netlink_event(self, fileobj: int, mask: int) -> None:
        try:
            messages = self.events.get()
        except Exception as exc:  # a netlink overrun: re-read everything
            log.debug("netlink: %s", exc)
            messages = []
            self.poke.set()
        vip = ipaddress.ip_address(self.config.vip) if self.config.vip else None
        for msg in messages:
            event = msg.get("event")
            if event in ("RTM_NEWLINK", "RTM_DELLINK"):
                name = msg.get_attr("IFLA_IFNAME") or ""
                access = name == self.config.access_interface and event == "RTM_NEWLINK"
                if access and self.role == "fenced":
                    self._keep_fenced()
                if name.startswith("ppp") or access:
                    self.poke.set()
            elif event in ("RTM_NEWADDR", "RTM_DELADDR"):
                address = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
                if vip is not None and address and ipaddress.ip_address(address) == vip:
                    self.keepalived_event(
                        "MASTER" if event == "RTM_NEWADDR" else "VIP-GONE",
                        f"VIP {vip} {'added' if event == 'RTM_NEWADDR' else 'removed'}",
                    )
                else:
                    self.poke.set()
            elif (
                # The rp-pppoe server's ipv6-up hook routes a subscriber's prefix after IPv6CP.
                event in ("RTM_NEWROUTE", "RTM_DELROUTE")
                and self.config.server == "rp-pppoe"
                and msg["family"] == socket.AF_INET6
                and 0 < msg["dst_len"] < 128
            ):
                self.poke.set()

    def keepalived_event(self, state: str, source: str) -> None:
        """React to an election result: MASTER takes over; anything else gives the active role up."""
        previous = self.keepalived_state
        if state != "VIP-GONE":
            self.keepalived_state = state
        if state == "MASTER":
            if self.role == "fenced":
                log.error(
                    "%s, but this BNG is fenced (access link down): not taking over until `rejoin`", source
                )
            elif self.role != "active":
                log.info("%s: becoming active", source)
                self.take_over(source)
            return
        if self.role == "active" and (state != "VIP-GONE" or self.config.vip is not None):
            log.warning(
                "%s: no longer active: fencing this BNG (access link down) before anything else", source
            )
            self.fence(f"lost the active role ({source})")
        elif state in ("BACKUP", "FAULT", "STOP") and previous != state:
            log.info("%s", source)

    # -- replication: the receiving (standby) side ------------------------------------------------------

    def _accept_replication(self, listener: socket.socket, mask: int) -> None:
        """A connection on the replication port: kept only from the peer, at most MAX_CONNECTIONS."""
        try:
            conn, source = listener.accept()
        except OSError:
            return
        if not same_address(source[0], self.config.peer_address):
            conn.close()
            self.refused_connections += 1
            now = time.monotonic()
            if now - self.refusal_logged.get(source[0], -3600.0) > 60:
                self.refusal_logged[source[0]] = now
                log.warning(
                    "replication port: refused a connection from %s (only the peer %s may connect)",
                    source[0],
                    self.config.peer_address,
                )
            return
        while len(self.connections) >= MAX_CONNECTIONS:
            self._close_connection(oldest_to_close(self.connections))
        now = time.monotonic()
        conn.setblocking(False)
        self.connections[conn] = PeerConnection(FrameReader(UNAUTHENTICATED_FRAME_LIMIT), now, now)
        self.selector.register(conn, selectors.EVENT_READ, self._read_replication)

    def _close_idle_connections(self, now: float) -> None:
        """Close what has not proven itself in time, and links silent for several heartbeats."""
        timeout = idle_timeout(self.config.replication_interval)
        for conn, connection in list(self.connections.items()):
            if connection.expired(now, timeout):
                self._close_connection(conn)

    def _accept(self, listener: socket.socket, clients: dict, buffer: Any, reader: Callable) -> None:
        """A new connection on a listening socket: non-blocking, with its buffer, read by `reader`."""
        try:
            conn, _peer_address = listener.accept()
        except OSError:
            return
        conn.setblocking(False)
        clients[conn] = buffer
        self.selector.register(conn, selectors.EVENT_READ, reader)

    def _close_connection(self, conn: socket.socket) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn)
        self.connections.pop(conn, None)
        conn.close()

    def _read_replication(self, conn: socket.socket, mask: int) -> None:
        try:
            data = conn.recv(262144)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close_connection(conn)
            return
        try:
            connection = self.connections[conn]
            messages = connection.reader.feed(data)
        except CorruptStateError as exc:
            log.error("replication link: %s; closing it", exc)
            self._close_connection(conn)
            return
        for raw in messages:
            reply = self._handle_peer_message(raw, connection)
            if reply is not None:
                try:
                    conn.setblocking(True)
                    conn.settimeout(2.0)
                    conn.sendall(frame(reply))
                    conn.setblocking(False)
                except OSError:
                    self._close_connection(conn)
                    return

    def _handle_peer_message(self, raw: bytes, connection: PeerConnection | None = None) -> bytes | None:
        received = time.time()
        try:
            message = decode(raw, self.config.key, "replicated state")
            if message["type"] in COUNTED_TYPES:
                self.peer_guard.check(message, received)
        except FailoverStateError as exc:
            self.state_problem = str(exc)
            log.error("refused a message from the peer: %s", exc)
            return None
        if connection is not None and message["type"] in COUNTED_TYPES:
            connection.authenticate(time.monotonic())
        if message["type"] == "status-request":
            return encode(self._status_for_peer(), self.config.key)
        if message["type"] == "hello":
            return encode({"type": "ack", "boot_id": message["boot_id"], "sequence": HELLO}, self.config.key)
        if message["type"] == "heartbeat":
            return self._heartbeat(message, received)
        if message["type"] != "state":
            return None
        try:
            snapshot = Snapshot.from_message(message, "replicated state")
        except CorruptStateError as exc:
            self.state_problem = str(exc)
            log.error("refused a replicated state: %s", exc)
            return None
        stored = StoredState(snapshot, received)
        if self.role == "active":
            log.error(
                "the peer %s sends its sessions as if it were active, and so is this BNG: split brain? "
                "(its state is not kept)",
                snapshot.instance,
            )
            self.state_problem = f"{snapshot.instance} replicates while this BNG is active"
        with self.lock:
            current = self.peer_state.snapshot if self.peer_state else None
            if snapshot.newer_than(current) and self.role != "active":
                changed = current is None or current.sessions != snapshot.sessions
                self.peer_state = stored
                self.state_problem = None
                if changed:
                    log.info(
                        "replicated state from %s: %d sessions (sequence %d)",
                        snapshot.instance,
                        len(snapshot.sessions),
                        snapshot.sequence,
                    )
                    self._store_state(stored)
        ack = {
            "type": "ack",
            "boot_id": snapshot.boot_id,
            "sequence": snapshot.sequence,
            "received": received,
        }
        return encode(ack, self.config.key)

    def _heartbeat(self, message: Mapping, received: float) -> bytes:
        """The active's state is unchanged: what this standby holds is fresh as of now."""
        with self.lock:
            stored = self.peer_state
            current = (
                stored is not None
                and stored.snapshot.boot_id == message.get("boot_id")
                and stored.snapshot.sequence == message.get("sequence")
                and self.role != "active"
            )
            if current:
                # In memory only: the file keeps the time of the last full state.
                self.peer_state = replace(stored, received=received)
        ack = {
            "type": "ack",
            "boot_id": message.get("boot_id"),
            "sequence": message.get("sequence"),
            "received": received,
            "need_state": not current,
        }
        return encode(ack, self.config.key)

    def _store_state(self, stored: StoredState) -> None:
        try:
            _atomic_write(self.config.state_file, encode_stored(stored, self.config.key))
        except OSError as exc:
            log.error("cannot write %s: %s", self.config.state_file, exc.strerror)

    def _load_stored_state(self) -> None:
        path = self.config.state_file
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return
        except OSError as exc:
            self.state_problem = f"cannot read {path}: {exc.strerror}"
            log.error("%s", self.state_problem)
            return
        try:
            self.peer_state = decode_stored(data, self.config.key, path)
        except CorruptStateError as exc:
            self.state_problem = f"refused the stored replicated state: {exc}"
            log.error(
                "%s; moved aside to %s.corrupt, taking over would rely on clients redialing",
                self.state_problem,
                path,
            )
            with contextlib.suppress(OSError):
                os.replace(path, path + ".corrupt")
            return
        log.info(
            "loaded the stored replicated state: %d sessions from %s, received %.1f s ago",
            len(self.peer_state.snapshot.sessions),
            self.peer_state.snapshot.instance,
            self.peer_state.age(time.time()),
        )

    def _status_for_peer(self) -> dict:
        status = self.status()
        return {
            "type": "status",
            **{
                key: status[key]
                for key in (
                    "instance",
                    "role",
                    "keepalived",
                    "healthy",
                    "health",
                    "adopted",
                    "replicated_state",
                    "last_takeover",
                )
            },
            "sessions": self.sent_sessions if self.role == "active" else 0,
        }

    def encode_for_peer(self, message: Mapping) -> bytes:
        """A message of the link to the standby: signed, with this start's boot_id and the next count."""
        with self.lock:
            self.message_counter += 1
            counted = {
                "created": time.time(),
                **message,
                "boot_id": self.boot_id,
                "counter": self.message_counter,
            }
        return encode(counted, self.config.key)

    def peer_status(self) -> dict:
        """The peer agent's status, asked over the replication link."""
        try:
            reply = decode(
                exchange(
                    self.config.peer_address,
                    self.config.peer_port,
                    encode({"type": "status-request"}, self.config.key),
                    max(self.config.peer_timeout, 2.0),
                    self.config.listen_address,
                ),
                self.config.key,
                "peer status",
            )
        except (OSError, FailoverStateError) as exc:
            raise AgentError(
                f"the peer agent at [{self.config.peer_address}]:{self.config.peer_port} does not answer: "
                f"{exc}"
            ) from None
        reply.pop("schema", None)
        reply.pop("version", None)
        reply.pop("type", None)
        return reply

    # -- replication: the sending (active) side -----------------------------------------------------------

    def _collector_loop(self) -> None:
        """While active: send the sessions when they change, and a heartbeat every interval.

        A change of the sessions always shows in netlink (a ppp interface or its address comes
        or goes), so the sessions are read on those events (again 2 s later, for the rp-pppoe
        hook's record that follows the address), and in full every replication_full_interval
        as a safety net. Between changes a small heartbeat tells the standby that the state it
        holds is still the current one, which is what keeps that state fresh.
        """
        from pyroute2 import IPRoute

        config = self.config
        ipr = IPRoute()
        link = _PeerLink(self)
        cli = self._cli()
        last_sessions: list | None = None
        acked_change: float | None = None
        next_read = next_beat = 0.0
        reread_at: float | None = None
        last_log = 0.0
        while not self.stop_event.is_set():
            if self.role == "active":
                wait = max(min(next_read, next_beat, reread_at or next_read) - time.monotonic(), 0.0)
            else:
                wait = 1.0
            poked = self.poke.wait(wait)
            self.poke.clear()
            if self.role != "active" or self.stop_event.is_set():
                link.close()
                last_sessions = None
                next_read = next_beat = 0.0
                continue
            now = time.monotonic()
            read = poked or now >= next_read or (reread_at is not None and now >= reread_at)
            if poked:
                # A session coming up sends several netlink events: read once they settle.
                time.sleep(0.05)
                self.poke.clear()
                reread_at = now + 2.0
            elif reread_at is not None and now >= reread_at:
                reread_at = None
            if read:
                next_read = now + config.replication_full_interval
                try:
                    sessions = self._settled_sessions(lambda: self._read_sessions(ipr, cli), last_sessions)
                except Exception as exc:  # keep replicating; the next round reads again
                    log.warning("reading the sessions failed: %s", exc)
                    continue
                if sessions is None:
                    continue
                if sessions != last_sessions or link.needs_state:
                    if sessions != last_sessions:
                        self.last_change = time.time()
                    last_sessions = sessions
                    with self.lock:
                        self.sequence += 1
                        snapshot = Snapshot(
                            config.instance,
                            self.boot_id,
                            self.sequence,
                            time.time(),
                            tuple(sessions),
                            self.last_change,
                        )
                        self.sent_sessions = len(sessions)
                    acked = link.send(snapshot.message(), snapshot.sequence)
                    next_beat = time.monotonic() + config.replication_interval
                    if acked is None:
                        continue
                    self.acked_sequence = snapshot.sequence
                    self.transport.add(acked - snapshot.created)
                    if snapshot.changed != acked_change:
                        acked_change = snapshot.changed
                        self.lag.add(acked - snapshot.changed)
                        log.info(
                            "replicated %d sessions to [%s]:%d (sequence %d): change-to-ack lag %.1f ms",
                            len(sessions),
                            config.peer_address,
                            config.peer_port,
                            snapshot.sequence,
                            (acked - snapshot.changed) * 1000,
                        )
                        last_log = acked
                    continue
            if time.monotonic() >= next_beat and last_sessions is not None:
                sent = time.time()
                beat = {
                    "type": "heartbeat",
                    "boot_id": self.boot_id,
                    "sequence": self.sequence,
                    "created": sent,
                }
                acked = link.send(beat, self.sequence)
                next_beat = time.monotonic() + config.replication_interval
                if acked is not None:
                    self.acked_sequence = self.sequence
                    self.transport.add(acked - sent)
                    if acked - last_log > 60:
                        log.info(
                            "replication: %d sessions, lag %s, transport %s",
                            len(last_sessions),
                            self.lag.summary(),
                            self.transport.summary(),
                        )
                        last_log = acked
                if link.needs_state:
                    next_read = 0.0

    def _settled_sessions(self, read: Callable[[], list], last: list | None) -> list | None:
        """The sessions to replicate, or None when sessions went away with the PPPoE server."""
        sessions = read()
        if last and _lost(last, sessions):
            self.stop_event.wait(REMOVAL_HOLD)
            if not self._serving():
                log.info(
                    "%d sessions went away with the PPPoE server: not replicated", len(last) - len(sessions)
                )
                return None
            sessions = read()
        return sessions

    def _serving(self) -> bool:
        """Active, healthy, and its PPPoE server process alive."""
        return self.role == "active" and self.healthy and self.server_pid is not None

    def _cli(self) -> AccelPppCli | None:
        if self.config.server != "accel-ppp":
            return None
        return AccelPppCli(
            host=self.config.accel_ppp_host,
            port=self.config.accel_ppp_port,
            password=self.config.accel_ppp_password,
            timeout=self.config.accel_ppp_timeout,
        )

    def _read_sessions(self, ipr, cli: AccelPppCli | None) -> list[ReplicatedSession]:
        """Every session this BNG serves now: its PPPoE server's and the adopted ones."""
        links, addresses, macs = self._netlink_dump(ipr)
        # accel-ppp's CLI names a session's IPv6 prefixes; for the rp-pppoe server, its routes do.
        routes = self._ipv6_routes(ipr) if self.config.server == "rp-pppoe" else []
        ppp = link_facts(links, addresses, routes)
        now = time.time()
        with self.lock:
            adopted = [
                replace(a.session, origin="adopted", ifname=a.channel.ifname) for a in self.adopted.values()
            ]
        exclude = {a.key for a in adopted}
        if self.config.server == "accel-ppp":
            try:
                kernel = read_proc_net_pppoe()
            except PppoeKernelError:
                kernel = []
            rows = cli.show_sessions(
                ["ifname", "username", "ip", "ip6", "ip6-dp", "calling-sid", "uptime-raw"]
            )
            served = join_accel_ppp(kernel, rows, ppp, macs, now, exclude)
        else:
            served = self._read_rp_pppoe(ppp, macs, exclude)
        current = served + adopted
        keys = {s.key for s in current}
        for key in list(self.since):
            if key not in keys:
                del self.since[key]
        # accel-ppp reports uptime in whole seconds: keep the first-seen start of each session.
        current = [replace(s, since=self.since.setdefault(s.key, s.since)) for s in current]
        return sorted(current, key=lambda s: (s.ac_mac, s.client_mac, s.session_id))

    def _read_rp_pppoe(
        self, ppp: Mapping[str, dict], macs: Mapping[str, str], exclude: set
    ) -> list[ReplicatedSession]:
        sessions = []
        for pid in find_processes(("pppd",), self.netns_inode):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    argv = [arg.decode("utf-8", "replace") for arg in handle.read().split(b"\0") if arg]
            except OSError:
                continue
            parsed = parse_rp_pppoe_argv(argv)
            if parsed is None:
                continue
            record: dict[str, str] = {}
            since = time.time()
            path = os.path.join(self.config.pppd_records_dir, f"{pid}.ip")
            with contextlib.suppress(OSError):
                with open(path, encoding="utf-8") as handle:
                    record = parse_pppd_record(handle.read())
                since = os.stat(path).st_mtime
            session = rp_pppoe_session(parsed, record, ppp, macs, since)
            if session is not None and session.key not in exclude:
                sessions.append(session)
        return sessions

    @staticmethod
    def _netlink_dump(ipr) -> tuple[list[dict], list[dict], dict[str, str]]:
        links, macs = [], {}
        for msg in netlink_dump(ipr.get_links):
            name = msg.get_attr("IFLA_IFNAME")
            mac = msg.get_attr("IFLA_ADDRESS")
            links.append(
                {
                    "index": msg["index"],
                    "name": name,
                    "type": msg["ifi_type"],
                    "mtu": msg.get_attr("IFLA_MTU"),
                }
            )
            if mac and msg["ifi_type"] == 1:
                with contextlib.suppress(MacAddressError):
                    macs[name] = normalise_mac(mac)
        addresses = []
        for msg in netlink_dump(ipr.get_addr):
            local = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
            peer = msg.get_attr("IFA_ADDRESS")
            addresses.append(
                {
                    "index": msg["index"],
                    "family": msg["family"],
                    "local": local,
                    "peer": peer if peer != local else None,
                }
            )
        return links, addresses, macs

    @staticmethod
    def _ipv6_routes(ipr) -> list[dict]:
        """The main table's IPv6 routes with an outgoing interface, for link_facts.

        Not _netns.Kernel.routes: that module imports pyroute2 at once (seconds under emulation
        for every `isplab-bng-failover` command) and is not installed with the agent.
        """
        routes = []
        for msg in netlink_dump(ipr.get_routes, family=socket.AF_INET6):
            dst = msg.get_attr("RTA_DST")
            oif = msg.get_attr("RTA_OIF")
            table = msg.get_attr("RTA_TABLE") or msg["table"]
            if dst and oif and table == RT_TABLE_MAIN:  # not the local table's own and multicast
                routes.append({"oif": oif, "family": socket.AF_INET6, "dst": f"{dst}/{msg['dst_len']}"})
        return routes

    # -- health: keepalived's track file and the discovery posture ---------------------------------------

    def _health_loop(self) -> None:
        from pyroute2 import IPRoute

        ipr = IPRoute() if self.config.server == "rp-pppoe" else None  # this thread's own socket
        while not self.stop_event.wait(self.config.health_interval):
            running = self.server_pid is not None if self.config.server == "rp-pppoe" else None
            healthy, reason, delay = check_health(self.config, self.role, running)
            healthy, reason = self._hold_verdict(healthy, reason)
            if not healthy and self.role == "active" and self._server_starting():
                healthy, reason = True, f"starting the PPPoE server ({reason})"
            if healthy != self.healthy:
                (log.info if healthy else log.warning)("health: %s", reason)
            self.healthy, self.health_reason = healthy, reason
            self._write_track()
            if delay is not None and self.role in ("active", "standby"):
                self._enforce_pado_delay(delay)
            if ipr is not None and self.role in ("active", "standby"):
                self._keep_rp_pppoe_posture(ipr)
            if self.role == "fenced" and interface_up(self.config.access_interface):
                self.call_soon(self._keep_fenced)  # should a netlink event have been missed

    def _hold_verdict(self, healthy: bool, reason: str) -> tuple[bool, str]:
        """An accel-ppp whose CLI does not answer counts as failed only after `health_failures`
        checks in a row: a busy host delays answers (seen: more than 2 s under emulation while
        20 subscribers dialed), and a spurious failover fences a BNG that serves. A dead
        accel-pppd is noticed at once through its process, a link down at the first check."""
        if (
            healthy
            or self.config.server != "accel-ppp"
            or not interface_running(self.config.access_interface)
        ):
            self.cli_failures = 0
            return healthy, reason
        self.cli_failures += 1
        if self.cli_failures >= self.config.health_failures or not self.healthy:
            return False, reason
        log.warning(
            "%s (check %d of %d before it counts)", reason, self.cli_failures, self.config.health_failures
        )
        return True, self.health_reason

    def _keep_rp_pppoe_posture(self, ipr) -> None:
        """The rp-pppoe server's discovery posture: the active's filter gone (a reload of the
        server's unit puts its configured filter back), the standby's in place, and the
        standby's server running behind it, ready to answer the moment the filter goes."""
        try:
            blocked = discovery_blocked(ipr, self.config.access_interface)
        except Exception as exc:  # netlink hiccup: look again at the next check
            log.warning("cannot read the discovery filter of %s: %s", self.config.access_interface, exc)
            return
        active = self.role == "active"
        if blocked is not None and blocked == active:
            log.warning(
                "the discovery filter of %s is %s on this %s BNG: %s it",
                self.config.access_interface,
                "in place" if blocked else "missing",
                self.role,
                "removing" if blocked else "putting back",
            )
            self._set_filter(answer=active)
        if active or self.keepalived_state == "MASTER" or self.server_pid is not None:
            self.server_missing_since = None
            return
        now = time.monotonic()
        if self.server_missing_since is None:
            self.server_missing_since = now
        elif now - self.server_missing_since > STANDBY_GRACE and self.server_start_requests == 0:
            log.warning("the standby's rp-pppoe server is not running: starting it (behind its filter)")
            self.server_missing_since = now
            self._start_server()

    def _server_watch_loop(self) -> None:
        """Notice the PPPoE server's death at once (a pidfd), not at the next health check."""
        names = SERVER_PROCESSES[self.config.server]
        gone: set[int] = set()
        while not self.stop_event.is_set():
            # A dead server may stay listed until it is reaped: never watch the same pid twice.
            pids = [pid for pid in find_processes(names, self.netns_inode) if pid not in gone]
            if not pids:
                # A standby's rp-pppoe server is stopped: look for a new one less often.
                idle = self.role != "active" and self.config.server == "rp-pppoe"
                self.stop_event.wait(
                    max(self.config.health_interval, 3.0) if idle else self.config.health_interval
                )
                continue
            pid = pids[0]
            try:
                pidfd = os.pidfd_open(pid)
            except OSError:
                gone.add(pid)
                continue
            self.server_pid = pid
            try:
                poller = select.poll()
                poller.register(pidfd, select.POLLIN)
                while not self.stop_event.is_set() and not poller.poll(500):
                    pass
            finally:
                os.close(pidfd)
            gone.add(pid)
            self.server_pid = None
            if not self.stop_event.is_set():
                self.call_soon(lambda pid=pid: self._server_died(pid))

    def _server_died(self, pid: int) -> None:
        if self.role == "active":
            self.healthy, self.health_reason = False, f"the PPPoE server (pid {pid}) died"
            self.fence(self.health_reason)
        else:
            log.info("the PPPoE server (pid %d) stopped", pid)

    def _write_track(self) -> None:
        value = b"0\n" if self.healthy and self.role != "fenced" else b"1\n"
        with contextlib.suppress(OSError), open(self.config.track_file, "rb") as handle:
            if handle.read() == value:
                return
        with contextlib.suppress(OSError):
            _atomic_write(self.config.track_file, value, 0o644, sync=False)

    def _enforce_pado_delay(self, current: str) -> None:
        """accel-ppp answers discovery at once on the active, never on the standby (a restarted
        or reloaded accel-pppd comes back with its configuration's delay)."""
        wanted = PADO_DELAY_ACTIVE if self.role == "active" else PADO_DELAY_STANDBY
        if current == wanted:
            return
        try:
            self._cli().pppoe_set("PADO-delay", wanted)
            log.info("accel-ppp PADO-delay %s -> %s (%s)", current, wanted, self.role)
        except AccelPppError as exc:
            log.warning("cannot set accel-ppp's PADO-delay to %s: %s", wanted, exc)

    def _discovery(self, answer: bool) -> None:
        """Start or stop answering discovery: accel-ppp's PADO-delay; for the rp-pppoe server,
        which keeps running on the standby, the discovery filter on the access interface (and
        its unit started, should it not run)."""
        if self.config.server == "accel-ppp":
            cli = self._cli()
            wanted = PADO_DELAY_ACTIVE if answer else PADO_DELAY_STANDBY
            try:
                cli.pppoe_set("PADO-delay", wanted)
            except AccelPppError as exc:
                log.warning("cannot set accel-ppp's PADO-delay to %s: %s", wanted, exc)
            return
        # The filter first, before any PADT goes out: a client that redials must get its PADO.
        self._set_filter(answer)
        if answer and self.server_pid is None and self.server_start_requests == 0:
            log.info("the rp-pppoe server is not running: starting it")
            self._start_server()

    def _set_filter(self, answer: bool) -> None:
        try:
            set_discovery_filter(self.config.access_interface, 0 if answer else -1)
            log.info(
                "discovery on %s: %s", self.config.access_interface, "answered" if answer else "filtered"
            )
        except (AgentError, OSError, subprocess.TimeoutExpired) as exc:
            log.error("%s", exc)

    def _start_server(self) -> None:
        self.server_started_at = time.monotonic()
        self.server_start_requests += 1
        # In a thread: starting a process is slow on a busy host, and the adoption must not wait.
        threading.Thread(target=self._server_unit, args=("start",), daemon=True).start()

    def _server_unit(self, action: str) -> None:
        try:
            self._systemctl(action, self.config.server_unit)
        finally:
            if action == "start":
                self.server_start_requests -= 1

    def _server_starting(self) -> bool:
        """The rp-pppoe server this BNG started is not up yet: within SERVER_START_GRACE of the
        start, or while systemd still has it activating (a busy host can take that long)."""
        if self.config.server != "rp-pppoe" or not self.server_started_at:
            return False
        if self.server_start_requests > 0 or time.monotonic() - self.server_started_at < SERVER_START_GRACE:
            return True
        try:
            state = subprocess.run(
                ["systemctl", "is-active", self.config.server_unit],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return False
        return state in ("activating", "reloading")

    @staticmethod
    def _systemctl(action: str, unit: str, attempts: int = 3) -> None:
        # systemd answers late when a failure makes dozens of units change at once (seen: more
        # than 30 s under emulation): wait longer than systemctl's own 25 s, and ask again.
        env = dict(os.environ, SYSTEMD_BUS_TIMEOUT=str(SYSTEMCTL_TIMEOUT))
        for attempt in range(1, attempts + 1):
            try:
                done = subprocess.run(
                    ["systemctl", "--no-block", action, unit],
                    capture_output=True,
                    text=True,
                    timeout=SYSTEMCTL_TIMEOUT + 5,
                    check=False,
                    env=env,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                log.warning("systemctl %s %s (attempt %d of %d): %s", action, unit, attempt, attempts, exc)
                continue
            if done.returncode != 0:
                log.warning("systemctl %s %s: %s", action, unit, done.stderr.strip())
            return

    # -- takeover ------------------------------------------------------------------------------------------

    def take_over(self, reason: str) -> None:
        """Become the active BNG: check the old one is gone, answer discovery, adopt, PADT the rest."""
        config = self.config
        started = time.monotonic()
        wall = time.time()
        with self.lock:
            stored = self.peer_state
        sessions = list(stored.snapshot.sessions) if stored else []
        watch = {s.ac_mac for s in sessions} | ({config.peer_ac_mac} if config.peer_ac_mac else set())
        watch.discard(self.own_mac)
        blocker = self._old_active_serves(watch)
        if blocker:
            log.error(
                "NOT taking over (%s): %s; keeping the standby posture and checking again in 1 s",
                reason,
                blocker,
            )
            self.retry_takeover = time.monotonic() + 1.0
            return
        self.role = "active"
        self._write_track()
        self._discovery(True)
        fresh = stored is not None
        if stored is None:
            why = self.state_problem or "no state was received from the peer since this agent started"
            log.warning(
                "taking over with NO replicated state (%s): the old active's clients will redial on their "
                "own when their LCP echoes fail",
                why,
            )
        else:
            try:
                stored.check_fresh(wall, config.state_max_age)
            except StaleStateError as exc:
                fresh = False
                log.warning(
                    "%s: sending PADT for its %d sessions instead of adopting them", exc, len(sessions)
                )
        kernel_keys = self._kernel_keys()
        owners = self._address_owners()
        with self.lock:
            adopted_keys = set(self.adopted)
        decisions = plan_takeover(sessions, self.takeover_mode, fresh, kernel_keys, owners, adopted_keys)
        journal = {
            "started": wall,
            "reason": reason,
            "sequence": stored.snapshot.sequence if stored else None,
            "state": stored.snapshot.message() if stored else None,
            "fresh": fresh,
        }
        self._journal(journal)
        outcome = self._execute(decisions)
        self._record_takeover(wall, time.monotonic() - started, reason, fresh, len(sessions), outcome)

    def _record_takeover(
        self, wall: float, elapsed: float, reason: str, fresh: bool, replicated: int, outcome: dict[str, str]
    ) -> None:
        """The takeover's summary: in the log, and in `status` as last_takeover."""
        counts = {
            action: sum(1 for v in outcome.values() if v == action) for action in ("adopted", "padt", "skip")
        }
        self.last_takeover = {
            "at": wall,
            "reason": reason,
            "seconds": round(elapsed, 3),
            "fresh": fresh,
            "replicated": replicated,
            **counts,
        }
        log.info(
            "took over in %.3f s: %d sessions replicated, %d adopted, %d sent a PADT, %d skipped (%s)",
            elapsed,
            replicated,
            counts["adopted"],
            counts["padt"],
            counts["skip"],
            reason,
        )
        self.poke.set()
        self._write_status()

    def _old_active_serves(self, watch: set[str]) -> str | None:
        """Why the old active BNG must not be taken over, or None: its agent, then its access port."""
        result: dict[str, str | None] = {}

        def ask_peer() -> None:
            try:
                reply = decode(
                    exchange(
                        self.config.peer_address,
                        self.config.peer_port,
                        encode({"type": "status-request"}, self.config.key),
                        self.config.peer_timeout,
                        self.config.listen_address,
                    ),
                    self.config.key,
                    "peer status",
                )
            except (OSError, TimeoutError, FailoverStateError) as exc:
                result["peer"] = None
                log.info("peer agent does not answer (%s): judged by the access link only", exc)
                return
            if reply.get("role") == "active" and reply.get("healthy"):
                result["peer"] = f"the peer agent {reply.get('instance')} reports itself active and healthy"
            else:
                log.info(
                    "peer agent %s reports role %s, %s",
                    reply.get("instance"),
                    reply.get("role"),
                    reply.get("health"),
                )

        thread = threading.Thread(target=ask_peer, daemon=True)
        thread.start()
        answered: list[str] = []
        if watch:
            try:
                answered = probe_for_pado(
                    self.config.access_interface, self.own_mac, watch, self.config.probe_timeout
                )
            except AdoptError as exc:
                log.warning("%s", exc)
        thread.join(self.config.peer_timeout + 0.5)
        if answered:
            return f"{', '.join(answered)} still answered a PADI on {self.config.access_interface}"
        return result.get("peer")

    def _kernel_keys(self) -> set[tuple[int, str, str]]:
        try:
            rows = read_proc_net_pppoe()
        except PppoeKernelError:
            return set()
        macs = self._netlink_dump(self.ipr)[2]
        return {(row.session_id, row.peer_mac, macs.get(row.device, "")) for row in rows}

    def _address_owners(self) -> dict[str, str | None]:
        """IPv4 addresses this BNG's own PPPoE server gave out, and to whom."""
        owners: dict[str, str | None] = {}
        if self.config.server == "accel-ppp":
            try:
                for row in self._cli().show_sessions(["username", "ip"]):
                    if row.get("ip"):
                        owners[row["ip"]] = row.get("username")
            except AccelPppError as exc:
                log.warning("cannot list accel-ppp's sessions to check addresses: %s", exc)
        links, addresses, _macs = self._netlink_dump(self.ipr)
        adopted_ifnames = {a.channel.ifname for a in self.adopted.values()}
        for name, facts in link_facts(links, addresses).items():
            if facts["ipv4"] and name not in adopted_ifnames:
                owners.setdefault(facts["ipv4"], None)
        return owners

    def _execute(self, decisions: list[Decision]) -> dict[str, str]:
        outcome: dict[str, str] = {}
        adopt = [d for d in decisions if d.action == "adopt"]
        padt = [d for d in decisions if d.action == "padt"]
        for decision in decisions:
            if decision.action == "skip":
                outcome[_key_text(decision.session.key)] = "skip"
        devices = self._prepare_devices({d.session.ac_mac for d in adopt})
        for decision in adopt:
            session = decision.session
            device = devices.get(session.ac_mac)
            try:
                if device is None:
                    raise AdoptError(f"no interface with {session.ac_mac}")
                self._adopt(session, device)
                outcome[_key_text(session.key)] = "adopted"
            except (AdoptError, OSError) as exc:
                log.warning("could not adopt %s: %s; sending a PADT instead", session.name, exc)
                padt.append(Decision(session, "padt", str(exc)))
            self._journal_done(session.key, outcome.get(_key_text(session.key), "padt"))
        if padt and not self.padt_queue:
            self.next_padt = time.monotonic()  # the first at once
        for decision in padt:
            session = decision.session
            device = devices.get(session.ac_mac) or self.config.access_interface
            self.padt_queue.append(
                (device, build_padt(session.session_id, session.client_mac, session.ac_mac))
            )
            outcome[_key_text(session.key)] = "padt"
            if decision.action == "padt":
                self._journal_done(session.key, "padt")
            log.info("PADT to %s: %s", session.name, decision.reason)
        if padt:
            log.info("sending %d PADTs at %g per second", len(padt), self.config.padt_rate)
            self._send_due_padts(time.monotonic())
        return outcome

    def _send_due_padts(self, now: float) -> None:
        """The PADTs due by now at padt_rate (more than one when the loop was late)."""
        due: dict[str, list[bytes]] = {}
        while self.padt_queue and now >= self.next_padt:
            device, frame = self.padt_queue.popleft()
            due.setdefault(device, []).append(frame)
            self.next_padt += 1.0 / self.config.padt_rate
        for device, frames in due.items():
            try:
                send_frames(device, frames)
            except PppoeKernelError as exc:
                log.error("PADTs on %s: %s", device, exc)

    def _prepare_devices(self, ac_macs: set[str]) -> dict[str, str]:
        """An up interface carrying each AC MAC: the access port for our own, a macvlan for others."""
        devices = {}
        access = self.ipr.link_lookup(ifname=self.config.access_interface)
        for mac in sorted(ac_macs):
            if mac == self.own_mac:
                devices[mac] = self.config.access_interface
                continue
            name = macvlan_name(mac)
            try:
                if not self.ipr.link_lookup(ifname=name):
                    if not access:
                        raise AdoptError(f"access interface {self.config.access_interface} does not exist")
                    self.ipr.link(
                        "add",
                        ifname=name,
                        kind="macvlan",
                        link=access[0],
                        macvlan_mode="private",
                        address=mac,
                    )
                self._quiet_ipv6(name)
                index = self.ipr.link_lookup(ifname=name)[0]
                self.ipr.link("set", index=index, state="up")
                devices[mac] = name
            except Exception as exc:  # a netlink error: those sessions get a PADT
                log.error("cannot bring up %s with MAC %s: %s", name, mac, exc)
        return devices

    def _adopt(self, session: ReplicatedSession, device: str) -> Adopted:
        channel = open_channel(session.session_id, session.client_mac, device, session.mtu)
        adopted = Adopted.start(session, channel, device)
        # Teach the switch where the AC MAC lives now, and learn whether the client is there.
        self._echo(adopted, adopted.last_heard)
        try:
            self._configure(adopted)
        except Exception as exc:
            channel.close()
            raise AdoptError(f"configuring {channel.ifname}: {exc}") from None
        self._register(adopted)
        sd_notify(
            "FDSTORE=1\nFDNAME=" + fd_name(session.session_id, session.client_mac, "sock"), [channel.sock_fd]
        )
        sd_notify(
            "FDSTORE=1\nFDNAME=" + fd_name(session.session_id, session.client_mac, "chan"), [channel.chan_fd]
        )
        sd_notify(
            "FDSTORE=1\nFDNAME=" + fd_name(session.session_id, session.client_mac, "unit"), [channel.unit_fd]
        )
        log.info("adopted %s as %s on %s (%s)", session.name, channel.ifname, device, session.ipv4)
        return adopted

    def _configure(self, adopted: Adopted) -> None:
        """Addresses and routes on the new pppN, as the old BNG had them: IPv4 first, by ioctl."""
        session, ifname = adopted.session, adopted.channel.ifname
        configure_ipv4(ifname, session.gateway, session.ipv4, session.mtu or 1492)
        if session.ipv6_local_ll:
            add_ipv6_link_local(ifname, session.ipv6_local_ll)
        prefixes = [p for p in (session.ipv6_prefix, session.ipv6_delegated) if p]
        if prefixes:
            index = socket.if_nametoindex(ifname)
            for prefix in prefixes:
                try:
                    self.ipr.route("replace", dst=prefix, oif=index, family=socket.AF_INET6)
                except Exception as exc:  # the IPv4 session works without it; say so
                    log.warning("%s: no route for %s on %s: %s", session.name, prefix, ifname, exc)

    def _register(self, adopted: Adopted) -> None:
        with self.lock:
            self.adopted[adopted.session.key] = adopted
        self.by_fd[adopted.channel.chan_fd] = adopted
        self.by_fd[adopted.channel.unit_fd] = adopted
        self.selector.register(adopted.channel.chan_fd, selectors.EVENT_READ, self._channel_readable)
        self.selector.register(adopted.channel.unit_fd, selectors.EVENT_READ, self._channel_readable)

    # -- adopted sessions: LCP, RA, ending -------------------------------------------------------------------

    def _echo(self, adopted: Adopted, now: float) -> None:
        """One LCP Echo-Request; a client that leaves echo_failures of them unanswered is gone.

        Until the client has answered once, the requests go every second, so that a session
        whose client left before the takeover is noticed in seconds and dropped with a PADT.
        """
        config = self.config
        if adopted.echoes_unanswered >= config.echo_failures:
            self._drop(
                adopted, f"client gone: {adopted.echoes_unanswered} LCP echo requests unanswered", padt=True
            )
            return
        adopted.echo_id = adopted.echo_id % 255 + 1
        try:
            adopted.channel.write(echo_request(adopted.echo_id, adopted.magic))
        except OSError as exc:
            self._drop(adopted, f"the channel failed: {exc.strerror}", padt=True)
            return
        adopted.echoes_unanswered += 1
        adopted.next_echo = now + (config.echo_interval if adopted.heard else min(1.0, config.echo_interval))

    def _channel_readable(self, fd: int, mask: int) -> None:
        adopted = self.by_fd.get(fd)
        if adopted is None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(fd)
            return
        unit = fd == adopted.channel.unit_fd
        for _round in range(64):
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                return
            except OSError as exc:
                self._drop(adopted, f"the channel failed: {exc.strerror}", padt=False)
                return
            if not data:
                # End of file: the channel is gone (the client's PADT unbound it).
                self._drop(adopted, "the client ended the session (PADT)", padt=False)
                return
            try:
                outcome = handle_unit_frame(data) if unit else handle_lcp_frame(data, adopted.magic)
            except FrameError as exc:
                log.debug("%s: %s", adopted.session.name, exc)
                continue
            if outcome.peer_magic is not None:
                adopted.peer_magic = outcome.peer_magic
            if not unit:
                adopted.last_heard = time.monotonic()
                adopted.echoes_unanswered = 0
                adopted.heard = True
            for reply in outcome.replies:
                with contextlib.suppress(OSError):
                    adopted.channel.write(reply)
            if outcome.end == "terminated":
                self._drop(adopted, "the client sent LCP Terminate-Request", padt=False)
                return
            if outcome.end == "renegotiate":
                self._drop(adopted, outcome.note or "the client renegotiates", padt=True)
                return

    def _send_ra(self, adopted: Adopted) -> None:
        config, session = self.config, adopted.session
        try:
            packet = build_router_advertisement(
                session.ipv6_prefix,
                config.ra_router_lifetime,
                config.ra_valid_lifetime,
                config.ra_preferred_lifetime,
                session.mtu,
            )
            send_router_advertisement(adopted.channel.ifname, session.ipv6_local_ll, packet)
        except (AdoptError, FrameError, ValueError) as exc:
            # Once per session and error: the client's IPv6 default route expires without RAs.
            if str(exc) != adopted.ra_error:
                log.warning("router advertisement for %s: %s", session.name, exc)
            adopted.ra_error = str(exc)
        else:
            adopted.ra_error = None

    def _drop(self, adopted: Adopted, why: str, padt: bool) -> None:
        """End an adopted session: optionally LCP Terminate-Request and PADT first, then close it."""
        session = adopted.session
        with self.lock:
            if self.adopted.get(session.key) is not adopted:
                return
            del self.adopted[session.key]
        if padt:
            with contextlib.suppress(OSError):
                adopted.channel.write(ppp_frame(PPP_LCP, lcp_packet(LCP_TERM_REQ, 1, b"")))
            with contextlib.suppress(PppoeKernelError):
                send_frames(
                    adopted.device, [build_padt(session.session_id, session.client_mac, session.ac_mac)]
                )
        for fd in (adopted.channel.chan_fd, adopted.channel.unit_fd):
            self.by_fd.pop(fd, None)
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(fd)
        sd_notify("FDSTOREREMOVE=1\nFDNAME=" + fd_name(session.session_id, session.client_mac, "sock"))
        sd_notify("FDSTOREREMOVE=1\nFDNAME=" + fd_name(session.session_id, session.client_mac, "chan"))
        sd_notify("FDSTOREREMOVE=1\nFDNAME=" + fd_name(session.session_id, session.client_mac, "unit"))
        adopted.channel.close()
        log.info("dropped adopted %s (%s): %s", session.name, adopted.channel.ifname, why)
        self.poke.set()

    # -- restart: descriptors from systemd and the journal ------------------------------------------------

    def _reclaim(self) -> None:
        channels, stray = stored_channels(os.environ)
        for fd in stray:
            with contextlib.suppress(OSError):
                os.close(fd)
        if not channels:
            return
        journal = self._read_journal() or {}
        known = {}
        state = journal.get("state")
        if state:
            with contextlib.suppress(FailoverStateError):
                for session in Snapshot.from_message(state, "journal").sessions:
                    known[(session.session_id, session.client_mac)] = session
        for (session_id, mac), fds in channels.items():
            session = known.get((session_id, mac))
            try:
                channel = channel_from_fds(fds["sock"], fds["chan"], fds["unit"])
            except AdoptError as exc:
                log.error("stored session %d %s: %s", session_id, mac, exc)
                for fd in fds.values():
                    with contextlib.suppress(OSError):
                        os.close(fd)
                continue
            if session is None:
                log.error("stored session %d %s is not in the takeover journal: closing it", session_id, mac)
                channel.close()
                continue
            device = (
                macvlan_name(session.ac_mac)
                if session.ac_mac != self.own_mac
                else self.config.access_interface
            )
            adopted = Adopted.start(session, channel, device)
            self._register(adopted)
            log.info("took back adopted %s as %s after a restart", session.name, channel.ifname)
        sd_notify(f"STATUS=reclaimed {len(self.adopted)} adopted sessions")

    def _journal(self, journal: dict | None) -> None:
        """Write (or with None, remove) the takeover journal: what the takeover started from."""
        for path in (self.config.journal_file, self.config.journal_file + ".done"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        if journal is not None:
            with contextlib.suppress(OSError):
                _atomic_write(self.config.journal_file, json.dumps(journal).encode(), sync=False)

    def _journal_done(self, key: tuple[int, str, str], outcome: str) -> None:
        """One line per session handled, appended: a restart knows where the takeover stood."""
        with (
            contextlib.suppress(OSError),
            open(self.config.journal_file + ".done", "a", encoding="utf-8") as log_,
        ):
            log_.write(f"{_key_text(key)} {outcome}\n")

    def _read_journal(self) -> dict | None:
        try:
            with open(self.config.journal_file, encoding="utf-8") as handle:
                journal = json.load(handle)
        except (OSError, ValueError):
            return None
        done: dict[str, str] = {}
        with (
            contextlib.suppress(OSError),
            open(self.config.journal_file + ".done", encoding="utf-8") as lines,
        ):
            for line in lines:
                key, _space, outcome = line.strip().rpartition(" ")
                if key:
                    done[key] = outcome
        journal["done"] = done
        return journal

    def _resume_journal(self) -> None:
        """Active after a restart: finish the takeover the journal records."""
        journal = self._read_journal()
        self._discovery(True)
        if not journal or not journal.get("state"):
            return
        try:
            snapshot = Snapshot.from_message(journal["state"], "journal")
        except FailoverStateError as exc:
            log.error("takeover journal: %s", exc)
            return
        # Adopted before the restart but not given back by systemd: that session died with the
        # old process (its socket closed), so it is adopted again.
        done = journal.get("done", {})
        pending = [
            s for s in snapshot.sessions if done.get(_key_text(s.key)) != "padt" and s.key not in self.adopted
        ]
        if not pending:
            return
        log.info("resuming an interrupted takeover: %d sessions still to adopt", len(pending))
        decisions = plan_takeover(
            pending,
            self.takeover_mode,
            bool(journal.get("fresh")),
            self._kernel_keys(),
            self._address_owners(),
            set(self.adopted),
        )
        outcome = self._execute(decisions)
        # The whole takeover, before and after the restart: what the journal says was done,
        # the sessions systemd gave back, and what this run did.
        given_back = {_key_text(s.key): "adopted" for s in snapshot.sessions if s.key in self.adopted}
        whole = {**done, **given_back, **outcome}
        started = float(journal.get("started") or time.time())
        self._record_takeover(
            started,
            time.time() - started,
            f"{journal.get('reason', 'takeover')}, resumed after an agent restart",
            bool(journal.get("fresh")),
            len(snapshot.sessions),
            whole,
        )

    # -- fencing, rejoin, release --------------------------------------------------------------------------

    def fence(self, why: str) -> None:
        """Stop serving at once: access link down first, then drop every session held here.

        The peer serves from this BNG's MAC now (its adopted sessions), so nothing here may
        send from it until `rejoin`: the PPPoE server's unit is stopped (a server that systemd
        restarted would answer discovery, and accel-pppd brings its interfaces up), and the
        access link is kept down, across restarts of this agent too.
        """
        self.role = "fenced"
        self._write_track()
        with contextlib.suppress(OSError):
            _atomic_write(self.config.fenced_file, why.encode() + b"\n", 0o644, sync=False)
        self._set_link(self.config.access_interface, False)
        for adopted in list(self.adopted.values()):
            self._drop(adopted, "fenced", padt=False)
        for name in self._macvlans():
            self._set_link(name, False)
        self._discovery(False)
        if self.config.server == "accel-ppp":
            with contextlib.suppress(AccelPppError):
                self._cli().terminate(all_sessions=True, mode="hard")
        if self.config.server_unit:
            # Its sessions go with the unit; `rejoin` starts it again, answering no discovery.
            threading.Thread(target=self._server_unit, args=("stop",), daemon=True).start()
        self._journal(None)
        log.warning("fenced (%s): access link %s down until `rejoin`", why, self.config.access_interface)
        self._write_status()

    def _keep_fenced(self) -> None:
        """Something brought a fenced BNG's access link up (accel-pppd does when it starts):
        down again, before it sends from the MAC the peer's adopted sessions use."""
        if self.role != "fenced" or not interface_up(self.config.access_interface):
            return
        log.warning(
            "access link %s came up while this BNG is fenced: putting it down (`rejoin` brings it up)",
            self.config.access_interface,
        )
        self._set_link(self.config.access_interface, False)

    def _macvlans(self) -> list[str]:
        return [
            m.get_attr("IFLA_IFNAME")
            for m in netlink_dump(self.ipr.get_links)
            if (m.get_attr("IFLA_IFNAME") or "").startswith("ac") and len(m.get_attr("IFLA_IFNAME")) == 14
        ]

    def _set_link(self, name: str, up: bool) -> None:
        try:
            index = self.ipr.link_lookup(ifname=name)
            if index:
                self.ipr.link("set", index=index[0], state="up" if up else "down")
        except Exception as exc:
            log.error("cannot set %s %s: %s", name, "up" if up else "down", exc)

    def rejoin(self) -> dict:
        """Come back as standby: no session left here, discovery off, then the access link up."""
        if self.role == "active":
            raise AgentError("this BNG is active: it cannot rejoin as standby (release it first)")
        if self.config.server == "accel-ppp":
            # accel-pppd brings the access link up when it starts: it must answer no discovery
            # (PADO-delay -1) and hold no session before this agent stops keeping the link down.
            if self.config.server_unit:
                self._systemctl("start", self.config.server_unit)
            self._accel_ppp_standby(time.monotonic() + ACCEL_PPP_START_TIMEOUT)
        else:
            self._discovery(False)
            # No session of this BNG may outlive the rejoin: the server goes (with its sessions'
            # pppd) and comes back behind the discovery filter once the access link is up.
            self._systemctl("stop", self.config.server_unit)
            self._wait_server_stopped()
        for name in self._macvlans():
            if not any(a.device == name for a in self.adopted.values()):
                with contextlib.suppress(Exception):
                    self.ipr.link("del", index=self.ipr.link_lookup(ifname=name)[0])
        self._set_link(self.config.access_interface, True)
        self.role = "standby"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.config.fenced_file)
        if self.config.server == "rp-pppoe":
            self._start_server()  # its unit puts the filter back first (pado_delay -1)
        self.healthy, self.health_reason, _pado_delay = check_health(self.config, self.role)
        self._write_track()
        log.info("rejoined as standby (access link %s up)", self.config.access_interface)
        self._write_status()
        return self.status()

    def _accel_ppp_standby(self, deadline: float) -> None:
        """Wait until accel-ppp answers its CLI, then: no discovery answered, no session held."""
        while True:
            try:
                cli = self._cli()
                cli.pppoe_set("PADO-delay", PADO_DELAY_STANDBY)
                if cli.show_sessions(["sid"]):
                    cli.terminate(all_sessions=True, mode="hard")
                return
            except AccelPppError as exc:
                if time.monotonic() > deadline:
                    raise AgentError(f"accel-ppp must answer before rejoining: {exc}") from None
            time.sleep(0.5)

    def _wait_server_stopped(self) -> None:
        deadline = time.monotonic() + 15
        while find_processes(SERVER_PROCESSES["rp-pppoe"] + ("pppd",), self.netns_inode):
            if time.monotonic() > deadline:
                raise AgentError("the rp-pppoe server or its sessions are still running after 15 s")
            time.sleep(0.2)

    def release(self) -> dict:
        """Planned switchover: hand the subscribers to the standby, which adopts them, and fence."""
        if self.role != "active":
            raise AgentError(f"this BNG is {self.role}, not active: nothing to release")
        # One more acknowledged round first, so that the standby has every session as it is now.
        wanted = self.sequence + 1
        self.poke.set()
        deadline = time.monotonic() + 5
        while self.acked_sequence < wanted and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.acked_sequence < wanted:
            log.warning("release: the standby did not acknowledge a last replication round within 5 s")
        self.fence("released for a planned switchover")
        return self.status()

    # -- control socket ----------------------------------------------------------------------------------

    def _accept_control(self, listener: socket.socket, mask: int) -> None:
        self._accept(listener, self.control_clients, bytearray(), self._read_control)

    def _read_control(self, conn: socket.socket, mask: int) -> None:
        buffer = self.control_clients.get(conn)
        try:
            data = conn.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if buffer is not None and data:
            buffer += data
        if not data or b"\n" in buffer or len(buffer) > 1 << 20:
            self.selector.unregister(conn)
            self.control_clients.pop(conn, None)
            try:
                request = json.loads(bytes(buffer).split(b"\n")[0] or b"{}")
                reply = {"ok": True, **self.control(request)}
            except (AgentError, ValueError, TypeError) as exc:
                reply = {"ok": False, "error": str(exc)}
            try:
                conn.setblocking(True)
                conn.settimeout(2.0)
                conn.sendall(json.dumps(reply).encode() + b"\n")
            except OSError:
                pass
            conn.close()

    def control(self, request: Mapping) -> dict:
        command = request.get("command")
        if command == "status":
            return self.status()
        if command == "sessions":
            now = time.time()
            return {"sessions": [a.describe(now) for a in self._select(request, allow_all=True)]}
        if command == "terminate":
            chosen = self._select(request)
            for adopted in chosen:
                self._drop(adopted, "terminated by an operator", padt=True)
            return {"terminated": [a.describe(time.time()) for a in chosen]}
        if command == "rehome":
            rate = request.get("rate", self.config.rehome_rate)
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.01 <= rate <= 10000:
                raise AgentError(
                    f"rate must be a number of sessions per second from 0.01 to 10000, got {rate!r}"
                )
            chosen = self._select(request, allow_all=True)
            self.rehome_interval = 1.0 / rate
            self.rehome_queue = [a.session.key for a in chosen]
            self.next_rehome = time.monotonic()
            return {"rehoming": [a.describe(time.time()) for a in chosen], "rate": rate}
        if command == "keepalived":
            state = request.get("state")
            if state not in ("MASTER", "BACKUP", "FAULT", "STOP"):
                raise AgentError(f"state must be MASTER, BACKUP, FAULT or STOP, got {state!r}")
            self.keepalived_event(state, "keepalived notify")
            return self.status()
        if command == "takeover-mode":
            mode = request.get("mode")
            if mode not in TAKEOVER_MODES:
                raise AgentError(f"mode must be one of {', '.join(TAKEOVER_MODES)}, got {mode!r}")
            if mode != self.takeover_mode:
                log.info("takeover mode %s -> %s (until the agent restarts)", self.takeover_mode, mode)
            self.takeover_mode = mode
            return self.status()
        if command == "peer":
            return {"peer": self.peer_status()}
        if command == "release":
            return self.release()
        if command == "rejoin":
            return self.rejoin()
        raise AgentError(f"unknown command {command!r}")

    def _select(self, request: Mapping, allow_all: bool = False) -> list[Adopted]:
        wanted = request.get("sessions")
        if wanted is None:
            if not allow_all:
                raise AgentError(
                    "name the sessions: a list of {session_id, client_mac} or {username} or {ipv4}"
                )
            return list(self.adopted.values())
        if not isinstance(wanted, list):
            raise AgentError(f"sessions must be a list, got {type(wanted).__name__}")
        chosen = []
        for index, item in enumerate(wanted):
            if not isinstance(item, Mapping) or not item:
                raise AgentError(
                    f"sessions[{index}] must be an object with session_id/client_mac, username or ipv4"
                )
            matches = [a for a in self.adopted.values() if _matches(a.session, item, f"sessions[{index}]")]
            chosen.extend(m for m in matches if m not in chosen)
        return chosen

    # -- status --------------------------------------------------------------------------------------------

    def status(self) -> dict:
        now = time.time()
        with self.lock:
            stored = self.peer_state
        state = None
        if stored:
            state = {
                "from": stored.snapshot.instance,
                "sequence": stored.snapshot.sequence,
                "sessions": len(stored.snapshot.sessions),
                # Those with everything an adoption needs (the rest would get a PADT).
                "complete": sum(1 for s in stored.snapshot.sessions if s.ipv4 and s.gateway),
                "age": round(stored.age(now), 3),
                "fresh": stored.age(now) <= self.config.state_max_age,
            }
        return {
            "instance": self.config.instance,
            "server": self.config.server,
            "takeover_mode": self.takeover_mode,
            "role": self.role,
            "keepalived": self.keepalived_state,
            "healthy": bool(self.healthy),
            "health": self.health_reason,
            "replicated_state": state,
            "state_problem": self.state_problem,
            # Connections to the replication port from another address than the peer's, closed.
            "refused_connections": self.refused_connections,
            "replication": {
                "sessions": self.sent_sessions,
                "sequence": self.sequence,
                "acknowledged": self.acked_sequence,
                "lag": self.lag.summary(),
                "transport": self.transport.summary(),
            }
            if self.role == "active"
            else None,
            "adopted": len(self.adopted),
            "descriptors": self._descriptor_budget(len(stored.snapshot.sessions) if stored else 0),
            "rehome_pending": len(self.rehome_queue),
            "padt_pending": len(self.padt_queue),
            "last_takeover": self.last_takeover,
            "updated": round(now, 3),
        }

    def _descriptor_budget(self, wanted: int) -> dict:
        """Whether a takeover of `wanted` sessions fits under the open file limit; a shortfall is
        logged when it appears, while the standby waits, not found in the middle of a takeover."""
        now = budget(wanted)
        problem = now.problem()
        if problem != self._descriptor_problem:
            if problem:
                log.warning("%s", problem)
            elif self._descriptor_problem:
                log.info("the open file limit leaves room to adopt all %d replicated sessions again", wanted)
            self._descriptor_problem = problem
        return now.describe()

    def _write_status(self) -> None:
        status = self.status()
        # What a reader acts on: not the update time, nor the state's age (it grows by itself).
        key = {
            **status,
            "updated": None,
            "replicated_state": {**(status["replicated_state"] or {}), "age": None},
        }
        unchanged = key == self._last_status
        # At once on a change, and every 10 s at least, so that a reader sees the agent lives.
        if unchanged and time.monotonic() < self._status_due:
            return
        self._last_status = key
        self._status_due = time.monotonic() + 10.0
        data = json.dumps(status, indent=1).encode() + b"\n"
        with contextlib.suppress(OSError):
            _atomic_write(self.config.status_file, data, 0o644, sync=False)


def _lost(before: list[ReplicatedSession], after: list[ReplicatedSession]) -> bool:
    """Whether a session of `before` is not in `after`."""
    return bool({s.key for s in before} - {s.key for s in after})


def _key_text(key: tuple[int, str, str]) -> str:
    return f"{key[0]}/{key[1]}/{key[2]}"


def _matches(session: ReplicatedSession, item: Mapping, where: str) -> bool:
    unknown = sorted(set(item) - {"session_id", "client_mac", "username", "ipv4"})
    if unknown:
        raise AgentError(f"{where}: unknown keys {unknown}")
    if "client_mac" in item:
        try:
            if normalise_mac(item["client_mac"], f"{where}.client_mac") != session.client_mac:
                return False
        except MacAddressError as exc:
            raise AgentError(str(exc)) from None
    for name in ("session_id", "username", "ipv4"):
        if name in item and item[name] != getattr(session, name):
            return False
    return True


# --- the control socket from the outside (modules and the CLI) --------------------------------------------


def control_request(config: AgentConfig, request: Mapping, timeout: float = 10.0) -> dict:
    """Send one request to a running agent and return its reply; AgentError when it fails."""
    path = config.control_socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except FileNotFoundError:
        raise AgentError(f"the agent of {config.instance} is not running (no {path})") from None
    except TimeoutError:
        raise AgentError(f"the agent of {config.instance} did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise AgentError(f"the agent of {config.instance} ({path}): {exc.strerror or exc}") from None
    try:
        reply = json.loads(data)
    except ValueError:
        raise AgentError(
            f"the agent of {config.instance} sent a reply that is not JSON: {data[:200]!r}"
        ) from None
    if not reply.get("ok"):
        raise AgentError(reply.get("error") or "the agent refused the request")
    reply.pop("ok", None)
    return reply


# --- the entry point ----------------------------------------------------------------------------------


USAGE = """usage: isplab-bng-failover COMMAND INSTANCE [ARGS]
  run INSTANCE             the agent (systemd: isplab-bng-failover@INSTANCE.service)
  check INSTANCE           keepalived track script: exit 0 when the PPPoE server answers
  validate FILE            check an agent configuration file
  status INSTANCE          the agent's status (JSON)
  peer INSTANCE            the peer agent's status, asked over the replication link (JSON)
  sessions INSTANCE        the adopted sessions (JSON)
  notify INSTANCE STATE    tell the agent keepalived's state (MASTER, BACKUP, FAULT, STOP)
  release INSTANCE         planned switchover: hand the subscribers to the standby and fence
  rejoin INSTANCE          come back as standby after a failover or release
  rehome INSTANCE [RATE]   move every adopted session into the PPPoE server, RATE PADTs per second
  mode INSTANCE MODE       takeover mode until the agent restarts: hitless or padt
  probe INSTANCE [SECONDS] send a PADI on the access link (run it in the BNG's namespace) and
                           say whether the peer BNG (peer_ac_mac) answered with a PADO (JSON)
INSTANCE is a name (configuration in /etc/isplab/bng_failover/NAME.json) or a file path."""


def probe_peer(config: AgentConfig, timeout: float) -> dict:
    """Whether the peer BNG answers discovery: one PADI from this BNG's access MAC, the PADOs
    that come back from the peer's AC MAC within `timeout` seconds."""
    if not config.peer_ac_mac:
        raise AgentError(f"{config.instance}: peer_ac_mac is not set: there is no peer MAC to probe for")
    if not 0 < timeout <= 60:
        raise AgentError(f"probe: the timeout must be from 0 to 60 seconds, got {timeout}")
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        own_mac = link_mac(ipr, config.access_interface)
    if own_mac is None:
        raise AgentError(f"probe: there is no interface {config.access_interface} in this namespace")
    try:
        answered = probe_for_pado(config.access_interface, own_mac, {config.peer_ac_mac}, timeout)
    except (OSError, AdoptError) as exc:
        raise AgentError(f"probe on {config.access_interface}: {exc}") from None
    return {
        "interface": config.access_interface,
        "peer_ac_mac": config.peer_ac_mac,
        "timeout": timeout,
        "peer_answers_discovery": bool(answered),
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):
        # A command line, not a module: it writes to stdout and stderr, with write() since print() is
        # what ansible-test sanity forbids in module_utils (a module's stdout is its JSON result).
        sys.stdout.write(f"{USAGE}\n")
        return 0
    if len(argv) < 2:
        sys.stderr.write(f"{USAGE}\n")
        return 2
    command, target, rest = argv[0], argv[1], argv[2:]
    try:
        config = load_config(config_path(target))
        if command == "validate":
            sys.stdout.write(
                f"{target}: valid ({config.instance}, {config.server}, takeover {config.takeover})\n"
            )
            return 0
        if command == "check":
            healthy, reason, _pado_delay = check_health(config)
            sys.stdout.write(f"{reason}\n")
            return 0 if healthy else 1
        if command == "probe":
            sys.stdout.write(f"{json.dumps(probe_peer(config, float(rest[0]) if rest else 1.0), indent=1)}\n")
            return 0
        if command == "run":
            logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
            return Agent(config).run()
        requests = {
            "status": {"command": "status"},
            "peer": {"command": "peer"},
            "sessions": {"command": "sessions"},
            "release": {"command": "release"},
            "rejoin": {"command": "rejoin"},
        }
        if command == "notify":
            request = {"command": "keepalived", "state": rest[0] if rest else None}
        elif command == "mode":
            request = {"command": "takeover-mode", "mode": rest[0] if rest else None}
        elif command == "rehome":
            request = {"command": "rehome", **({"rate": float(rest[0])} if rest else {})}
        elif command in requests:
            request = requests[command]
        else:
            sys.stderr.write(f"{USAGE}\n")
            return 2
        sys.stdout.write(f"{json.dumps(control_request(config, request, timeout=30.0), indent=1)}\n")
        return 0
    except (AgentError, ValueError) as exc:
        sys.stderr.write(f"isplab-bng-failover: {exc}\n")
        return 1
