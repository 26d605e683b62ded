#!/usr/bin/python
# SPDX-License-Identifier: GPL-3.0-or-later
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read accel-ppp's statistics, IP pools and version through its CLI."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: accel_ppp_stat_info
short_description: Read the statistics, IP pool usage and version of an accel-ppp BNG
version_added: 0.1.0
description:
  - Runs C(show stat), C(show ippool), C(show version) and C(pppoe interface show) on
    accel-ppp's CLI, as O(gather) says, and returns them parsed.
  - Numbers are integers; packed figures are split, for example C(recv PADR(dup) 4(0)) gives
    C(recv_padr=4) and C(recv_padr_dup=0), and C(mem(rss/virt)) gives C(mem_rss_kb) and C(mem_virt_kb).
author: isplab.bng maintainers (@isplab)
extends_documentation_fragment:
  - isplab.bng.accel_ppp
  - isplab.bng.accel_ppp.read_only
options:
  gather:
    description:
      - What to read. V(ippool) needs accel-ppp's ippool module and V(pppoe_interfaces) its
        pppoe module; without them accel-ppp answers C(command unknown) and the module fails.
    type: list
    elements: str
    choices: [stat, ippool, version, pppoe_interfaces]
    default: [stat, ippool, version]
"""

EXAMPLES = r"""
- name: How many sessions does the standby have?
  isplab.bng.accel_ppp_stat_info:
    netns: bng2
    gather: [stat]
  register: bng2

- name: Show them
  ansible.builtin.debug:
    msg: "{{ bng2.stat.sessions.active }} active sessions"
"""

RETURN = r"""
stat:
  description: C(show stat) as nested dicts, one per section (core, sessions, pppoe, radius...).
  returned: when V(stat) is in O(gather)
  type: dict
  sample:
    uptime: "0.00:00:24"
    uptime_seconds: 24
    cpu_percent: 0
    mem_rss_kb: 5432
    mem_virt_kb: 175140
    sessions: {starting: 0, active: 4, finishing: 0}
    pppoe: {active: 4, recv_padi: 4, recv_padr: 4, recv_padr_dup: 0, sent_pads: 4}
ippool:
  description: One dict per IP pool, C(<default>) for the unnamed one.
  returned: when V(ippool) is in O(gather)
  type: list
  elements: dict
  sample: [{name: "<default>", total: 241, used: 0, available: 241, usage_percent: 0}]
version:
  description: accel-ppp's version.
  returned: when V(version) is in O(gather)
  type: str
  sample: 1.14.0
pppoe_interfaces:
  description: The interfaces accel-ppp's PPPoE serves; state V(active) or V(stop) (being stopped).
  returned: when V(pppoe_interfaces) is in O(gather)
  type: list
  elements: dict
  sample: [{interface: eth0, connections: 4, state: active}]
"""

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_module import (
    accel_ppp_cli,
    accel_ppp_module,
)


def main() -> None:
    module = accel_ppp_module(
        gather={
            "type": "list",
            "elements": "str",
            "choices": ["stat", "ippool", "version", "pppoe_interfaces"],
            "default": ["stat", "ippool", "version"],
        },
    )
    result: dict = {"changed": False}
    with accel_ppp_cli(module, result) as cli:
        readers = {
            "stat": cli.show_stat,
            "ippool": cli.show_ippool,
            "version": cli.version,
            "pppoe_interfaces": cli.pppoe_interfaces,
        }
        for name in dict.fromkeys(module.params["gather"]):
            result[name] = readers[name]()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
