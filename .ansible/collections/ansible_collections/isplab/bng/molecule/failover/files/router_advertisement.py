#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Wait for a router advertisement on a subscriber's ppp link and print what it says (JSON).

usage: router_advertisement.py INTERFACE SECONDS NETWORK   (in the subscriber's namespace)

Prints the first RA received within SECONDS (its source, router lifetime and prefixes) and
exits 0 when it names a default router (router lifetime above 0) and a prefix inside NETWORK;
exits 1 otherwise, or when no RA came. The failover scenario runs it on the subscribers of the
adopted sessions: their BNG's agent must keep advertising itself and the subscriber's prefix.
"""

import ipaddress
import json
import socket
import struct
import sys
import time

ND_ROUTER_ADVERT = 134
OPTION_PREFIX_INFORMATION = 3


def parse(message: bytes) -> dict:
    """An RA as a raw ICMPv6 socket hands it over (no IPv6 header): RFC 4861, section 4.2."""
    router_lifetime = struct.unpack("!H", message[6:8])[0]
    prefixes = []
    pos = 16
    while pos + 8 <= len(message):
        kind, length = message[pos], message[pos + 1] * 8
        if length == 0:
            break
        if kind == OPTION_PREFIX_INFORMATION and length == 32:
            prefix = ipaddress.IPv6Address(message[pos + 16 : pos + 32])
            valid, preferred = struct.unpack("!II", message[pos + 4 : pos + 12])
            prefixes.append(
                {"prefix": f"{prefix}/{message[pos + 2]}", "valid": valid, "preferred": preferred}
            )
        pos += length
    return {"router_lifetime": router_lifetime, "prefixes": prefixes}


def main() -> int:
    interface, seconds, network = sys.argv[1], float(sys.argv[2]), ipaddress.IPv6Network(sys.argv[3])
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        sock.settimeout(remaining)
        try:
            message, source = sock.recvfrom(4096)
        except TimeoutError:
            break
        if message and message[0] == ND_ROUTER_ADVERT and len(message) >= 16:
            advert = parse(message)
            print(json.dumps({"interface": interface, "source": source[0].split("%")[0], **advert}))
            inside = [p for p in advert["prefixes"] if ipaddress.IPv6Network(p["prefix"]).subnet_of(network)]
            return 0 if advert["router_lifetime"] > 0 and inside else 1
    print(json.dumps({"interface": interface, "error": f"no router advertisement within {seconds} s"}))
    return 1


if __name__ == "__main__":
    sys.exit(main())
