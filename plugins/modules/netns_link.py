#!/usr/bin/python
# SPDX-License-Identifier: GPL-3.0-or-later
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A veth pair, bridge or macvlan in a network namespace, with its MAC, MTU, bridge and state."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: netns_link
short_description: Manage a veth pair, bridge or macvlan in a network namespace
version_added: 0.1.0
description:
  - Creates or removes one link in a network namespace (or in the host's root namespace) and
    sets its properties (MAC address, MTU, bridge, up or down) through netlink (pyroute2).
  - A veth pair is created with each end directly in its namespace. An end that exists with
    another peer is recreated, so the pair is always the one asked for; a name taken by an
    interface of another type is an error, never replaced.
  - Only the properties given are changed. Nothing is changed in check mode.
  - To build a whole topology at once use M(isplab.bng.netns_topology).
author: isplab.bng maintainers (@isplab)
extends_documentation_fragment:
  - isplab.bng.netns
  - ansible.builtin.action_common_attributes
options:
  name:
    description:
      - The interface's name, at most 15 characters (the kernel's IFNAMSIZ).
    type: str
    required: true
  namespace:
    description:
      - The network namespace the interface is in (it must exist, see M(isplab.bng.netns)).
      - Omit it for the host's root namespace.
    type: str
  type:
    description:
      - What the link is. With O(state=absent) an interface of another type is not removed;
        the module fails instead.
    type: str
    choices: [veth, bridge, macvlan]
    default: veth
  state:
    description:
      - V(present) creates the link if needed and sets the properties given; V(absent) removes it
        (a veth end takes its peer along).
    type: str
    choices: [present, absent]
    default: present
  mac:
    description:
      - The MAC address, six colon- or hyphen-separated octets; a unicast address.
      - Omitted, the kernel's (random) address stays.
    type: str
  mtu:
    description: The MTU (68 to 65535). Omitted, it stays as it is.
    type: int
  master:
    description:
      - The bridge (in the same namespace) this interface is a port of.
      - An empty string takes it out of any bridge; omitted, its bridge stays as it is.
    type: str
  up:
    description: Whether the interface is administratively up.
    type: bool
    default: true
  peer:
    description:
      - The other end of a veth pair (O(type=veth)); required with O(state=present).
    type: dict
    suboptions:
      name:
        description: The peer's name, at most 15 characters.
        type: str
        required: true
      namespace:
        description: The peer's namespace; omitted, the host's root namespace.
        type: str
      mac:
        description: The peer's MAC address.
        type: str
      mtu:
        description: The peer's MTU.
        type: int
      master:
        description: The bridge in the peer's namespace the peer is a port of; an empty string for none.
        type: str
      up:
        description: Whether the peer is up.
        type: bool
        default: true
  parent:
    description:
      - The interface a macvlan sits on, in the same namespace (O(type=macvlan)); required with
        O(state=present). A bridge port cannot be a parent; put the macvlan on the bridge.
    type: str
  mode:
    description: The macvlan mode.
    type: str
    choices: [private, vepa, bridge, passthru, source]
    default: bridge
  members:
    description:
      - Interfaces in the same namespace to make ports of this bridge (O(type=bridge)).
        Ports not listed are left alone.
    type: list
    elements: str
    default: []
