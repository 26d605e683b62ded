# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the module_utils tests: the fake accel-ppp CLI server, a scratch netns."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess

import pytest

from ansible_collections.isplab.bng.tests.unit.plugins.module_utils.fake_accel_ppp import (
    closed_port,
    fake_cli,
)

# The fake accel-ppp server's fixtures, for every test here.
__all__ = ["closed_port", "fake_cli"]

_counter = itertools.count()


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=False)


@pytest.fixture
def scratch_netns():
    """A new network namespace with lo up, deleted afterwards; skipped without root and `ip`."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 to create a network namespace")
    name = f"isplab-ut-{os.getpid()}-{next(_counter)}"
    created = _ip("netns", "add", name)
    if created.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {created.stderr.strip()}")
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        yield name
    finally:
        _ip("netns", "del", name)


@pytest.fixture
def netns_ip():
    """Run `ip` with arguments, failing the test on error."""

    def run(*args: str) -> None:
        done = _ip(*args)
        assert done.returncode == 0, f"ip {' '.join(args)}: {done.stderr}"

    return run
