#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A host on the BNGs' upstream link that should not be heard: the failover scenario's attacker.

Each subcommand does one thing an attacker (or a flaky network) would and prints what came back
as one JSON object; the scenario then checks on the BNGs that none of it changed anything.

  vrrp      send VRRPv3 adverts of priority 255 for the pair's virtual router
  forge     send a replicated state with one made-up session, signed with a wrong key
  flood     open many connections to the replication port and keep them idle
  capture   record one heartbeat of the active's link, as it passes (run in the standby's namespace)
  replay    send a recorded frame again, on a new connection

Run it in a namespace: `ip netns exec intruder python3 intruder.py vrrp ...`.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import struct
import sys
import time

VRRP_PROTOCOL = 112
FRAME_HEADER = struct.Struct("!I")
ETH_P_IPV6 = 0x86DD
# Where the role installs the agent's code (roles/bng_failover): the forged state is made with
# the agent's own encoder, so that it is refused for its signature and nothing else.
AGENT_CODE = "/usr/local/lib/isplab-bng"


def vrrp_advert(vrid: int, priority: int, interval_cs: int, addresses: list[str]) -> bytes:
    """A VRRPv3 advertisement (RFC 5798 5.1); the kernel fills in the checksum (IPV6_CHECKSUM)."""
    header = struct.pack("!BBBBHH", 0x31, vrid, priority, len(addresses), interval_cs & 0x0FFF, 0)
    return header + b"".join(socket.inet_pton(socket.AF_INET6, a) for a in addresses)


def cmd_vrrp(args: argparse.Namespace) -> dict:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, VRRP_PROTOCOL)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, 6)
    # VRRP drops what has not a hop limit of 255 (it must come from the link itself).
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
    index = socket.if_nametoindex(args.interface)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    packet = vrrp_advert(args.vrid, args.priority, args.interval_cs, args.addresses)
    sent = 0
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        for target in args.to:
            sock.sendto(packet, (target, 0, 0, index if target.startswith(("ff", "fe80")) else 0))
            sent += 1
        time.sleep(args.interval_cs / 100 / 4)
    return {"adverts_sent": sent, "priority": args.priority, "to": args.to}


def connect(target: str, port: int, source: str | None, timeout: float = 5.0) -> socket.socket:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    if source:
        sock.bind((source, 0))
    sock.connect((target, port))
    return sock


