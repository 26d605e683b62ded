# SPDX-License-Identifier: GPL-3.0-or-later
"""Roles that copy the collection's module_utils onto a target (the failover agent's code, the
topology's boot unit) must copy everything those files import, or the copy fails on the target."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
MODULE_UTILS = ROOT / "plugins" / "module_utils"
PACKAGE = "ansible_collections.isplab.bng.plugins.module_utils."
# Each role's list, and the file whose code it exists to run.
COPIES = {
    "bng_failover": ("bng_failover__module_utils", "_failover_agent.py"),
    "netns_topology": ("netns_topology__module_utils", "_topology.py"),
}


def deployed(role: str) -> list[str]:
    role_vars = yaml.safe_load((ROOT / "roles" / role / "vars" / "main.yml").read_text())
    return role_vars[COPIES[role][0]]


def imported_module_utils(name: str) -> set[str]:
    """The collection's module_utils files that one of them imports, absolutely
    (ansible_collections.isplab.bng.plugins.module_utils._x) or relatively (._x), at any depth
    in its code."""
    tree = ast.parse((MODULE_UTILS / name).read_text())
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not node.module:
            continue
        if node.level == 0 and node.module.startswith(PACKAGE):
            found.add(node.module.removeprefix(PACKAGE) + ".py")
        elif node.level == 1:
            found.add(node.module + ".py")
    return found


@pytest.mark.parametrize("role", sorted(COPIES))
def test_the_copied_code_holds_everything_it_imports(role):
    files = deployed(role)
    assert COPIES[role][1] in files
    missing = {imported for name in files for imported in imported_module_utils(name)} - set(files)
    assert not missing, f"{COPIES[role][0]} lacks {sorted(missing)}"


def test_the_check_sees_a_missing_import():
    # _accel_ppp_cli imports _nsthread absolutely, _netns imports _netlink relatively: without
    # them in a list the check above must fail.
    assert "_nsthread.py" in imported_module_utils("_accel_ppp_cli.py")
    assert "_netlink.py" in imported_module_utils("_netns.py")
