# SPDX-License-Identifier: GPL-3.0-or-later
"""Roles that copy the collection's module_utils onto a target (the failover agent's code, the
topology's boot unit) must copy everything those files import, or the copy fails on the target."""

from __future__ import annotations

import ast
import re
from pathlib import Path, PurePosixPath

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
MODULE_UTILS = ROOT / "plugins" / "module_utils"
PACKAGE = "ansible_collections.isplab.bng.plugins.module_utils"
# Each role's list, and the file whose code it exists to run.
COPIES = {
    "accel_ppp": ("accel_ppp_checkconf_module_utils", "_accel_ppp_conf.py"),
    "bng_failover": ("bng_failover__module_utils", "_failover/cli.py"),
    "netns_topology": ("netns_topology__module_utils", "_topology_apply.py"),
}


def deployed(role: str) -> list[str]:
    role_vars = yaml.safe_load((ROOT / "roles" / role / "vars" / "main.yml").read_text())
    return role_vars[COPIES[role][0]]


def _module_file(dotted: str) -> str:
    """The file of a module named below module_utils ('_failover.wire' -> '_failover/wire.py')."""
    path = dotted.replace(".", "/")
    return f"{path}/__init__.py" if (MODULE_UTILS / path).is_dir() else f"{path}.py"


def _with_packages(files: set[str]) -> set[str]:
    """Importing a module of a package runs the package's __init__.py first."""
    found = set(files)
    for name in files:
        for parent in PurePosixPath(name).parents:
            if str(parent) != ".":
                found.add(f"{parent}/__init__.py")
    return found


def imports_of(source: str, name: str) -> set[str]:
    """The collection's module_utils files that the code of `name` (a path below module_utils)
    imports, at any depth in its code: absolutely (ansible_collections.isplab.bng.plugins.
    module_utils._x, or its package's modules as `from ..._failover import wire`) or relatively
    (`._x`, `..x` from a package, `from . import x`), with the packages that hold them."""
    here = list(PurePosixPath(name).parent.parts)
    found = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 0:
            if node.module != PACKAGE and not (node.module or "").startswith(PACKAGE + "."):
                continue
            base = node.module.removeprefix(PACKAGE).lstrip(".")
        else:
            if node.level - 1 > len(here):
                raise AssertionError(f"{name}: a relative import above module_utils")
            parts = here[: len(here) - (node.level - 1)]
            base = ".".join([*parts, *([node.module] if node.module else [])])
        if base:
            found.add(_module_file(base))
        # `from package import module` imports that module's file as well.
        for alias in node.names:
            dotted = f"{base}.{alias.name}" if base else alias.name
            if (MODULE_UTILS / (dotted.replace(".", "/") + ".py")).is_file() or (
                MODULE_UTILS / dotted.replace(".", "/")
            ).is_dir():
                found.add(_module_file(dotted))
    return _with_packages(found)


def imported_module_utils(name: str) -> set[str]:
    return imports_of((MODULE_UTILS / name).read_text(), name)


@pytest.mark.parametrize("role", sorted(COPIES))
def test_the_copied_code_holds_everything_it_imports(role):
    files = deployed(role)
    assert COPIES[role][1] in files
    missing = {imported for name in files for imported in imported_module_utils(name)} - set(files)
    assert not missing, f"{COPIES[role][0]} lacks {sorted(missing)}"


@pytest.mark.parametrize("role", sorted(COPIES))
def test_a_package_is_copied_whole(role):
    # The package's own files import each other at run time only on some paths (the agent's
    # command line loads the daemon only for `run`): a package goes whole or not at all.
    files = set(deployed(role))
    packages = {str(PurePosixPath(name).parent) for name in files} - {"."}
    for package in packages:
        whole = {f"{package}/{path.name}" for path in (MODULE_UTILS / package).glob("*.py")}
        assert whole <= files, f"{COPIES[role][0]} lacks {sorted(whole - files)} of the package {package}"


def test_the_agents_entry_point_runs_the_copied_command_line():
    template = (ROOT / "roles" / "bng_failover" / "templates" / "__main__.py.j2").read_text()
    code = "\n".join(line for line in template.splitlines() if not line.startswith("{{"))
    assert COPIES["bng_failover"][1] in imports_of(code, "__main__.py")
    role_vars = yaml.safe_load((ROOT / "roles" / "bng_failover" / "vars" / "main.yml").read_text())
    # The package directories the role creates (their __init__.py comes with the copied files).
    assert {"_failover"} <= set(role_vars["bng_failover__code_packages"])


def test_the_check_sees_a_missing_import():
    # _accel_ppp_cli imports _nsthread absolutely, _netns imports _netlink relatively: without
    # them in a list the check above must fail.
    assert "_nsthread.py" in imported_module_utils("_accel_ppp_cli.py")
    assert "_netlink.py" in imported_module_utils("_netns.py")
    # A package's modules: absolutely by their dotted name, and with the package's __init__.py.
    assert {"_failover/state.py", "_failover/config.py", "_failover/__init__.py"} <= imported_module_utils(
        "_failover/wire.py"
    )
    # Relatively from inside a package: a sibling, a module of module_utils, `from . import x`.
    source = "from .state import encode\nfrom .._netlink import netlink_dump\nfrom . import plan\n"
    assert imports_of(source, "_failover/agent.py") == {
        "_failover/state.py",
        "_failover/plan.py",
        "_failover/__init__.py",
        "_netlink.py",
    }
    # `from package import module`, as the tests import the agent's parts.
    source = f"from {PACKAGE}._failover import wire\n"
    assert imports_of(source, "x.py") == {"_failover/wire.py", "_failover/__init__.py"}


def test_the_modules_and_filters_load_no_daemon():
    # The modules and the role's filter run the agent's settings and control client, never the
    # agent itself (nor what only the agent needs: pyroute2, the adoption code).
    allowed = {"_failover/__init__.py", "_failover/config.py", "_failover/control.py"}
    users = [
        *sorted((ROOT / "plugins" / "modules").glob("*.py")),
        *sorted((ROOT / "plugins" / "filter").glob("*.py")),
        MODULE_UTILS / "_failover_module.py",
    ]
    for path in users:
        seen: set[str] = set()
        todo = imports_of(path.read_text(), path.name)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            todo |= imported_module_utils(name)
        agent_parts = {name for name in seen if name.startswith("_failover/")}
        assert agent_parts <= allowed, f"{path.relative_to(ROOT)} loads {sorted(agent_parts - allowed)}"


# The way a session record goes (docs/architecture.md): a part imports only the parts before it.
ORDER = [
    {"__init__", "config", "state", "host"},
    {"inventory"},
    {"wire"},
    {"replicator", "replica"},
    {"plan"},
    {"adopted"},
    {"takeover"},
    {"server", "health", "control"},
    {"agent"},
    {"cli"},
]


def test_the_agents_parts_import_one_way():
    rank = {part: index for index, parts in enumerate(ORDER) for part in parts}
    files = sorted((MODULE_UTILS / "_failover").glob("*.py"))
    assert {path.stem for path in files} == set(rank), "a part of _failover missing from ORDER"
    for path in files:
        for imported in imported_module_utils(f"_failover/{path.name}"):
            match = re.fullmatch(r"_failover/(\w+)\.py", imported)
            if match and match[1] != "__init__":
                assert match[1] != path.stem and rank[match[1]] <= rank[path.stem], (
                    f"_failover/{path.name} imports {imported}, a part after it"
                )
