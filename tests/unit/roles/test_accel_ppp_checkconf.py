# SPDX-License-Identifier: GPL-3.0-or-later
"""roles/accel_ppp/files/accel-ppp-checkconf, the `validate:` of the role's configuration files,
installed as the role installs it: beside the configuration parser of the role's filters."""

from __future__ import annotations

import dataclasses
import importlib.machinery
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.isplab.bng.plugins.filter.accel_ppp import FilterModule
from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_conf import parse_conf
from ansible_collections.isplab.bng.tests.unit.plugins.filter.test_accel_ppp import lab_instance

ROOT = Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "accel_ppp"
SCRIPT = ROLE / "files" / "accel-ppp-checkconf"
PARSER_FILES = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["accel_ppp_checkconf_module_utils"]
FILTERS = FilterModule().filters()


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The checker's directory on a target: the script and the files the role copies beside it."""
    directory = tmp_path_factory.mktemp("lib")
    shutil.copy(SCRIPT, directory / SCRIPT.name)
    for name in PARSER_FILES:
        shutil.copy(ROOT / "plugins" / "module_utils" / name, directory / name)
    return directory / SCRIPT.name


@pytest.fixture(scope="module")
def checkconf(installed):
    loader = importlib.machinery.SourceFileLoader("accel_ppp_checkconf", str(installed))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("accel_ppp_checkconf", loader))
    loader.exec_module(module)
    return module


@pytest.fixture
def modules(tmp_path):
    directory = tmp_path / "lib64" / "accel-ppp"
    directory.mkdir(parents=True)
    for name in ("log_file", "pppoe", "auth_pap", "chap-secrets"):
        (directory / f"lib{name}.so").write_bytes(b"")
    return directory


@pytest.fixture
def conf(tmp_path):
    secrets = tmp_path / "bng1.chap-secrets"
    secrets.write_text("user1 * pass1 100.64.0.11\n")

    def write(text: str, name: str = "bng1.conf") -> Path:
        path = tmp_path / name
        path.write_text(text.replace("SECRETS", str(secrets)))
        return path

    return write


GOOD = """\
# managed
[modules]
log_file
pppoe
auth_pap
chap-secrets

[chap-secrets]
gw-ip-address=100.64.0.1
chap-secrets=SECRETS

[cli]
tcp=127.0.0.1:2001
password=s3cret
"""


def run(checkconf, capsys, *argv):
    status = checkconf.main([str(arg) for arg in argv])
    return status, capsys.readouterr().err


def test_a_good_configuration_passes(checkconf, capsys, conf, modules):
    assert run(checkconf, capsys, "--module-dir", modules, conf(GOOD)) == (0, "")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("chap-secrets\n\n", "chap-secrets\nshaper\n\n"), ":7: module shaper: "),
        (("auth_pap", "auth_pap  "), None),
        (("tcp=127.0.0.1:2001", "tcp=localhost:2001"), ":13: [cli] tcp must be IPV4ADDRESS:PORT"),
        (("tcp=127.0.0.1:2001", "tcp=127.0.0.1:70000"), ":13: [cli] tcp must be IPV4ADDRESS:PORT"),
        (("[cli]", "[cli"), ":12: section header without ']'"),
        (("# managed\n", "# managed\nstray=1\n"), ":2: option outside any section"),
        (
            ("password=s3cret", "password=" + "x" * 1020),
            ":14: line of 1030 bytes; accel-ppp cuts lines at 1023",
        ),
        (("chap-secrets=SECRETS", "chap-secrets=/nonexistent"), "names a file that does not exist"),
    ],
)
def test_what_it_refuses(checkconf, capsys, conf, modules, change, message):
    status, err = run(checkconf, capsys, "--module-dir", modules, conf(GOOD.replace(*change)))
    if message is None:
        assert (status, err) == (0, "")
    else:
        assert status == 1 and message in err, err
        assert "s3cret" not in err and "x" * 20 not in err


def test_modules_path_in_the_file_wins(checkconf, capsys, conf, modules, tmp_path):
    text = GOOD.replace("[modules]\n", f"[modules]\npath={tmp_path}\n")
    status, err = run(checkconf, capsys, "--module-dir", modules, conf(text))
    assert status == 1 and f"{tmp_path}/liblog_file.so does not exist" in err


def test_no_modules_at_all(checkconf, capsys, conf, modules):
    status, err = run(checkconf, capsys, "--module-dir", modules, conf("[cli]\ntcp=127.0.0.1:2001\n"))
    assert status == 1 and "no [modules] to load" in err