def wait_closed(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the other side closed the connection, or None if it kept it open."""
    start = time.monotonic()
    sock.setblocking(False)
    while (left := start + seconds - time.monotonic()) > 0:
        readable, _writable, _errors = select.select([sock], [], [], left)
        if not readable:
            break
        try:
            if not sock.recv(65536):
                return round(time.monotonic() - start, 3)
        except ConnectionError:
            return round(time.monotonic() - start, 3)
        except BlockingIOError:
            continue
    return None


def cmd_forge(args: argparse.Namespace) -> dict:
    sys.path.insert(0, AGENT_CODE)
    from ansible_collections.isplab.bng.plugins.module_utils._failover.state import encode

    session = {
        "client_mac": args.client_mac,
        "session_id": 4242,
        "ac_mac": args.ac_mac,
        "interface": "access",
        "ifname": "ppp4242",
        "username": "intruder",
        "ipv4": "100.64.0.250",
        "peer_ipv4": "100.64.0.1",
        "origin": "rp-pppoe",
    }
    now = time.time()
    message = {
        "type": "state",
        "instance": args.instance,
        "boot_id": "intruder",
        "counter": 1_000_000,
        "created": now,
        "sessions": [session],
    }
    data = encode(message, b"not-the-pair-replication-key")
    sock = connect(args.to, args.port, args.source)
    try:
        sock.sendall(FRAME_HEADER.pack(len(data)) + data)
    except ConnectionError as exc:
        return {"sent": False, "error": str(exc), "closed_after": 0.0}
    return {"sent": True, "bytes": len(data), "closed_after": wait_closed(sock, args.wait)}


def cmd_flood(args: argparse.Namespace) -> dict:
    opened, refused = [], 0
    for _count in range(args.count):
        try:
            opened.append(connect(args.to, args.port, args.source))
        except OSError:
            refused += 1
    start = time.monotonic()
    closed, pending = 0, list(opened)
    while pending and time.monotonic() - start < args.hold:
        readable, _writable, _errors = select.select(pending, [], [], 0.5)
        for sock in readable:
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                closed += 1
                pending.remove(sock)
    for sock in opened:
        sock.close()
    return {"opened": len(opened), "refused": refused, "closed_by_server": closed, "still_open": len(pending)}


def tcp_payload(frame: bytes, source: bytes, destination: bytes, port: int) -> bytes | None:
    """The TCP payload of an Ethernet frame from source to destination:port, or None."""
    ip = frame[14:]
    if len(ip) < 40 or ip[0] >> 4 != 6 or ip[6] != socket.IPPROTO_TCP:
        return None
    if ip[8:24] != source or ip[24:40] != destination:
        return None
    tcp = ip[40 : 40 + struct.unpack("!H", ip[4:6])[0]]
    if len(tcp) < 20 or struct.unpack("!H", tcp[2:4])[0] != port:
        return None
    return tcp[(tcp[12] >> 4) * 4 :]


def cmd_capture(args: argparse.Namespace) -> dict:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
    sock.bind((args.interface, 0))
    sock.settimeout(1.0)
    source = socket.inet_pton(socket.AF_INET6, args.source)
    destination = socket.inet_pton(socket.AF_INET6, args.destination)
    needle = f'"type":"{args.type}"'.encode()
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            packet = sock.recv(65536)
        except TimeoutError:
            continue
        payload = tcp_payload(packet, source, destination, args.port)
        # One whole frame in one segment: what a heartbeat of a few hundred bytes is.
        if not payload or len(payload) < FRAME_HEADER.size:
            continue
        (length,) = FRAME_HEADER.unpack_from(payload)
        if length + FRAME_HEADER.size == len(payload) and needle in payload:
            with open(args.out, "wb") as out:
                out.write(payload)
            message = json.loads(payload[FRAME_HEADER.size :])
            return {
                "captured": len(payload),
                "counter": message.get("counter"),
                "boot_id": message.get("boot_id"),
            }
    raise SystemExit(
        f"no {args.type} from {args.source} to {args.destination} port {args.port} in {args.timeout} s"
    )


def cmd_replay(args: argparse.Namespace) -> dict:
    with open(args.file, "rb") as recorded:
        data = recorded.read()
    sock = connect(args.to, args.port, args.source)
    sock.sendall(data)
    return {"sent": len(data), "closed_after": wait_closed(sock, args.wait)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    vrrp = commands.add_parser("vrrp")
    vrrp.add_argument("--interface", required=True)
    vrrp.add_argument("--vrid", type=int, required=True)
    vrrp.add_argument("--priority", type=int, default=255)
    vrrp.add_argument("--interval-cs", type=int, default=100, help="the advert interval announced, 1/100 s")
    vrrp.add_argument("--seconds", type=float, default=10.0)
    vrrp.add_argument("--to", action="append", required=True)
    vrrp.add_argument("addresses", nargs="+", help="the virtual addresses the advert claims")
    vrrp.set_defaults(run=cmd_vrrp)

    for name, run in (("forge", cmd_forge), ("flood", cmd_flood), ("replay", cmd_replay)):
        sub = commands.add_parser(name)
        sub.add_argument("--to", required=True)
        sub.add_argument("--port", type=int, default=7300)
        sub.add_argument("--source", help="bind to this address first")
        sub.add_argument("--wait", type=float, default=10.0, help="seconds to wait for the close")
        sub.set_defaults(run=run)
        if name == "forge":
            sub.add_argument("--instance", required=True)
            sub.add_argument("--client-mac", default="02:66:66:66:66:66")
            sub.add_argument("--ac-mac", required=True)
        if name == "flood":
            sub.add_argument("--count", type=int, default=200)
            sub.add_argument("--hold", type=float, default=10.0)
        if name == "replay":
            sub.add_argument("--file", required=True)

    capture = commands.add_parser("capture")
    capture.add_argument("--interface", required=True)
    capture.add_argument("--source", required=True)
    capture.add_argument("--destination", required=True)
    capture.add_argument("--port", type=int, default=7300)
    capture.add_argument("--type", default="heartbeat")
    capture.add_argument("--timeout", type=float, default=30.0)
    capture.add_argument("--out", required=True)
    capture.set_defaults(run=cmd_capture)

    args = parser.parse_args()
    print(json.dumps(args.run(args)))


if __name__ == "__main__":
    main()
