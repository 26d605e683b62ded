#!/usr/bin/python
# SPDX-License-Identifier: GPL-3.0-or-later
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A whole network-namespace topology (namespaces, links, addresses, routes, sysctls) in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: netns_topology
short_description: Apply or tear down a whole network-namespace topology
version_added: 0.1.0
description:
  - Makes a topology described as data real in one call, through netlink (pyroute2), namely network
    namespaces with their sysctls and routes, bridges, veth pairs, macvlans, their MAC
    addresses, MTUs, bridge ports and state, and their addresses. One call applies a plan of
    thousands of resources (200 namespaces in about ten seconds, a re-run with nothing to
    change in a few), where one task per resource would take the better part of an hour.
  - The whole model is validated before anything changes, and every error is reported at
    once, each naming its entry (C(links[3].ends[0] (bng1:core))).
  - The order is namespaces, the sysctls not about one interface (so that
    C(net.ipv6.conf.default.*) applies to the interfaces created next), bridges, veth pairs,
    macvlans, the per-interface sysctls, link properties, addresses, routes.
  - Only what differs is changed, in place (a new MAC, MTU or address does not recreate the
    link). With O(previous), what the previous model declared and this one does not is
    removed first (addresses, routes, links, namespaces); without it nothing is removed, so
    that addresses other software adds (a VRRP address, say) are left alone.
  - The role isplab.bng.netns_topology uses this module, keeps the applied model as
    O(previous) and re-applies it at boot.
author: isplab.bng maintainers (@isplab)
requirements:
  - pyroute2 0.7 on the target (Debian 12 package C(python3-pyroute2)), except with O(validate_only=true)
  - root (or CAP_SYS_ADMIN) on the target, except with O(validate_only=true)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  topology:
    description:
      - The model. Keys (all optional) C(hosts), C(bridges) and C(links); see the role
        isplab.bng.netns_topology (its C(meta/argument_specs.yml)) for every field.
      - C(hosts) maps each namespace name to C(sysctls) (a mapping, C(net.*) only),
        C(routes) (a list of C(to), C(via), C(dev), C(metric)) and C(loopback) (addresses
        for C(lo), which is always up).
      - C(bridges) is a list of C(name), C(namespace) (omitted for the root namespace),
        C(mac), C(mtu), C(up) and C(addresses).
      - C(links) is a list of veth pairs, C(ends) with two entries (C(name), C(namespace),
        C(mac), C(mtu), C(up), C(addresses), C(bridge)), and of macvlans (C(type=macvlan),
        C(name), C(namespace), C(parent), C(mode), C(mac), C(mtu), C(up), C(addresses)).
    type: dict
    required: true
  previous:
    description:
      - The model applied before (the role keeps it in C(/etc/isplab/topology.json)). With
        O(state=present), what it declared and O(topology) does not is removed; with
        O(state=absent), what it declared is torn down too.
    type: dict
  state:
    description:
      - V(present) applies the model; V(absent) removes the namespaces it declares (with
        everything in them) and its links in the root namespace, and nothing else.
    type: str
    choices: [present, absent]
    default: present
  validate_only:
    description:
      - Only validate the model and return its RV(plan) and RV(probes); touch
        nothing. Needs neither pyroute2 nor root, so it can run before either is installed.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff lists the actions, one per line.
  platform:
    support: full
    platforms: posix
seealso:
  - module: isplab.bng.netns
  - module: isplab.bng.netns_link
  - module: isplab.bng.netns_address
  - module: isplab.bng.netns_route
  - module: isplab.bng.netns_sysctl
"""

EXAMPLES = r"""
- name: Two namespaces joined by a veth pair
  isplab.bng.netns_topology:
    topology:
      hosts:
        left:
          sysctls: {net.ipv6.conf.default.accept_dad: 0}
          routes:
            - {to: default, via: 192.0.2.2}
        right: {}
      links:
        - ends:
            - {name: right, namespace: left, addresses: [192.0.2.1/30]}
            - {name: left, namespace: right, addresses: [192.0.2.2/30]}

