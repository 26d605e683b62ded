# SPDX-License-Identifier: GPL-3.0-or-later
"""The failover agent's descriptor budget: the soft limit raised, a shortfall known in advance."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap

from ansible_collections.isplab.bng.plugins.module_utils._descriptors import (
    DESCRIPTORS_PER_SESSION,
    RESERVE,
    Budget,
    budget,
    open_descriptors,
)


def test_the_soft_limit_is_raised_to_the_hard_one_and_holds_as_many_as_it_says():
    # A child with systemd's soft limit of 1,024 (and a hard one of 4,096) opens 3,000
    # descriptors after raising it: the takeover that stopped at about 340 sessions with EMFILE.
    child = textwrap.dedent(
        """
        import os, resource, sys
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 4096))
        from ansible_collections.isplab.bng.plugins.module_utils._descriptors import raise_open_file_limit
        print(raise_open_file_limit())
        fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(3000)]
        print(len(fds))
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["(4096, 4096)", "3000"]


def test_counts_the_open_descriptors():
    before = open_descriptors()
    fd = os.open("/dev/null", os.O_RDONLY)
    try:
        assert open_descriptors() == before + 1
    finally:
        os.close(fd)


def test_the_sessions_that_fit_and_those_that_would_get_a_padt():
    # The measured case: 1,010 replicated sessions under the soft limit of 1,024.
    short = Budget(limit=1024, open_now=40, wanted=1010)
    assert short.adoptable == (1024 - 40 - RESERVE) // DESCRIPTORS_PER_SESSION == 306
    assert short.short == 704
    assert short.problem() == (
        "the open file limit (1024, 40 open) leaves room to adopt 306 of the 1010 replicated "
        "sessions (3 descriptors each): the other 704 would get a PADT on a takeover; raise "
        "LimitNOFILE of the agent's unit"
    )
    enough = Budget(limit=524288, open_now=40, wanted=1010)
    assert enough.short == 0 and enough.problem() is None
    assert Budget(limit=10, open_now=40, wanted=1).adoptable == 0


def test_the_budget_reads_this_process():
    now = budget(5)
    assert now.limit == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert now.open_now >= 3 and now.wanted == 5
