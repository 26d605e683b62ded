#!/usr/bin/python
# SPDX-License-Identifier: GPL-3.0-or-later
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PPPoE sessions a BNG failover agent adopted (hitless takeover)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pppoe_adopted_session_info
short_description: List the PPPoE sessions a BNG adopted on failover
version_added: 0.1.0
description:
  - Lists the sessions that the failover agent of a BNG (role isplab.bng.bng_failover) took
    over from the failed BNG without the subscribers redialing (stage two). They live in the
    BNG's kernel, outside its PPPoE server, and the agent answers their LCP echoes.
  - For each one, the subscriber (user name, client MAC, PPPoE session id), the AC MAC it talks
    to, its ppp interface and addresses, and how long ago it was adopted and started.
  - Also returns the agent's status (role, replicated state, last takeover, replication lag).
  - Filters compare exactly; without one, every adopted session is listed.
author: isplab.bng maintainers (@isplab)
extends_documentation_fragment:
  - isplab.bng.bng_failover
  - isplab.bng.bng_failover.sessions
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; it runs in check mode as it does otherwise.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
seealso:
  - module: isplab.bng.pppoe_adopted_session
  - module: isplab.bng.bng_switchover
"""

EXAMPLES = r"""
- name: What did bng2 take over?
  isplab.bng.pppoe_adopted_session_info:
    instance: bng2
  register: adopted

- name: Every subscriber kept its address
  ansible.builtin.assert:
    that:
      - adopted.sessions | map(attribute='ipv4') | sort == expected_addresses | sort
"""

RETURN = r"""
sessions:
  description: The adopted sessions that match, in no particular order.
  returned: always
  type: list
  elements: dict
  contains:
    session_id:
      description: The PPPoE session id.
      type: int
      sample: 3
    client_mac:
      description: The subscriber's MAC.
      type: str
      sample: "02:00:00:00:c0:03"
    ac_mac:
      description: The AC MAC the subscriber talks to (the failed BNG's), carried by RV(sessions[].device).
      type: str
      sample: "02:00:00:00:0b:01"
    username:
      description: The user (null when the failed BNG did not know it).
      type: str
      sample: user3
    ipv4:
      description: The subscriber's IPv4 address.
      type: str
      sample: 100.64.0.13
    gateway:
      description: The BNG's address on the session.
      type: str
      sample: 100.64.0.1
    ipv6_prefix:
      description: The IPv6 prefix announced to the subscriber (null without IPv6).
      type: str
      sample: "2001:db8:110:3::/64"
    ipv6_delegated:
      description: The subscriber's delegated IPv6 prefix (null without one).
      type: str
      sample: "2001:db8:120:300::/56"
    ifname:
      description: The ppp interface of the session on this BNG.
      type: str
      sample: ppp2
    device:
      description: The Ethernet interface the session runs on (a macvlan with the AC MAC).
      type: str
      sample: ac020000000b01
    adopted_at:
      description: When it was adopted (Unix time).
      type: float
      sample: 1795290000.12
    age:
      description: Seconds since it was adopted.
      type: float
      sample: 42.5
    session_age:
      description: Seconds since the session started (on the failed BNG).
      type: float
      sample: 3600.2
    last_heard:
      description: Seconds since the subscriber last sent an LCP packet.
      type: float
      sample: 1.2
agent:
  description: The agent's status (role, keepalived state, health, replicated state, last takeover, lag).
  returned: always
  type: dict
  sample:
    role: active
    keepalived: MASTER
    adopted: 19
    descriptors: {limit: 524288, open: 71, adoptable: 174717, short: 0}
    last_takeover: {seconds: 1.8, replicated: 20, adopted: 19, padt: 1, skip: 0}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.isplab.bng.plugins.module_utils._failover.config import AgentError
from ansible_collections.isplab.bng.plugins.module_utils._failover_module import (
    Agent,
    agent_argument_spec,
    session_filter_spec,
    session_selector,
)


def main() -> None:
    argument_spec = agent_argument_spec()
    argument_spec.update(session_filter_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        agent = Agent(module.params)
        selector = session_selector(module.params)
        listed = agent.request("sessions", **({"sessions": [selector]} if selector else {}))
        status = agent.request("status")
    except AgentError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, sessions=listed["sessions"], agent=status)


if __name__ == "__main__":
    main()