def test_a_missing_file(checkconf, capsys, tmp_path, modules):
    status, err = run(checkconf, capsys, "--module-dir", modules, tmp_path / "nope.conf")
    assert status == 1 and "No such file or directory" in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# users\nuser1 * pass1 100.64.0.11\nuser2 * pass2\nuser3 * pass3 *\n", None),
        ("user1 * Zq9 100.64.0.11 extra\n", ":1: 5 fields"),
        ("user1 Zq9\n", ":1: 2 fields"),
        ("user1 * Zq9 100.64.0.300\n", ":1: the fourth field must be an IPv4 address"),
    ],
)
def test_chap_secrets(checkconf, capsys, tmp_path, text, message):
    path = tmp_path / "chap-secrets"
    path.write_text(text)
    status, err = run(checkconf, capsys, "--chap-secrets", path)
    if message is None:
        assert (status, err) == (0, "")
    else:
        assert status == 1 and message in err, err
        assert "Zq9" not in err.replace(str(path), "")


def test_what_follows_a_module_name_and_blanks_is_not_part_of_it(checkconf, capsys, conf, modules):
    # accel-pppd loads the module pppoe for `pppoe  # the server`: a name ends at a blank.
    text = GOOD.replace("pppoe\n", "pppoe  # the server\n", 1)
    assert run(checkconf, capsys, "--module-dir", modules, conf(text)) == (0, "")


def test_the_installed_checker_needs_no_ansible(installed, conf, modules):
    # -I -S: no site-packages (no Ansible), no environment, not even the script's directory on
    # the path: the checker finds its parser by itself.
    python = [sys.executable, "-I", "-S"]
    assert subprocess.run([*python, "-c", "import ansible"], capture_output=True, check=False).returncode
    result = subprocess.run(
        [*python, str(installed), "--module-dir", str(modules), str(conf(GOOD))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert not list(installed.parent.glob("__pycache__"))


def reference_configuration() -> str:
    """The configuration that worked on a real accel-ppp 1.14.0 (NOTES.md of the recordings)."""
    notes = (ROOT / "tests" / "unit" / "fixtures" / "accel-ppp-1.14.0" / "NOTES.md").read_text()
    return notes.split("## Configuration that worked\n```\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize("source", ["rendered", "reference"])
def test_the_checker_and_the_filters_read_a_configuration_alike(
    checkconf, capsys, tmp_path, render_accel_ppp_conf, source
):
    instance = lab_instance()
    if source == "rendered":
        text = render_accel_ppp_conf(instance, accel_ppp_conf_dir=str(tmp_path))
        (tmp_path / "bng1.chap-secrets").write_text("user1 * pass1 100.64.0.11\n")
    else:
        text = reference_configuration().replace("/etc/accel/chap-secrets", str(tmp_path / "chap-secrets"))
        (tmp_path / "chap-secrets").write_text("user1 * pass1 100.64.0.11\n")
    # The checker reads with the same parser, installed unchanged.
    assert dataclasses.asdict(checkconf.parse_conf(text)) == dataclasses.asdict(parse_conf(text))
    conf = parse_conf(text)
    assert conf.problems == []
    modules = [name for name, value in conf.sections["modules"]]
    if source == "rendered":
        assert modules == FILTERS["accel_ppp_modules"](instance)
        assert ("interface", "access") in conf.sections["pppoe"]
        assert ("100.64.240.2-254", None) in conf.sections["ip-pool"]
        assert ("2001:db8:110::/49,64", None) in conf.sections["ipv6-pool"]
    assert FILTERS["accel_ppp_conf_changes"](text, text)["differs"] is False
    module_dir = tmp_path / "modules"
    module_dir.mkdir()
    for name in modules:
        (module_dir / f"lib{name}.so").write_bytes(b"")
    path = tmp_path / "bng1.conf"
    path.write_text(text)
    assert run(checkconf, capsys, "--module-dir", module_dir, path) == (0, "")
    # What the filters take as the last module is what the checker looks for.
    (module_dir / f"lib{modules[-1]}.so").unlink()
    status, err = run(checkconf, capsys, "--module-dir", module_dir, path)
    line = text.split("\n").index(modules[-1]) + 1
    assert status == 1 and f"bng1.conf:{line}: module {modules[-1]}: " in err, err
