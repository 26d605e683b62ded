# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter pppoe_discovery_filter: the `tc -batch` lines that delay or drop an rp-pppoe server's
PADOs, for the role pppoe_server's discovery.tc.

Its documentation is in pppoe_discovery_filter.yml next to this file. The lines come from
plugins/module_utils/_pppoe_discovery.py, which the failover agent uses when it puts the filter
back: the two must write the same filter, or the agent would not recognise the one the server's
unit applied.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.isplab.bng.plugins.module_utils._pppoe_discovery import discovery_filter


def pppoe_discovery_filter(interfaces, pado_delay=0) -> str:
    names = [interfaces] if isinstance(interfaces, str) else interfaces
    if not isinstance(names, (list, tuple)) or not all(isinstance(name, str) and name for name in names):
        raise AnsibleFilterError(
            "pppoe_discovery_filter: the input must be an interface name or a list of them,"
            f" got {interfaces!r}"
        )
    # A bool is an int to Python, but `netem delay Truems` is no delay tc takes.
    if isinstance(pado_delay, bool) or not isinstance(pado_delay, int):
        raise AnsibleFilterError(
            "pppoe_discovery_filter: pado_delay must be an integer (0, -1 or milliseconds),"
            f" got {pado_delay!r}"
        )
    return "".join(discovery_filter(name, pado_delay) for name in names)


class FilterModule:
    """PPPoE discovery on an rp-pppoe server."""

    def filters(self):
        return {"pppoe_discovery_filter": pppoe_discovery_filter}
