# SPDX-License-Identifier: GPL-3.0-or-later
"""roles/bind_dns64's controller-side checks (tasks/validate.yml), run by ansible-playbook.

Only the variable checks run (include_role tasks_from: validate): nothing on the host is read
or changed, so these run anywhere the tooling is installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def run_validate(ansible_playbook, tmp_path: Path, instance: dict):
    playbook = tmp_path / "validate.yml"
    playbook.write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - ansible.builtin.include_role:\n"
        "        name: bind_dns64\n"
        "        tasks_from: validate\n"
    )
    extra = {"bind_dns64_instances": [{"name": "resolver", "listen": ["2001:db8:100:53::53"], **instance}]}
    return ansible_playbook("-i", "localhost,", "-c", "local", str(playbook), "-e", json.dumps(extra))


@pytest.mark.parametrize(
    "clients",
    [
        ["ANY"],  # named compares ACL names without case: ANY is any
        ["2001:db8:110::/48", "Any"],
        ["::/00"],  # a length of zero however it is written
        ["0.0.0.0/00"],
        ["0/0"],
        ["localnets"],  # every network the host is on: the upstream's too
        ["LOCALNETS"],
    ],
)
def test_a_resolver_open_to_everyone_is_refused(ansible_playbook, tmp_path, clients):
    result = run_validate(ansible_playbook, tmp_path, {"clients": clients})
    assert result.returncode != 0, result.stdout
    assert "bind_dns64_instances[resolver].clients" in result.stdout
    assert "open_to_all" in result.stdout


@pytest.mark.parametrize(
    "clients", [["2001:db8:110::/48", "!2001:db8:110:9::/64", "localhost"], ["!any", "10.0.0.0/8"]]
)
def test_listed_client_networks_are_accepted(ansible_playbook, tmp_path, clients):
    result = run_validate(ansible_playbook, tmp_path, {"clients": clients})
    assert result.returncode == 0, result.stdout


def test_an_open_resolver_only_when_the_user_says_so(ansible_playbook, tmp_path):
    result = run_validate(ansible_playbook, tmp_path, {"clients": ["any"], "open_to_all": True})
    assert result.returncode == 0, result.stdout


def test_an_authoritative_server_may_answer_everyone(ansible_playbook, tmp_path):
    result = run_validate(ansible_playbook, tmp_path, {"clients": ["any"], "recursion": False})
    assert result.returncode == 0, result.stdout
