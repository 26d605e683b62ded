# SPDX-License-Identifier: GPL-3.0-or-later
"""roles/bng_failover copies the agent's code into the BNG: the list must hold all it imports."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
MODULE_UTILS = ROOT / "plugins" / "module_utils"
PACKAGE = "ansible_collections.isplab.bng.plugins.module_utils."


def deployed() -> list[str]:
    role_vars = yaml.safe_load((ROOT / "roles" / "bng_failover" / "vars" / "main.yml").read_text())
    return role_vars["bng_failover__module_utils"]


def imported_module_utils(name: str) -> set[str]:
    """The collection's module_utils files that one of them imports (at any depth in its code)."""
    tree = ast.parse((MODULE_UTILS / name).read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            found.add(node.module.removeprefix(PACKAGE) + ".py")
    return found


def test_the_deployed_code_holds_everything_the_agent_imports():
    files = deployed()
    assert "_failover_agent.py" in files
    missing = {imported for name in files for imported in imported_module_utils(name)} - set(files)
    assert not missing, f"bng_failover__module_utils lacks {sorted(missing)}"


def test_the_check_sees_a_missing_import():
    # _accel_ppp_cli imports _nsthread: without it in the list the check above must fail.
    assert "_nsthread.py" in imported_module_utils("_accel_ppp_cli.py")
