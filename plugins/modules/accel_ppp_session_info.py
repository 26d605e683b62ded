#!/usr/bin/python
# SPDX-License-Identifier: GPL-3.0-or-later
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""List accel-ppp sessions through its CLI."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: accel_ppp_session_info
short_description: List the sessions of an accel-ppp BNG
version_added: 0.1.0
description:
  - Reads C(show sessions) from accel-ppp's CLI and returns one dict per session with typed
    fields (the byte, packet and uptime counters as integers).
  - Filters compare exactly. The most selective filter also narrows the table on the server
    with an anchored, escaped C(match) regex, so a username V(a.b) never matches V(axb).
  - With O(pppoe_session_id=true), each session also gets its PPPoE session id, which only the
    kernel knows, from C(/proc/net/pppoe) of the host (in O(netns) if given).
author: isplab.bng maintainers (@isplab)
extends_documentation_fragment:
  - isplab.bng.accel_ppp
  - isplab.bng.accel_ppp.read_only
options:
  username:
    description: Only the sessions of this user name.
    type: str
  ip:
    description: Only the session with this IPv4 address.
    type: str
  calling_sid:
    description:
      - Only the sessions of this client MAC address (accel-ppp's calling station id for PPPoE).
      - Any common MAC notation; compared in lower-case colon form.
    type: str
  ifname:
    description: Only the session on this PPP interface, for example V(ppp0).
    type: str
  sid:
    description: Only the session with this accel-ppp session id (16 hex digits; not the PPPoE session id).
    type: str
  pppoe_session_id:
    description:
      - Add RV(sessions[].pppoe_session_id), joined from C(/proc/net/pppoe) by client MAC and
        access interface. Reading it in a namespace needs root.
      - With a filter, the whole session table is read a second time (its C(sid), C(calling-sid)
        and C(inbound-if) columns), so that a session the filter leaves out still counts.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: All sessions of the primary BNG (CLI in namespace bng1)
  isplab.bng.accel_ppp_session_info:
    netns: bng1
  register: bng1_sessions

- name: The session of one subscriber, with its PPPoE session id
  isplab.bng.accel_ppp_session_info:
    username: user1
    pppoe_session_id: true
  register: user1

- name: Sessions of one client MAC
  isplab.bng.accel_ppp_session_info:
    calling_sid: 02-00-00-00-C0-01
"""

RETURN = r"""
sessions:
  description: The matching sessions in the order accel-ppp lists them. Empty columns are null.
  returned: success
  type: list
  elements: dict
  contains:
    ifname:
      description: PPP interface.
      type: str
      sample: ppp0
    username:
      description: User name.
      type: str
      sample: user1
    ip:
      description: IPv4 address.
      type: str
      sample: 100.64.0.11
    ip6:
      description: IPv6 address.
      type: str
    ip6_dp:
      description: Delegated IPv6 prefix.
      type: str
    calling_sid:
      description: Calling station id (the client MAC for PPPoE).
      type: str
      sample: 02:00:00:00:c0:01
    called_sid:
      description: Called station id (the AC MAC for PPPoE with C(called-sid=mac)).
      type: str
      sample: 02:00:00:00:0b:01
    sid:
      description: accel-ppp's own session id.
      type: str
      sample: d656a8388f770e57
    type:
      description: Session type.
      type: str
      sample: pppoe
    state:
      description: Session state.
      type: str
      sample: active
    uptime_raw:
      description: Uptime in seconds.
      type: int
      sample: 22
    rx_bytes_raw:
      description: Bytes received from the client.
      type: int
    tx_bytes_raw:
      description: Bytes sent to the client.
      type: int
    rx_pkts:
      description: Packets received from the client.
      type: int
    tx_pkts:
      description: Packets sent to the client.
      type: int
    inbound_if:
      description: Access interface the session came in on.
      type: str
      sample: eth0
    service_name:
      description: PPPoE Service-Name.
      type: str
    comp:
      description: Compression or encryption method.
      type: str
    netns:
      description: Network namespace of the session as accel-ppp prints it.
      type: str
    vrf:
      description: VRF name.
      type: str
    pppoe_session_id:
      description:
        - PPPoE session id from the kernel.
        - Null when the kernel shows no session, or more than one, for the client MAC and
          interface, or when accel-ppp lists more than one session for them.
      type: int
      returned: when O(pppoe_session_id=true)
      sample: 1
"""

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli import run_in_netns
from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_join import JOIN_COLUMNS, join_sessions
from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_module import (
    SESSION_COLUMNS,
    accel_ppp_cli,
    accel_ppp_module,
    session_filters,
)
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import read_proc_net_pppoe


def add_pppoe_session_ids(sessions: list[dict], cli, filtered: bool, netns: str | None) -> None:
    """Set each session's pppoe_session_id: the kernel's session of its client MAC and access
    interface, when join_sessions() joins exactly one row with it; else None."""
    # A row the filters left out can share the MAC and interface of one that is returned, and
    # then the kernel's session is as much the one as the other: join the whole table.
    table = cli.show_sessions(["sid", *JOIN_COLUMNS]) if filtered else sessions
    kernel = run_in_netns(netns, read_proc_net_pppoe)
    joined = {join.row["sid"]: join.session.session_id for join in join_sessions(kernel, table) if join.row}
    for session in sessions:
        session["pppoe_session_id"] = joined.get(session["sid"])


def main() -> None:
    module = accel_ppp_module(with_session_filters=True, pppoe_session_id={"type": "bool", "default": False})
    with accel_ppp_cli(module, {"changed": False, "sessions": []}) as cli:
        filters = session_filters(module.params)
        sessions = cli.find_sessions(SESSION_COLUMNS, filters)
        if module.params["pppoe_session_id"]:
            add_pppoe_session_ids(sessions, cli, bool(filters), module.params["netns"])
    module.exit_json(changed=False, sessions=sessions)


if __name__ == "__main__":
    main()
