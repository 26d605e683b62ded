#!/usr/bin/python
# SPDX-License-Identifier: GPL-3.0-or-later
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage accel-ppp's run-time PPPoE settings through its CLI."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: accel_ppp_pppoe
short_description: Set accel-ppp's run-time PPPoE settings and served interfaces
version_added: 0.1.0
description:
  - Declares the PPPoE settings of a running accel-ppp that its CLI can change without a
    restart; reads each one (C(pppoe show ...), C(pppoe interface show)) and changes only
    those that differ, then reads them back and fails if accel-ppp did not take the value.
  - Options left out are neither read nor changed.
  - Run-time changes last until accel-ppp restarts; put the same values in its
    configuration file to keep them.
  - The failover uses it to make a standby answer discovery at once (O(pado_delay=0)) or to
    start serving an access interface.
author: isplab.bng maintainers (@isplab)
extends_documentation_fragment:
  - isplab.bng.accel_ppp
options:
  interfaces:
    description:
      - Access interfaces to serve (C(pppoe interface add)) or stop serving (C(pppoe interface del)),
        as O(interfaces_state) says.
      - Stopping an interface drops the sessions on it.
    type: list
    elements: str
  interfaces_state:
    description: V(present) serves every interface of O(interfaces); V(absent) serves none of them.
    type: str
    choices: [present, absent]
    default: present
  pado_delay:
    description:
      - PADO delay list in milliseconds as accel-ppp writes it, V(DELAY[,DELAY:COUNT...]);
        V(-1) never answers discovery. For example V(0) or V(0,100:100,-1:500).
      - Quote it in YAML so that it stays a string.
    type: str
  ac_name:
    description: The AC-Name tag sent in PADO and PADS.
    type: str
  service_name:
    description: Service-Name to answer; V(*) answers any Service-Name the client asks for.
    type: str
  verbose:
    description: Verbosity of accel-ppp's PPPoE logging.
    type: int
attributes:
  check_mode:
    support: full
    description: Reads the current values and reports what would change; changes nothing.
  diff_mode:
    support: full
    description: Before and after hold the managed settings and the served interfaces.
"""

EXAMPLES = r"""
- name: Let the standby answer discovery at once
  isplab.bng.accel_ppp_pppoe:
    netns: bng2
    pado_delay: "0"

- name: Serve the access interface and name the concentrator
  isplab.bng.accel_ppp_pppoe:
    interfaces: [eth0]
    ac_name: lab-bng

- name: Stop serving an interface (drops its sessions)
  isplab.bng.accel_ppp_pppoe:
    interfaces: [eth1]
    interfaces_state: absent
"""

RETURN = r"""
pppoe:
  description: The managed values after the run (in check mode, as they would be).
  returned: success
  type: dict
  contains:
    interfaces:
      description: The interfaces accel-ppp serves (not those it is stopping).
      type: list
      elements: str
      returned: when O(interfaces) is given
      sample: [eth0]
    pado_delay:
      description: PADO delay list.
      type: str
      returned: when O(pado_delay) is given
      sample: "0"
    ac_name:
      description: AC-Name.
      type: str
      returned: when O(ac_name) is given
    service_name:
      description: Service-Name.
      type: str
      returned: when O(service_name) is given
    verbose:
      description: PPPoE log verbosity.
      type: int
      returned: when O(verbose) is given
commands:
  description:
    - The CLI commands run to make the changes (in check mode, that would be run).
    - On a failure, those that had run before it.
  returned: always
  type: list
  elements: str
  sample: ["pppoe set PADO-delay 0"]
