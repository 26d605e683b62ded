"""Shared fixtures for the unit tests: recorded output of a real accel-ppp 1.14.0.

tests/unit/fixtures/accel-ppp-1.14.0/ holds real bytes captured from running daemons
(see NOTES.md there); parsers and the CLI client are tested against them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
# The collection is importable as ansible_collections.isplab.bng through the symlink that
# scripts/make-venv creates; put its parent on sys.path so plain pytest finds it.
sys.path.insert(0, str(REPO / ".venv" / "collections"))

ACCEL_PPP_FIXTURES = Path(__file__).parent / "fixtures" / "accel-ppp-1.14.0"


@pytest.fixture(scope="session")
def fixture_path():
    """Path of a recorded file, e.g. fixture_path('proc-net-pppoe-client.txt')."""
    return lambda name: ACCEL_PPP_FIXTURES / name


@pytest.fixture(scope="session")
def transcript():
    """load(name) -> {command: [response, ...]} of one recorded CLI transcript."""

    def load(name: str) -> dict[str, list[str]]:
        data = json.loads((ACCEL_PPP_FIXTURES / name).read_text())
        table: dict[str, list[str]] = {}
        for exchange in data["exchanges"]:
            table.setdefault(exchange["command"], []).append(exchange["response"])
        return table

    return load


@pytest.fixture(scope="session")
def lab_topology():
    """lab_topology(failover=False) -> the lab's netns_topology, templated as Ansible does.

    inventories/lab/group_vars/all/topology.yml has one template: bng1 holds the service
    address ::10 unless the failover (isplab_failover) moves it.
    """
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    loader = DataLoader()
    data = loader.load_from_file(
        str(REPO / "inventories" / "lab" / "group_vars" / "all" / "topology.yml"), trusted_as_template=True
    )

    def render(failover: bool = False) -> dict:
        templar = Templar(loader=loader, variables={"isplab_failover": failover})
        model = templar.template(data["netns_topology"])
        return json.loads(json.dumps(model))  # plain dicts, lists and strings

    return render


@pytest.fixture(scope="session")
def render_accel_ppp_conf():
    """render(instance, **variables) -> the role accel_ppp's accel-ppp.conf for one instance
    (merged with the role's defaults), templated as Ansible does, with the role's variables
    unless variables say otherwise."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    role = REPO / "roles" / "accel_ppp"
    source = trust_as_template((role / "templates" / "accel-ppp.conf.j2").read_text())
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text())
    role_vars = yaml.safe_load((role / "vars" / "main.yml").read_text())
    known = {
        "ansible_managed": "Ansible managed",
        "accel_ppp_unit_name": role_vars["accel_ppp_unit_name"],
        "accel_ppp_log_dir": defaults["accel_ppp_log_dir"],
        "accel_ppp_conf_dir": defaults["accel_ppp_conf_dir"],
    }

    def render(instance: dict, **variables: str) -> str:
        templar = Templar(loader=DataLoader(), variables={**known, **variables, "accel_ppp_i": instance})
        return templar.template(source)

    return render


@pytest.fixture(scope="session")
def ansible_playbook():
    """run(*args) -> CompletedProcess of ansible-playbook in the checkout, with its ansible.cfg.

    ansible-playbook is the one beside the Python that runs the tests (the venv's, which need
    not be activated); colour is off so that tests can read the output.
    """
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    }

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ansible-playbook", *args], capture_output=True, text=True, env=env, cwd=REPO, check=False
        )

    return run
