# SPDX-License-Identifier: GPL-3.0-or-later
"""inventories/pair, the example for real hosts, has no default secret: without the vaulted
values it refuses to run, naming the variable to set."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SECRETS = ROOT / "tests" / "inventories" / "pair_secrets.yml"
VALIDATE_PAIR = ("-i", "inventories/pair", "tests/inventories/validate.yml")


@pytest.mark.parametrize("missing", ["vault_bng_cli_password", "vault_subscriber_password"])
def test_refuses_to_run_without_the_vaulted_secrets(ansible_playbook, tmp_path, missing):
    secrets = tmp_path / "secrets.yml"
    secrets.write_text(
        "".join(line + "\n" for line in SECRETS.read_text().splitlines() if not line.startswith(missing))
    )
    result = ansible_playbook(*VALIDATE_PAIR, "-e", f"@{secrets}")
    assert result.returncode != 0, result.stdout
    assert missing in result.stdout + result.stderr


def test_runs_with_them(ansible_playbook):
    result = ansible_playbook(*VALIDATE_PAIR, "-e", f"@{SECRETS}")
    assert result.returncode == 0, result.stdout + result.stderr
