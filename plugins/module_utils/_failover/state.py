# SPDX-License-Identifier: GPL-3.0-or-later
"""The session state a BNG failover agent replicates to its standby, and its wire/file format.

Private to the isplab.bng collection: no stability promise outside it.

Pure: data in, data out; no sockets, no files. The active's agent sends these messages over
its replication link (wire.py, replicator.py); the standby keeps the last good state in memory
and on disk (replica.py).

A message is one JSON object with `schema`, `version`, `type`, its fields and a `checksum`
over the canonical JSON of everything else (sorted keys, no blanks): `sha256:<hex>`, or
`hmac-sha256:<hex>` when the two agents share a key, so that nobody else on the link can
feed the standby sessions to adopt or PADTs to send. Every decoding error says what is
wrong and where: a standby must refuse a corrupt state loudly, never guess.

Times are Unix times (float seconds). Staleness is judged by when the standby received a
state, on its own clock; the sender's clock only bounds replays (`max_skew`).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import (
    MacAddressError,
    normalise_mac,
)

SCHEMA = "isplab.bng.failover"
VERSION = 1
MESSAGE_TYPES = ("hello", "state", "heartbeat", "ack", "status-request", "status", "stored-state")
# Where a replicated session comes from on the active BNG.
ORIGINS = ("accel-ppp", "rp-pppoe", "adopted")
# A bound on one message: 50 000 sessions of about 400 bytes.
MAX_MESSAGE_BYTES = 20 * 1024 * 1024

_IFNAME_RE = re.compile(r"^[^\s/:,]{1,15}$")
_INSTANCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_USERNAME_BAD_RE = re.compile(r"[\x00-\x20\x7f]")


class FailoverStateError(ValueError):
    """Base of every error of this module."""


class CorruptStateError(FailoverStateError):
    """A message or state file that cannot be trusted: bad JSON, checksum, version or field."""


class StaleStateError(FailoverStateError):
    """A state that is well-formed but too old to act on."""


def _fail(where: str, message: str) -> CorruptStateError:
    return CorruptStateError(f"{where}: {message}")


# --- sessions --------------------------------------------------------------------------------


def _opt_str(value: Any, where: str, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _fail(where, f"{name} must be a non-empty string or null, got {value!r}")
    return value


def _ifname(value: Any, where: str, name: str, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not _IFNAME_RE.match(value) or value in (".", ".."):
        raise _fail(where, f"{name} is not a Linux interface name: {value!r}")
    return value


def _mac(value: Any, where: str, name: str) -> str:
    try:
        normalised = normalise_mac(value, name)
    except MacAddressError as exc:
        raise _fail(where, str(exc)) from None
    if int(normalised[:2], 16) & 1:
        raise _fail(where, f"{name} must be a unicast MAC address, got {value!r}")
    return normalised


def _address(value: Any, where: str, name: str, version: int, link_local: bool = False) -> str | None:
    if value is None:
        return None
    try:
        address = ipaddress.ip_address(value) if isinstance(value, str) else None
    except ValueError:
        address = None
    if address is None or address.version != version or (link_local and not address.is_link_local):
        kind = "an IPv6 link-local address" if link_local else f"an IPv{version} address"
        raise _fail(where, f"{name} must be {kind} or null, got {value!r}")
    return str(address)


def _prefix(value: Any, where: str, name: str) -> str | None:
    if value is None:
        return None
    try:
        network = ipaddress.IPv6Network(value) if isinstance(value, str) else None
    except ValueError:
        network = None
    if network is None:
        raise _fail(
            where, f"{name} must be an IPv6 prefix such as 2001:db8:110:1::/64, or null, got {value!r}"
        )
    return str(network)


def _number(value: Any, where: str, name: str, low: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(where, f"{name} must be a number, got {value!r}")
    if low is not None and value < low:
        raise _fail(where, f"{name} must be at least {low}, got {value!r}")
    return float(value)


def _integer(value: Any, where: str, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(where, f"{name} must be an integer from {low} to {high}, got {value!r}")
    return value


@dataclass(frozen=True)
class ReplicatedSession:
    """One subscriber session as the active BNG serves it: what the standby needs to take it over.

    session_id is the PPPoE session id (not accel-ppp's `sid`); ac_mac is the MAC the client
    talks to; interface is the access interface on the active (the device of
    /proc/net/pppoe), ifname its PPP interface. gateway is the BNG's own address on that PPP
    interface, ipv4 the subscriber's. The IPv6 fields are the link prefix announced by RA,
    the delegated prefix, and both link-local addresses of the PPP link (the BNG's is the
    source of its router advertisements, so the standby keeps it).
    """

    session_id: int
    client_mac: str
    ac_mac: str
    interface: str
    origin: str
    since: float
    ifname: str | None = None
    username: str | None = None
    ipv4: str | None = None
    gateway: str | None = None
    ipv6_prefix: str | None = None
    ipv6_delegated: str | None = None
    ipv6_local_ll: str | None = None
    ipv6_peer_ll: str | None = None
    mtu: int | None = None

    @property
    def key(self) -> tuple[int, str, str]:
        """What identifies a PPPoE session on the wire: the kernel matches on id and both MACs."""
        return (self.session_id, self.client_mac, self.ac_mac)

    @property
    def name(self) -> str:
        """A short label for logs: `sid 3 02:00:00:00:c0:03 (user3)`."""
        who = f" ({self.username})" if self.username else ""
        return f"sid {self.session_id} {self.client_mac}{who}"

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, where: str = "session") -> ReplicatedSession:
        """A validated session; every problem raises CorruptStateError naming field and value."""
        if not isinstance(data, Mapping):
            raise _fail(where, f"a session must be an object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise _fail(where, f"unknown session fields {unknown}")
        missing = [
            name
            for name in ("session_id", "client_mac", "ac_mac", "interface", "origin", "since")
            if name not in data
        ]
        if missing:
            raise _fail(where, f"missing session fields {missing}")
        origin = data["origin"]
        if origin not in ORIGINS:
            raise _fail(where, f"origin must be one of {', '.join(ORIGINS)}, got {origin!r}")
        username = _opt_str(data.get("username"), where, "username")
        if username is not None and _USERNAME_BAD_RE.search(username):
            raise _fail(where, f"username must not contain blanks or control characters, got {username!r}")
        mtu = data.get("mtu")
        return cls(
            session_id=_integer(data["session_id"], where, "session_id", 1, 0xFFFE),
            client_mac=_mac(data["client_mac"], where, "client_mac"),
            ac_mac=_mac(data["ac_mac"], where, "ac_mac"),
            interface=_ifname(data["interface"], where, "interface", required=True),
            origin=origin,
            since=_number(data["since"], where, "since", 0),
            ifname=_ifname(data.get("ifname"), where, "ifname"),
            username=username,
            ipv4=_address(data.get("ipv4"), where, "ipv4", 4),
            gateway=_address(data.get("gateway"), where, "gateway", 4),
            ipv6_prefix=_prefix(data.get("ipv6_prefix"), where, "ipv6_prefix"),
            ipv6_delegated=_prefix(data.get("ipv6_delegated"), where, "ipv6_delegated"),
            ipv6_local_ll=_address(data.get("ipv6_local_ll"), where, "ipv6_local_ll", 6, link_local=True),
            ipv6_peer_ll=_address(data.get("ipv6_peer_ll"), where, "ipv6_peer_ll", 6, link_local=True),
            mtu=None if mtu is None else _integer(mtu, where, "mtu", 576, 65535),
        )


def session_from_fields(**values: Any) -> ReplicatedSession:
    """A validated session from keyword fields (MACs in any notation); raises CorruptStateError."""
    return ReplicatedSession.from_dict(values)


# --- snapshots -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """Every session of the active BNG at one moment, as one replication message carries it.

    boot_id changes with every start of the sending agent; sequence grows with every snapshot
    it sends, so that a receiver keeps only the newest. created is the sender's clock;
    changed is when the sender first saw the newest change in it (what lag is measured from).
    """

    instance: str
    boot_id: str
    sequence: int
    created: float
    sessions: tuple[ReplicatedSession, ...] = ()
    changed: float | None = None

    def message(self) -> dict:
        return {
            "type": "state",
            "instance": self.instance,
            "boot_id": self.boot_id,
            "sequence": self.sequence,
            "created": self.created,
            "changed": self.changed,
            "sessions": [session.as_dict() for session in self.sessions],
        }

    @classmethod
    def from_message(cls, message: Mapping, where: str = "state") -> Snapshot:
        if message.get("type") != "state":
            raise _fail(where, f"not a state message (type {message.get('type')!r})")
        instance = message.get("instance")
        if not isinstance(instance, str) or not _INSTANCE_RE.match(instance):
            raise _fail(where, f"instance must be an instance name, got {instance!r}")
        boot_id = message.get("boot_id")
        if not isinstance(boot_id, str) or not boot_id or len(boot_id) > 64:
            raise _fail(where, f"boot_id must be a short non-empty string, got {boot_id!r}")
        raw_sessions = message.get("sessions")
        if not isinstance(raw_sessions, list):
            raise _fail(where, f"sessions must be a list, got {type(raw_sessions).__name__}")
        sessions = tuple(
            ReplicatedSession.from_dict(item, f"{where}: session {index + 1}")
            for index, item in enumerate(raw_sessions)
        )
        seen: dict[tuple, int] = {}
        for index, session in enumerate(sessions):
            if session.key in seen:
                raise _fail(
                    where,
                    f"session {index + 1} repeats session {seen[session.key] + 1} ({session.name} "
                    f"via {session.ac_mac})",
                )
            seen[session.key] = index
        changed = message.get("changed")
        return cls(
            instance=instance,
            boot_id=boot_id,
            sequence=_integer(message.get("sequence"), where, "sequence", 0, 2**63),
            created=_number(message.get("created"), where, "created", 0),
            sessions=sessions,
            changed=None if changed is None else _number(changed, where, "changed", 0),
        )

    def newer_than(self, other: Snapshot | None) -> bool:
        """Whether this snapshot replaces other: another sender start, or a higher sequence."""
        if other is None or other.boot_id != self.boot_id:
            return True
        return self.sequence > other.sequence


# --- the envelope ----------------------------------------------------------------------------


def canonical(payload: Mapping) -> bytes:
    """The bytes the checksum covers: sorted keys, no blanks, UTF-8, no NaN."""
    try:
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except ValueError as exc:
        raise FailoverStateError(f"cannot serialise the message: {exc}") from None


def checksum(payload: Mapping, key: bytes | None = None) -> str:
    data = canonical(payload)
    if key:
        return "hmac-sha256:" + hmac.new(key, data, hashlib.sha256).hexdigest()
    return "sha256:" + hashlib.sha256(data).hexdigest()


def encode(message: Mapping, key: bytes | None = None) -> bytes:
    """One message as UTF-8 JSON with schema, version and checksum added."""
    if message.get("type") not in MESSAGE_TYPES:
        raise FailoverStateError(f"unknown message type {message.get('type')!r}")
    payload = {"schema": SCHEMA, "version": VERSION, **message}
    payload.pop("checksum", None)
    payload["checksum"] = checksum(payload, key)
    data = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8")
    if len(data) > MAX_MESSAGE_BYTES:
        raise FailoverStateError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
    return data


def decode(data: bytes | str, key: bytes | None = None, where: str = "message") -> dict:
    """Parse and verify one message; CorruptStateError says what is wrong.

    With a key, only an HMAC made with that key is accepted (a plain checksum is refused: it
    would let anyone on the link feed us sessions). Without a key, an HMAC cannot be checked
    and is refused too, so that a key set on one side only is noticed at once.
    """
    if isinstance(data, bytes):
        if len(data) > MAX_MESSAGE_BYTES:
            raise _fail(where, f"{len(data)} bytes, more than {MAX_MESSAGE_BYTES}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _fail(where, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    else:
        text = data
    if not text.strip():
        raise _fail(where, "empty")
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise _fail(where, f"not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise _fail(where, f"not a JSON object but {type(payload).__name__}")
    if payload.get("schema") != SCHEMA:
        raise _fail(where, f"schema {payload.get('schema')!r} is not {SCHEMA!r}")
    if payload.get("version") != VERSION:
        raise _fail(
            where,
            f"format version {payload.get('version')!r}, this agent reads version {VERSION} "
            "(upgrade both agents together)",
        )
    given = payload.pop("checksum", None)
    if not isinstance(given, str):
        raise _fail(where, "no checksum")
    scheme = given.partition(":")[0]
    if key and scheme != "hmac-sha256":
        raise _fail(where, f"checksum is {scheme!r} but a replication key is set: the sender has no key")
    if not key and scheme != "sha256":
        raise _fail(
            where, f"checksum is {scheme!r}: the sender has a replication key and this agent has none"
        )
    expected = checksum(payload, key)
    if not hmac.compare_digest(given, expected):
        what = "HMAC (wrong key, or the data changed)" if key else "checksum (the data changed)"
        raise _fail(where, f"{what} does not match")
    if payload.get("type") not in MESSAGE_TYPES:
        raise _fail(where, f"unknown message type {payload.get('type')!r}")
    return payload


def encode_snapshot(snapshot: Snapshot, key: bytes | None = None) -> bytes:
    return encode(snapshot.message(), key)


def decode_snapshot(data: bytes | str, key: bytes | None = None, where: str = "state") -> Snapshot:
    return Snapshot.from_message(decode(data, key, where), where)


# --- the standby's stored copy ------------------------------------------------------------------


@dataclass(frozen=True)
class StoredState:
    """A snapshot as the standby keeps it: with when it arrived, on the standby's clock."""

    snapshot: Snapshot
    received: float

    def age(self, now: float) -> float:
        return max(now - self.received, 0.0)

    def check_fresh(self, now: float, max_age: float, max_skew: float | None = None) -> None:
        """Raise StaleStateError unless the state is young enough to act on.

        max_skew bounds the difference between the sender's clock when it made the state and
        ours when it arrived: beyond it the state is a replay or the clocks disagree.
        """
        age = self.age(now)
        if age > max_age:
            raise StaleStateError(
                f"replicated state from {self.snapshot.instance} (sequence {self.snapshot.sequence}, "
                f"{len(self.snapshot.sessions)} sessions) is {age:.1f} s old, more than the "
                f"{max_age:g} s allowed: the active stopped replicating before it failed"
            )
        if max_skew is not None:
            skew = abs(self.received - self.snapshot.created)
            if skew > max_skew:
                raise StaleStateError(
                    f"replicated state from {self.snapshot.instance} was made at "
                    f"{self.snapshot.created:.3f} by its clock and received at {self.received:.3f} by "
                    f"ours, {skew:.1f} s apart, more than the {max_skew:g} s allowed (a replay, or "
                    "clocks out of step)"
                )


def encode_stored(state: StoredState, key: bytes | None = None) -> bytes:
    return encode(
        {"type": "stored-state", "received": state.received, "state": state.snapshot.message()}, key
    )


def decode_stored(data: bytes | str, key: bytes | None = None, where: str = "state file") -> StoredState:
    message = decode(data, key, where)
    if message.get("type") != "stored-state":
        raise _fail(where, f"not a stored state (type {message.get('type')!r})")
    inner = message.get("state")
    if not isinstance(inner, dict):
        raise _fail(where, "no state in it")
    return StoredState(
        snapshot=Snapshot.from_message(inner, where),
        received=_number(message.get("received"), where, "received", 0),
    )


# --- status -----------------------------------------------------------------------------------


@dataclass
class LagMeter:
    """Replication lag as the active measures it, on its own clock only.

    lag of one snapshot = ack received - the change it carries was first seen; so a change is
    counted from the moment the active noticed it until the standby confirmed it stored it.
    """

    samples: int = 0
    last: float | None = None
    worst: float | None = None
    total: float = 0.0
    recent: list[float] = field(default_factory=list)
    window: int = 100

    def add(self, lag: float) -> None:
        lag = max(lag, 0.0)
        self.samples += 1
        self.last = lag
        self.worst = lag if self.worst is None else max(self.worst, lag)
        self.total += lag
        self.recent.append(lag)
        del self.recent[: -self.window]

    def summary(self) -> dict:
        recent = sorted(self.recent)
        p95 = recent[min(len(recent) - 1, int(len(recent) * 0.95))] if recent else None
        return {
            "samples": self.samples,
            "last_ms": _ms(self.last),
            "worst_ms": _ms(self.worst),
            "mean_ms": _ms(self.total / self.samples) if self.samples else None,
            "p95_recent_ms": _ms(p95),
        }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 1)