attributes:
  diff_mode:
    support: full
    details: Shows the properties of the interface (and of a veth's peer) before and after.
seealso:
  - module: isplab.bng.netns
  - module: isplab.bng.netns_address
  - module: isplab.bng.netns_topology
"""

EXAMPLES = r"""
- name: An access bridge in its own namespace
  isplab.bng.netns_link:
    name: br-access
    namespace: access
    type: bridge

- name: The primary BNG's access port, plugged into the bridge, with the AC MAC
  isplab.bng.netns_link:
    name: access
    namespace: bng1
    mac: "02:00:00:00:0b:01"
    peer:
      name: bng1
      namespace: access
      master: br-access

- name: A macvlan that carries the primary's AC MAC on the standby's access port
  isplab.bng.netns_link:
    name: ac-bng1
    namespace: bng2
    type: macvlan
    parent: access
    mac: "02:00:00:00:0b:01"

- name: Remove the pair (the peer goes with it)
  isplab.bng.netns_link:
    name: access
    namespace: bng1
    state: absent
"""

RETURN = r"""
actions:
  description: What was done, or in check mode what would be done, one line per change.
  returned: always
  type: list
  elements: str
  sample:
    - "create veth bng1:access <-> access:bng1"
    - "set bng1:access: mac 6e:1f:5a:00:12:9c -> 02:00:00:00:0b:01, up"
link:
  description:
    - The interface's properties afterwards (in check mode, as they would be); empty when absent.
  returned: always
  type: dict
  sample: {"kind": "veth", "mac": "02:00:00:00:0b:01", "mtu": 1500, "master": null, "up": true}
peer:
  description: The same for the peer of a veth pair.
  returned: when O(type=veth) and O(peer) is given
  type: dict
  sample: {"kind": "veth", "mac": "be:6a:11:02:9c:03", "mtu": 1500, "master": "br-access", "up": true}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.isplab.bng.plugins.module_utils._netns import (
    PYROUTE2_IMPORT_ERROR,
    Kernel,
    NetnsError,
)
from ansible_collections.isplab.bng.plugins.module_utils._topology_checks import (
    TopologyError,
    check_ifname,
    check_mac,
    check_mtu,
    check_netns_name,
)


def _end(params: dict, field: str) -> dict:
    """The checked name, namespace and properties of one interface from the module's options."""
    end = {
        "netns": check_netns_name(params["namespace"], f"{field}namespace")
        if params.get("namespace")
        else None,
        "name": check_ifname(params["name"], f"{field}name"),
        "mac": check_mac(params["mac"], f"{field}mac") if params.get("mac") is not None else None,
        "mtu": check_mtu(params["mtu"], f"{field}mtu") if params.get("mtu") is not None else None,
        "master": params.get("master"),
        "up": params.get("up"),
    }
    if end["master"]:
        check_ifname(end["master"], f"{field}master")
    return end


def _predict(before: dict, kind: str, end: dict) -> dict:
    after = dict(before or {"kind": kind, "mac": None, "mtu": None, "master": None, "up": False})
    for key in ("mac", "mtu", "up"):
        if end[key] is not None:
            after[key] = end[key]
    if end["master"] is not None:
        after["master"] = end["master"] or None
    return after


def main() -> None:
    end_options = {
        "mac": {"type": "str"},
        "mtu": {"type": "int"},
        "master": {"type": "str"},
        "up": {"type": "bool", "default": True},
    }
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "namespace": {"type": "str"},
            "type": {"type": "str", "choices": ["veth", "bridge", "macvlan"], "default": "veth"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            **end_options,
            "peer": {
                "type": "dict",
                "options": {
                    "name": {"type": "str", "required": True},
                    "namespace": {"type": "str"},
                    **end_options,
                },
            },
            "parent": {"type": "str"},
            "mode": {
                "type": "str",
                "choices": ["private", "vepa", "bridge", "passthru", "source"],
                "default": "bridge",
            },
            "members": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    if PYROUTE2_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("pyroute2"), exception=str(PYROUTE2_IMPORT_ERROR))
    params = module.params
    kind = params["type"]
    present = params["state"] == "present"
    if present and kind == "veth" and not params["peer"]:
        module.fail_json(msg="type=veth needs peer (the other end's name and namespace)")
    if present and kind == "macvlan" and not params["parent"]:
        module.fail_json(msg="type=macvlan needs parent (the interface it sits on)")
    if params["members"] and kind != "bridge":
        module.fail_json(msg="members is only for type=bridge")

    result: dict = {"changed": False, "actions": []}
    try:
        end = _end(params, "")
        peer = _end(params["peer"], "peer.") if kind == "veth" and params["peer"] else None
        if kind == "macvlan" and params["parent"]:
            check_ifname(params["parent"], "parent")
        members = [check_ifname(m, f"members[{i}]") for i, m in enumerate(params["members"])]
        with Kernel(check_mode=module.check_mode) as kernel:
            before = {"link": kernel.link_state(end["netns"], end["name"])}
            if peer:
                before["peer"] = kernel.link_state(peer["netns"], peer["name"])
            actions: list[str] = []
            if not present:
                if kind == "veth" and peer:
                    actions += kernel.ensure_veth(
                        end["netns"], end["name"], peer["netns"], peer["name"], present=False
                    )
                else:
                    actions += kernel.remove_link(end["netns"], end["name"], kind)
                after = {key: {} for key in before}
            else:
                if kind == "bridge":
                    actions += kernel.ensure_bridge(end["netns"], end["name"])
                elif kind == "veth":
                    actions += kernel.ensure_veth(end["netns"], end["name"], peer["netns"], peer["name"])
                else:
                    actions += kernel.ensure_macvlan(
                        end["netns"], end["name"], params["parent"], params["mode"]
                    )
                ends = [("link", end), ("peer", peer)] if peer else [("link", end)]
                for _end_name, item in ends:
                    actions += kernel.ensure_link(
                        item["netns"], item["name"], item["mac"], item["mtu"], item["master"], item["up"]
                    )
                for member in members:
                    actions += kernel.ensure_link(end["netns"], member, master=end["name"])
                if module.check_mode:
                    after = {key: _predict(before[key], kind, item) for key, item in ends}
                else:
                    after = {key: kernel.link_state(item["netns"], item["name"]) for key, item in ends}
    except (NetnsError, TopologyError) as exc:
        module.fail_json(msg=str(exc), **result)
    result.update(changed=bool(actions), actions=actions, **after)
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