- name: Validate the lab's model and get the pings that would prove it
  isplab.bng.netns_topology:
    topology: "{{ netns_topology }}"
    validate_only: true
  register: lab

- name: Tear it down
  isplab.bng.netns_topology:
    topology: "{{ netns_topology }}"
    state: absent
"""

RETURN = r"""
actions:
  description: What was done, or in check mode what would be done, one line per change, in order.
  returned: always
  type: list
  elements: str
  sample:
    - "create namespace left"
    - "create veth left:right <-> right:left"
    - "add address 192.0.2.1/30 on left:right"
errors:
  description: Every error of an invalid model, each naming its entry.
  returned: failure, when the model is invalid
  type: list
  elements: str
  sample:
    - "links[0].ends[0].name: interface name 'a-very-long-name' is 16 bytes, the kernel allows 15 (IFNAMSIZ)"
plan:
  description: The resources that make the model, in the order they are applied.
  returned: when O(validate_only=true)
  type: list
  elements: dict
  sample: [{"kind": "netns", "name": "left"}, {"kind": "veth", "netns": "left", "name": "right",
           "peer_netns": "right", "peer": "left"}]
probes:
  description:
    - Checks with real traffic for a verification playbook.
    - C(links) lists, for every two interfaces on one layer-2 segment, what to ping from
      C(netns) out of C(dev); C(address) null means the IPv6 link-local address of
      C(target_dev) in C(target_netns).
    - C(routes) lists, for every route, an C(address) to ask C(ip route get) about in
      C(netns), with the C(via) and C(dev) the answer must show.
  returned: when O(validate_only=true)
  type: dict
  sample: {"links": [{"netns": "left", "dev": "right", "address": "192.0.2.2", "target_netns": "right",
           "target_dev": "left"}], "routes": [{"netns": "left", "to": "0.0.0.0/0", "address": "192.0.2.1",
           "via": "192.0.2.2", "dev": null}]}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.isplab.bng.plugins.module_utils._netns import PYROUTE2_IMPORT_ERROR, NetnsError
from ansible_collections.isplab.bng.plugins.module_utils._topology import load, plan
from ansible_collections.isplab.bng.plugins.module_utils._topology_apply import (
    apply_topology,
    teardown_topology,
)
from ansible_collections.isplab.bng.plugins.module_utils._topology_checks import TopologyError
from ansible_collections.isplab.bng.plugins.module_utils._topology_probes import probes


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "topology": {"type": "dict", "required": True},
            "previous": {"type": "dict"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "validate_only": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    result: dict = {"changed": False, "actions": []}
    try:
        topology = load(params["topology"])
        if params["previous"]:
            try:
                load(params["previous"])
            except TopologyError as exc:
                raise TopologyError([f"previous: {error}" for error in exc.errors]) from None
        for warning in topology.warnings:
            module.warn(warning)
        if params["validate_only"]:
            module.exit_json(plan=plan(topology), probes=probes(topology), **result)
        if PYROUTE2_IMPORT_ERROR is not None:
            module.fail_json(msg=missing_required_lib("pyroute2"), exception=str(PYROUTE2_IMPORT_ERROR))
        if params["state"] == "present":
            outcome = apply_topology(params["topology"], params["previous"], check_mode=module.check_mode)
        else:
            outcome = teardown_topology(
                [params["topology"], params["previous"]], check_mode=module.check_mode
            )
    except TopologyError as exc:
        module.fail_json(
            msg=f"the topology has {len(exc.errors)} error(s): " + "; ".join(exc.errors),
            errors=exc.errors,
            **result,
        )
    except NetnsError as exc:
        module.fail_json(msg=str(exc), changed=bool(exc.actions), actions=exc.actions)
    for warning in outcome.get("warnings", []):
        if warning not in topology.warnings:
            module.warn(warning)
    result.update(changed=outcome["changed"], actions=outcome["actions"])
    if module._diff and outcome["actions"]:
        result["diff"] = {"prepared": "\n".join(outcome["actions"]) + "\n"}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
