# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection as a user gets it: the tarball ansible-galaxy builds from this tree, installed
into a collections path of its own and used by a playbook outside the repository, and the
dependencies ansible-builder reads from it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
# What a build must never pack: caches and the output of tools that run in the working tree.
CACHE = re.compile(
    r"(^|/)(\.venv|\.cache|\.ansible|\.git|\.pytest_cache|\.ruff_cache|__pycache__|tests/output)(/|$)|\.pyc$"
)

PLAYBOOK = """
- name: Use isplab.bng as installed from its tarball
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Write two files with one module run
      isplab.bng.file_set:
        path: "{{ target }}"
        mode: "0600"
        files:
          one.conf: "first\\n"
          two.conf: "{{ '192.0.2.33' | isplab.bng.nat64_address('2001:db8:122::/48') }}\\n"
      register: written

    - name: Report what the module and the collection path said
      ansible.builtin.debug:
        msg: "{{ written.written | sort | join(',') }}"
"""


def tool(name: str) -> str:
    """The tool from the environment the tests run in (the venv), else PATH."""
    beside = Path(os.sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed (make venv installs it from requirements-dev.txt)")
    return found


def outside_env(**more: str) -> dict:
    """The environment without Ansible's settings: the test runner's (make's ANSIBLE_CONFIG,
    ansible-test's collections path) would show the collection of this tree instead."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.pop("PYTHONPATH", None)
    return {**env, **more}


def run(*argv: str, cwd: Path, env: dict | None = None) -> str:
    env = outside_env() if env is None else env
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The collections path that holds the collection installed from a fresh build of this tree."""
    work = tmp_path_factory.mktemp("packaging")
    run(tool("ansible-galaxy"), "collection", "build", "--output-path", str(work / "dist"), cwd=REPO)
    (tarball,) = (work / "dist").glob("isplab-bng-*.tar.gz")
    collections = work / "collections"
    run(
        tool("ansible-galaxy"),
        "collection",
        "install",
        "--offline",
        "-p",
        str(collections),
        str(tarball),
        cwd=work,
    )
    return collections


def test_the_tarball_holds_the_collection_and_no_caches(tmp_path):
    # Caches of the tools as they are after a test run, present in the tree the build reads.
    for cache in (".pytest_cache", "plugins/filter/__pycache__", "tests/output"):
        (REPO / cache).mkdir(parents=True, exist_ok=True)
    run(tool("ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), cwd=REPO)
    (tarball,) = tmp_path.glob("isplab-bng-*.tar.gz")
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert [name for name in names if CACHE.search(name)] == []
    for shipped in (
        "COPYING",
        "README.md",
        "requirements.txt",
        "bindep.txt",
        "meta/execution-environment.yml",
    ):
        assert shipped in names
    assert "plugins/modules/file_set.py" in names
    assert "requirements-dev.txt" in names  # the tree's own pins, not read by ansible-builder


def test_a_playbook_outside_the_repository_uses_a_module_and_a_filter_of_the_installed_collection(
    installed, tmp_path
):
    target = tmp_path / "target"
    target.mkdir()
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    env = outside_env(
        ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(installed),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="false",
    )
    out = run(
        tool("ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        "play.yml",
        "-e",
        f"target={target}",
        "-e",
        f"ansible_python_interpreter={os.sys.executable}",
        cwd=tmp_path,
        env=env,
    )
    assert '"msg": "one.conf,two.conf"' in out
    assert (target / "one.conf").read_text() == "first\n"
    assert (target / "two.conf").read_text() == "2001:db8:122:c000:2:2100::\n"
    assert oct((target / "two.conf").stat().st_mode & 0o777) == "0o600"
    listed = run(
        tool("ansible-galaxy"), "collection", "list", "isplab.bng", "--format", "json", cwd=tmp_path, env=env
    )
    assert list(json.loads(listed)) == [str(installed / "ansible_collections")]


def requirement_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def test_ansible_builder_reads_only_the_runtime_needs(installed):
    out = run(tool("ansible-builder"), "introspect", str(installed), cwd=installed)
    found = yaml.safe_load(out)
    python = {line.split("#")[0].strip() for line in found["python"]}
    assert python == set(requirement_lines(REPO / "requirements.txt"))
    assert all(
        not re.match(r"(ruff|pytest|molecule|ansible-lint|yamllint|ansible-core)\b", req) for req in python
    )
    system = {line.split("#")[0].strip() for line in found["system"]}
    assert "openssh-client [platform:dpkg]" in system


def test_the_unit_test_requirements_are_the_runtime_requirements():
    assert requirement_lines(REPO / "tests/unit/requirements.txt") == requirement_lines(
        REPO / "requirements.txt"
    )
