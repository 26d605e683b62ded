# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter ping_outage: the largest gap in the replies of `ping -D`.

Its documentation is in ping_outage.yml next to this file; the logic is shared with the failover
benchmark in plugins/module_utils/_outage.py.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.isplab.bng.plugins.module_utils._outage import largest_gap, reply_times


def ping_outage(output, start, end) -> dict:
    if not isinstance(output, str):
        raise AnsibleFilterError(
            f"ping_outage: the input must be the text ping -D printed, got {type(output).__name__}"
        )
    try:
        return largest_gap(reply_times(output), float(start), float(end))
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(
            f"ping_outage: start and end must be Unix times, start before end: {exc}"
        ) from None


class FilterModule:
    """Outages seen in ping replies."""

    def filters(self):
        return {"ping_outage": ping_outage}
