# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the tests that build real network namespaces (tests of the netns_* modules).

They need root and a kernel that lets us create namespaces and veth pairs; without them the
tests are skipped with the reason. Every name made here starts with `t-` and a tag unique to
the test, and netns_lab() deletes every namespace and root-namespace link with that tag
afterwards, whatever the test did.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
from types import SimpleNamespace

import pytest

_counter = itertools.count()


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run iproute2 (tests only: the code under test never does)."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done


def ip_json(*args: str) -> list:
    return json.loads(ip("-j", *args).stdout or "[]")


def ping(netns: str, address: str, dev: str | None = None) -> bool:
    """One ICMP echo from inside a namespace; True when answered within a second."""
    command = ["ip", "netns", "exec", netns, "ping", "-c1", "-W1"]
    if dev:
        command += ["-I", dev]
    done = subprocess.run([*command, address], capture_output=True, text=True, timeout=20, check=False)
    return done.returncode == 0


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if not shutil.which("ip"):
        return "needs iproute2 (`ip`) to set up and inspect the test namespaces"
    probe = f"t-probe-{os.getpid()}"
    done = ip("netns", "add", probe, check=False)
    if done.returncode != 0:
        return f"cannot create a network namespace here: {done.stderr.strip()}"
    try:
        veth = ip("-n", probe, "link", "add", "p0", "type", "veth", "peer", "name", "p1", check=False)
        if veth.returncode != 0:
            return f"the kernel cannot make veth pairs here: {veth.stderr.strip()}"
    finally:
        ip("netns", "del", probe, check=False)
    return None


_REASON: list[str | None] = []


def netns_lab():
    """The body of each test module's `lab` fixture (`yield from netns_lab()`).

    Yields namespace(tag, ns(name) -> namespace name, ifname(name) -> root-namespace interface
    name). Skips the test when namespaces cannot be made here, and afterwards removes every
    namespace and root-namespace interface whose name starts with the tag.
    """
    if not _REASON:
        _REASON.append(_why_not())
    if _REASON[0]:
        pytest.skip(_REASON[0])
    # Unique across processes (pid) and tests (counter), prefix-free ("g" is no hex digit, the
    # counter has a fixed width), and short enough that tag + 4 characters is a valid ifname.
    tag = f"t-{os.getpid():x}g{next(_counter) % 256:02x}"
    try:
        yield SimpleNamespace(
            tag=tag,
            ns=lambda name: f"{tag}-{name}",
            ifname=lambda name: f"{tag}{name}",
        )
    finally:
        for line in ip("netns", "list").stdout.splitlines():
            name = line.split(" ")[0]
            if name.startswith(tag):
                ip("netns", "del", name, check=False)
        for link in ip_json("link", "show"):
            if link["ifname"].startswith(tag):
                ip("link", "del", link["ifname"], check=False)


def needs_ping() -> None:
    if not shutil.which("ping"):
        pytest.skip("needs ping (iputils-ping) to send real traffic")
