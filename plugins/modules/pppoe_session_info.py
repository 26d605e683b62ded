#!/usr/bin/python
# SPDX-License-Identifier: GPL-3.0-or-later
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PPPoE session of each subscriber namespace: up or not, ppp interface, addresses, AC."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pppoe_session_info
short_description: Report the PPPoE session of subscriber network namespaces
version_added: 0.1.0
description:
  - For each network namespace given (one PPPoE client each, as the role
    isplab.bng.pppoe_client makes them), reports whether its PPPoE session is up, its ppp
    interface, its IPv4 and IPv6 addresses, the gateway (the peer address of the ppp link),
    and the access concentrator it is connected to (AC MAC and PPPoE session id).
  - The AC MAC and session id come from the namespace's C(/proc/net/pppoe), the client side
    of the kernel's PPPoE sessions, so only sessions of the kernel PPPoE plugin
    (pppd C(plugin pppoe.so)) are seen. The interfaces and addresses are read through
    netlink (pyroute2) from inside the namespace.
  - A session is up when the kernel has the PPPoE session and pppd has brought the ppp
    interface up, which it does once IPCP or IPv6CP has opened.
  - With O(wait), waits until every namespace's session is up (or, with V(down), none is),
    polling twice a second, and fails after O(timeout) seconds naming those that are not.
author: isplab.bng maintainers (@isplab)
requirements:
  - pyroute2 0.7 on the target (Debian 12 package C(python3-pyroute2))
  - root (or CAP_SYS_ADMIN) on the target, to enter the namespaces
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  namespaces:
    description:
      - The subscriber namespaces to look at. A namespace that does not exist is reported
        with RV(sessions[].exists=false) and as not up.
    type: list
    elements: str
    required: true
  wait:
    description:
      - V(none) reports what is there now.
      - V(up) waits until every session is up, V(down) until none is.
    type: str
    choices: [none, up, down]
    default: none
  timeout:
    description: How long O(wait) waits, in seconds, before the module fails.
    type: int
    default: 120
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
  - module: isplab.bng.accel_ppp_session_info
  - plugin: isplab.bng.pppoe_subscribers
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Wait until the lab's subscribers are connected
  isplab.bng.pppoe_session_info:
    namespaces: "{{ pppoe_client_subscribers | isplab.bng.pppoe_subscribers | map(attribute='name') }}"
    wait: up
    timeout: 300
  register: lab_sessions

- name: Every subscriber got its static address from the primary BNG
  ansible.builtin.assert:
    that:
      - item.ipv4 == [expected[item.namespace]]
      - item.gateway == '100.64.0.1'
      - item.ac_mac == '02:00:00:00:0b:01'
    quiet: true
  loop: "{{ lab_sessions.sessions }}"
  loop_control:
    label: "{{ item.namespace }}"
"""

RETURN = r"""
sessions:
  description: One entry per namespace, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    namespace:
      description: The namespace.
      type: str
      sample: cpe1
    exists:
      description: Whether the namespace exists.
      type: bool
      sample: true
    up:
      description: Whether the PPPoE session is established and its ppp interface up.
      type: bool
      sample: true
    interface:
      description: The ppp interface (null when pppd has none).
      type: str
      sample: ppp0
    ipv4:
      description: The IPv4 addresses of the ppp interface.
      type: list
      elements: str
      sample: ["100.64.0.11"]
    gateway:
      description: The IPv4 address of the other end of the ppp link (null when there is none).
      type: str
      sample: 100.64.0.1
    ipv6:
      description: The IPv6 addresses of the ppp interface, link-local first.
      type: list
      elements: str
      sample: ["fe80::2", "2001:db8:110:1::2"]
    ac_mac:
      description: The MAC address of the access concentrator of the kernel PPPoE session.
      type: str
      sample: "02:00:00:00:0b:01"
    session_id:
      description: The PPPoE session id (decimal).
      type: int
      sample: 1
    pppoe_interface:
      description: The Ethernet interface the PPPoE session runs on.
      type: str
      sample: access
up:
  description: The namespaces whose session is up.
  returned: always
  type: list
  elements: str
  sample: ["cpe1", "cpe2"]
down:
  description: The namespaces whose session is not up.
  returned: always
  type: list
  elements: str
  sample: ["cpe3"]
elapsed:
  description: Seconds spent, waiting included.
  returned: always
  type: float
  sample: 4.2
"""

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.isplab.bng.plugins.module_utils._netns import (
    PYROUTE2_IMPORT_ERROR,
    Kernel,
    NetnsError,
)
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_session import read_namespace
from ansible_collections.isplab.bng.plugins.module_utils._topology_checks import (
    TopologyError,
    check_netns_name,
)

POLL_INTERVAL = 0.5


def _read(namespaces: list[str]) -> list[dict]:
    # A fresh Kernel each time: it caches what it read.
    with Kernel(check_mode=True) as kernel:
        return [read_namespace(kernel, name) for name in namespaces]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "namespaces": {"type": "list", "elements": "str", "required": True},
            "wait": {"type": "str", "choices": ["none", "up", "down"], "default": "none"},
            "timeout": {"type": "int", "default": 120},
        },
        supports_check_mode=True,
    )
    if PYROUTE2_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("pyroute2"), exception=str(PYROUTE2_IMPORT_ERROR))
    params = module.params
    if params["timeout"] < 0:
        module.fail_json(msg=f"timeout must be 0 or more seconds, got {params['timeout']}")
    started = time.monotonic()
    try:
        namespaces = [
            check_netns_name(name, f"namespaces[{i}]") for i, name in enumerate(params["namespaces"])
        ]
        while True:
            sessions = _read(namespaces)
            up = [s["namespace"] for s in sessions if s["up"]]
            down = [s["namespace"] for s in sessions if not s["up"]]
            pending = {"none": [], "up": down, "down": up}[params["wait"]]
            if not pending or time.monotonic() - started >= params["timeout"]:
                break
            time.sleep(POLL_INTERVAL)
    except (NetnsError, TopologyError) as exc:
        module.fail_json(msg=str(exc))
    result = {
        "changed": False,
        "sessions": sessions,
        "up": up,
        "down": down,
        "elapsed": round(time.monotonic() - started, 2),
    }
    if pending:
        shown = ", ".join(pending[:20]) + (f" and {len(pending) - 20} more" if len(pending) > 20 else "")
        module.fail_json(
            msg=f"after {params['timeout']} s, {len(pending)} of {len(sessions)} session(s) are not "
            f"{params['wait']}: {shown}",
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