"""

import contextlib
import re

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli import (
    AccelPppAlreadyExistsError,
    AccelPppInputError,
    check_ifname,
    check_word,
)
from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_module import (
    accel_ppp_module,
    cli_from_params,
    fail_on_error,
)

_PADO_DELAY_RE = re.compile(r"^-?\d+(?:,-?\d+:\d+)*$")
# Option name -> accel-ppp's setting name for `pppoe show` / `pppoe set`.
SETTINGS = {
    "pado_delay": "PADO-delay",
    "ac_name": "AC-Name",
    "service_name": "Service-Name",
    "verbose": "verbose",
}


def wanted_settings(params: dict) -> dict[str, str]:
    """The settings given in params, checked, as the strings `pppoe show` prints."""
    wanted = {}
    for option in SETTINGS:
        value = params.get(option)
        if value is None:
            continue
        value = check_word(option, str(value))
        if option == "pado_delay" and not _PADO_DELAY_RE.match(value):
            raise AccelPppInputError(
                "pado_delay must be DELAY[,DELAY:COUNT...] in milliseconds "
                f"(e.g. '0' or '0,100:100,-1:500'), got {value!r}"
            )
        wanted[option] = value
    return wanted


def read_state(cli, wanted: dict[str, str], with_interfaces: bool) -> dict:
    state: dict = {option: cli.pppoe_show(SETTINGS[option]) for option in wanted}
    if with_interfaces:
        # An interface being stopped is listed as "stop" until its sessions are gone.
        rows = cli.pppoe_interfaces()
        state["interfaces"] = sorted(row["interface"] for row in rows if row.get("state") != "stop")
    return state


def plan(current: dict, wanted: dict[str, str], interfaces: list[str] | None, present: bool) -> list[tuple]:
    """The changes to make, as (action, name, value) tuples, in the order to apply them."""
    steps: list[tuple] = []
    for option, value in wanted.items():
        if current[option] != value:
            steps.append(("set", SETTINGS[option], value))
    for ifname in interfaces or []:
        served = ifname in current["interfaces"]
        if present and not served:
            steps.append(("add", ifname, None))
        elif not present and served:
            steps.append(("del", ifname, None))
    return steps


def command_text(step: tuple) -> str:
    action, name, value = step
    return f"pppoe set {name} {value}" if action == "set" else f"pppoe interface {action} {name}"


def expected_after(current: dict, steps: list[tuple]) -> dict:
    after = dict(current)
    if "interfaces" in after:
        after["interfaces"] = list(after["interfaces"])
    by_name = {name: option for option, name in SETTINGS.items()}
    for action, name, value in steps:
        if action == "set":
            after[by_name[name]] = value
        elif action == "add":
            after["interfaces"] = sorted([*after["interfaces"], name])
        else:
            after["interfaces"] = [ifname for ifname in after["interfaces"] if ifname != name]
    return after


def typed(state: dict) -> dict:
    out = dict(state)
    if out.get("verbose") is not None and re.match(r"^-?\d+$", out["verbose"]):
        out["verbose"] = int(out["verbose"])
    return out


def main() -> None:
    module = accel_ppp_module(
        interfaces={"type": "list", "elements": "str"},
        interfaces_state={"type": "str", "choices": ["present", "absent"], "default": "present"},
        pado_delay={"type": "str"},
        ac_name={"type": "str"},
        service_name={"type": "str"},
        verbose={"type": "int"},
    )
    params = module.params
    result: dict = {"changed": False, "commands": []}

    with fail_on_error(module, result):
        wanted = wanted_settings(params)
        interfaces = params["interfaces"]
        if interfaces is not None:
            interfaces = [check_ifname("interfaces", name) for name in interfaces]
        cli = cli_from_params(params)
        current = read_state(cli, wanted, interfaces is not None)

    steps = plan(current, wanted, interfaces, params["interfaces_state"] == "present")
    after = expected_after(current, steps)
    result.update(changed=bool(steps), commands=[command_text(step) for step in steps], pppoe=typed(after))
    if module._diff:
        result["diff"] = {"before": typed(current), "after": typed(after)}
    if not steps or module.check_mode:
        module.exit_json(**result)

    # From here on, result tells what was really done, also when a step fails.
    applied = {"changed": False, "commands": []}
    with fail_on_error(module, applied):
        for step in steps:
            action, name, value = step
            if action == "set":
                cli.pppoe_set(name, value)
            elif action == "add":
                # Added by someone else since the list was read: the goal is met.
                with contextlib.suppress(AccelPppAlreadyExistsError):
                    cli.pppoe_interface_add(name)
            else:
                cli.pppoe_interface_del(name)
            applied["commands"].append(command_text(step))
            applied["changed"] = True
        actual = read_state(cli, wanted, interfaces is not None)
    if actual != after:
        differs = sorted(key for key in after if actual.get(key) != after[key])
        module.fail_json(
            msg=f"accel-ppp does not show the values that were set for {', '.join(differs)}: "
            f"wanted {[after[key] for key in differs]!r}, it shows {[actual.get(key) for key in differs]!r}",
            **applied,
            pppoe=typed(actual),
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
