# SPDX-License-Identifier: GPL-3.0-or-later
"""A whole network topology made real: a model's plan applied through the netlink layer, what a
previous model declared removed, a teardown, and the boot-time entry point.

Private to the isplab.bng collection: no stability promise outside it.

Apart from the netlink layer (_netns.py), which the modules netns_* use one resource at a
time, because this is what only a whole model needs: it walks the plan of _topology.py and
calls the layer for each resource. The module netns_topology, the benchmark and the role
netns_topology's boot unit (from a copy of this file and what it imports under
/usr/local/lib/isplab-bng, run by a small entry point) all go through it.

The imports of this package are relative so that the boot-time copy runs without Ansible.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from ._netns import Kernel, NetnsError
from ._topology import describe, load, plan, removals, teardown_plan
from ._topology_checks import TopologyError

# The file the role installs and the boot-time entry point applies.
DEFAULT_MODEL_FILE = "/etc/isplab/topology.json"


def apply_resources(kernel: Kernel, resources: Iterable[Mapping]) -> list[str]:
    """Make every resource of a plan (see _topology.plan) true; the actions taken."""
    actions: list[str] = []
    sysctls: list[Mapping] = []
    resources = list(resources)
    wanted_up = {(r["netns"], r["name"]) for r in resources if r["kind"] == "link" and r["up"]}
    # Bridge ports of veth pairs with both ends up, created or changed in this run.
    peers: dict[tuple, tuple] = {}
    for r in resources:
        if r["kind"] == "veth":
            peers[(r["netns"], r["name"])] = (r["peer_netns"], r["peer"])
            peers[(r["peer_netns"], r["peer"])] = (r["netns"], r["name"])
    ports = [
        (r["netns"], r["name"])
        for r in resources
        if r["kind"] == "link" and r["master"] and r["up"] and peers.get((r["netns"], r["name"])) in wanted_up
    ]
    touched: set[tuple] = set()

    def flush() -> None:
        while sysctls:
            netns = sysctls[0]["netns"]
            batch = [s for s in sysctls if s["netns"] == netns]
            sysctls[:] = [s for s in sysctls if s["netns"] != netns]
            actions.extend(kernel.ensure_sysctls(netns, [(s["name"], s["path"], s["value"]) for s in batch]))

    for resource in resources:
        kind = resource["kind"]
        if kind == "sysctl":
            sysctls.append(resource)
            continue
        flush()
        if kind == "netns":
            actions += kernel.ensure_netns(resource["name"])
        elif kind == "bridge":
            actions += kernel.ensure_bridge(resource["netns"], resource["name"])
        elif kind == "veth":
            done = kernel.ensure_veth(
                resource["netns"], resource["name"], resource["peer_netns"], resource["peer"]
            )
            if done:
                touched.update(
                    {(resource["netns"], resource["name"]), (resource["peer_netns"], resource["peer"])}
                )
            actions += done
        elif kind == "macvlan":
            actions += kernel.ensure_macvlan(
                resource["netns"], resource["name"], resource["parent"], resource["mode"]
            )
        elif kind == "link":
            done = kernel.ensure_link(
                resource["netns"],
                resource["name"],
                mac=resource["mac"],
                mtu=resource["mtu"],
                master=resource["master"],
                up=resource["up"],
            )
            if done:
                touched.add((resource["netns"], resource["name"]))
            actions += done
        elif kind == "address":
            actions += kernel.ensure_address(resource["netns"], resource["dev"], resource["address"])
        elif kind == "route":
            actions += kernel.ensure_route(
                resource["netns"], resource["to"], resource["via"], resource["dev"], resource["metric"]
            )
        else:
            raise NetnsError(f"unknown resource kind in a plan: {describe(resource)}")
    flush()
    # So that the topology carries traffic when this returns (at boot, services start next).
    kernel.wait_up([port for port in ports if port in touched])
    return actions


def remove_resources(kernel: Kernel, resources: Iterable[Mapping]) -> list[str]:
    """Remove resources (see _topology.removals and teardown_plan); what is already gone is skipped."""
    actions: list[str] = []
    for resource in resources:
        kind = resource["kind"]
        netns = resource.get("netns")
        if kind == "veth" and not (kernel.exists(netns) or kernel.exists(resource["peer_netns"])):
            continue
        if kind not in ("netns", "veth") and not kernel.exists(netns):
            continue
        if kind == "netns":
            actions += kernel.ensure_netns(resource["name"], present=False)
        elif kind == "bridge":
            actions += kernel.ensure_bridge(netns, resource["name"], present=False)
        elif kind == "veth":
            actions += kernel.ensure_veth(
                netns, resource["name"], resource["peer_netns"], resource["peer"], present=False
            )
        elif kind == "macvlan":
            actions += kernel.ensure_macvlan(
                netns, resource["name"], resource["parent"], resource["mode"], present=False
            )
        elif kind == "address":
            actions += kernel.ensure_address(netns, resource["dev"], resource["address"], present=False)
        elif kind == "route":
            actions += kernel.ensure_route(netns, resource["to"], metric=resource["metric"], present=False)
    return actions


def _load_previous(previous: Any) -> list[dict]:
    try:
        return plan(previous)
    except TopologyError as exc:
        raise TopologyError([f"previous: {error}" for error in exc.errors]) from None


def apply_topology(model: Any, previous: Any = None, check_mode: bool = False) -> dict:
    """Make a whole model real; with `previous` (the model applied before), also remove what
    it declared and this one does not. Validates everything before the first change.

    Returns changed, actions (one line per change, in order) and warnings.
    """
    topology = load(model)
    resources = plan(topology)
    gone = removals(_load_previous(previous), resources) if previous else []
    with Kernel(check_mode=check_mode) as kernel:
        try:
            remove_resources(kernel, gone)
            apply_resources(kernel, resources)
        except NetnsError as exc:
            exc.actions = list(kernel.actions)
            raise
        actions = kernel.actions
    return {"changed": bool(actions), "actions": actions, "warnings": topology.warnings + kernel.warnings}


def teardown_topology(models: Iterable[Any], check_mode: bool = False) -> dict:
    """Remove what the models declare: their namespaces (with all inside) and their root-namespace links."""
    resources: list[dict] = []
    for model in models:
        if model:
            resources += plan(model)
    with Kernel(check_mode=check_mode) as kernel:
        try:
            remove_resources(kernel, teardown_plan(resources))
        except NetnsError as exc:
            exc.actions = list(kernel.actions)
            raise
        actions = kernel.actions
    return {"changed": bool(actions), "actions": actions}


def boot_main(argv: list[str] | None = None) -> int:
    """The boot-time entry point: `[--validate] [FILE]`, FILE a model as JSON (default DEFAULT_MODEL_FILE).

    Applies the model and prints one line per change for the journal; with --validate only
    checks it (the role validates a new record with it before swapping it in). Exit status
    0 on success, 1 when the kernel refused something, 2 when the file is unreadable or the
    model invalid.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    validate_only = "--validate" in args
    args = [a for a in args if a != "--validate"]
    path = args[0] if args else DEFAULT_MODEL_FILE
    try:
        with open(path, encoding="utf-8") as handle:
            model = json.load(handle)
    except (OSError, ValueError) as exc:
        # A command line, not a module: it writes to stdout and stderr, with write() since print() is
        # what ansible-test sanity forbids in module_utils (a module's stdout is its JSON result).
        sys.stderr.write(f"isplab-topology: cannot read {path}: {exc}\n")
        return 2
    try:
        result = {"warnings": load(model).warnings, "actions": []} if validate_only else apply_topology(model)
    except TopologyError as exc:
        for error in exc.errors:
            sys.stderr.write(f"isplab-topology: {path}: {error}\n")
        return 2
    except NetnsError as exc:
        for action in exc.actions:
            sys.stdout.write(f"isplab-topology: {action}\n")
        sys.stderr.write(f"isplab-topology: {exc}\n")
        return 1
    for warning in result["warnings"]:
        sys.stderr.write(f"isplab-topology: warning: {warning}\n")
    for action in result["actions"]:
        sys.stdout.write(f"isplab-topology: {action}\n")
    verb = "is valid" if validate_only else f"applied, {len(result['actions'])} change(s)"
    sys.stdout.write(f"isplab-topology: {path} {verb}\n")
    return 0
