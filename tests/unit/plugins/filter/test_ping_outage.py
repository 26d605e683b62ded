# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter ping_outage: the largest gap of `ping -D` output in a window, and its input checks."""

from __future__ import annotations

import pytest

from ansible_collections.isplab.bng.plugins.filter.ping_outage import ping_outage
from ansible_collections.isplab.bng.tests.unit.plugins.module_utils.test_outage import PING


def test_the_filter_reads_the_gap_and_refuses_bad_input():
    assert ping_outage(PING, 1795290000.0, 1795290001.6)["gap"] == 1.45
    with pytest.raises(Exception, match="the input must be the text ping -D printed"):
        ping_outage(None, 0, 1)
    with pytest.raises(Exception, match="start and end must be Unix times"):
        ping_outage(PING, "soon", 1)
