# SPDX-License-Identifier: GPL-3.0-or-later
"""PPPoE facts from the Linux kernel, and MAC addresses.

Private to the isplab.bng collection: no stability promise outside it.

/proc/net/pppoe is the only place that shows the PPPoE session id of a session (accel-ppp's
`show sessions` does not); the failover sends PADTs for those sessions (_pppoe_discovery).

The pure functions (parsing, MAC checks) are separate from the one that touches the system
(read_proc_net_pppoe), so the former are unit tested without privileges.
"""

from __future__ import annotations

import re
import sys
from dataclasses import asdict, dataclass

# Read from inside the thread's own namespace: /proc/net follows the process's main thread,
# which matters when the caller entered another network namespace in a thread.
PROC_NET_PPPOE = "/proc/thread-self/net/pppoe"

_MAC_SEPARATED_RE = re.compile(r"^[0-9a-fA-F]{2}([:-])(?:[0-9a-fA-F]{2}\1){4}[0-9a-fA-F]{2}$")
_MAC_DOTTED_RE = re.compile(r"^[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}$")
_MAC_BARE_RE = re.compile(r"^[0-9a-fA-F]{12}$")
_PROC_ROW_RE = re.compile(r"^(?P<id>[0-9A-Fa-f]{8})\s+(?P<mac>\S+)\s+(?P<dev>\S+)\s*$")


class PppoeKernelError(Exception):
    """A PPPoE kernel fact could not be read or a frame could not be sent."""


class MacAddressError(PppoeKernelError, ValueError):
    """A value that is not a MAC address, or not one that may be used here."""


def normalise_mac(value: object, field: str = "mac") -> str:
    """A MAC address as six lower-case colon-separated octets.

    Accepts `02:00:00:00:C0:01`, `02-00-00-00-c0-01`, `0200.0000.c001` and `02000000c001`;
    anything else (five octets, a stray character) is refused with a message naming field and value.
    """
    if isinstance(value, str):
        text = value.strip()
        if _MAC_SEPARATED_RE.match(text):
            digits = text.replace(text[2], "")
        elif _MAC_DOTTED_RE.match(text):
            digits = text.replace(".", "")
        elif _MAC_BARE_RE.match(text):
            digits = text
        else:
            digits = None
        if digits is not None:
            digits = digits.lower()
            return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    raise MacAddressError(f"{field} is not a MAC address (six octets, e.g. 02:00:00:00:c0:01): {value!r}")


def mac_bytes(value: object, field: str = "mac", unicast: bool = False) -> bytes:
    """The six bytes of a MAC address; with unicast=True, group (multicast) addresses are refused."""
    data = bytes.fromhex(normalise_mac(value, field).replace(":", ""))
    if unicast and data[0] & 1:
        raise MacAddressError(f"{field} must be a unicast MAC address, got a group address: {value!r}")
    return data


def decode_proc_session_id(raw: str, host_byteorder: str = sys.byteorder) -> int:
    """The PPPoE session id from the `Id` column of /proc/net/pppoe.

    The kernel prints the big-endian 16-bit id as a host integer (`%08X`), so on a
    little-endian host session 1 shows as `00000100`; this is ntohs() of the low 16 bits.
    host_byteorder is that of the host the text was read on (recorded fixtures may come from
    another machine).
    """
    value = int(raw, 16) & 0xFFFF
    if host_byteorder == "little":
        return ((value & 0xFF) << 8) | (value >> 8)
    if host_byteorder == "big":
        return value
    raise ValueError(f"host_byteorder must be 'little' or 'big', got {host_byteorder!r}")


@dataclass(frozen=True)
class KernelPppoeSession:
    """One row of /proc/net/pppoe."""

    session_id: int
    peer_mac: str
    device: str
    raw_id: str

    def as_dict(self) -> dict:
        return asdict(self)


def parse_proc_net_pppoe(text: str, host_byteorder: str = sys.byteorder) -> list[KernelPppoeSession]:
    """Parse /proc/net/pppoe (`Id Address Device`); peer_mac is the client on a BNG, the AC on a client."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or lines[0].split() != ["Id", "Address", "Device"]:
        raise PppoeKernelError(f"not /proc/net/pppoe content (no 'Id Address Device' header): {text[:120]!r}")
    sessions = []
    for line in lines[1:]:
        match = _PROC_ROW_RE.match(line)
        if not match:
            raise PppoeKernelError(f"unexpected /proc/net/pppoe line: {line!r}")
        sessions.append(
            KernelPppoeSession(
                session_id=decode_proc_session_id(match["id"], host_byteorder),
                peer_mac=normalise_mac(match["mac"], "/proc/net/pppoe address"),
                device=match["dev"],
                raw_id=match["id"],
            )
        )
    return sessions


def read_proc_net_pppoe(path: str = PROC_NET_PPPOE) -> list[KernelPppoeSession]:
    """The kernel PPPoE sessions of the calling thread's network namespace."""
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise PppoeKernelError(f"{path} does not exist: the pppoe kernel module is not loaded") from None
    except OSError as exc:
        raise PppoeKernelError(f"cannot read {path}: {exc.strerror}") from None
    return parse_proc_net_pppoe(text)
