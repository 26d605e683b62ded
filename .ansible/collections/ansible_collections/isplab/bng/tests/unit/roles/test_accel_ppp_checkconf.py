# SPDX-License-Identifier: GPL-3.0-or-later
"""roles/accel_ppp/files/accel-ppp-checkconf, the `validate:` of the role's configuration files."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "accel_ppp" / "files" / "accel-ppp-checkconf"
_loader = importlib.machinery.SourceFileLoader("accel_ppp_checkconf", str(SCRIPT))
_spec = importlib.util.spec_from_loader("accel_ppp_checkconf", _loader)
checkconf = importlib.util.module_from_spec(_spec)
_loader.exec_module(checkconf)


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


def run(capsys, *argv):
    status = checkconf.main([str(arg) for arg in argv])
    return status, capsys.readouterr().err


def test_a_good_configuration_passes(capsys, conf, modules):
    assert run(capsys, "--module-dir", modules, conf(GOOD)) == (0, "")


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
def test_what_it_refuses(capsys, conf, modules, change, message):
    status, err = run(capsys, "--module-dir", modules, conf(GOOD.replace(*change)))
    if message is None:
        assert (status, err) == (0, "")
    else:
        assert status == 1 and message in err, err
        assert "s3cret" not in err and "x" * 20 not in err


def test_modules_path_in_the_file_wins(capsys, conf, modules, tmp_path):
    text = GOOD.replace("[modules]\n", f"[modules]\npath={tmp_path}\n")
    status, err = run(capsys, "--module-dir", modules, conf(text))
    assert status == 1 and f"{tmp_path}/liblog_file.so does not exist" in err


def test_no_modules_at_all(capsys, conf, modules):
    status, err = run(capsys, "--module-dir", modules, conf("[cli]\ntcp=127.0.0.1:2001\n"))
    assert status == 1 and "no [modules] to load" in err


def test_a_missing_file(capsys, tmp_path, modules):
    status, err = run(capsys, "--module-dir", modules, tmp_path / "nope.conf")
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
def test_chap_secrets(capsys, tmp_path, text, message):
    path = tmp_path / "chap-secrets"
    path.write_text(text)
    status, err = run(capsys, "--chap-secrets", path)
    if message is None:
        assert (status, err) == (0, "")
    else:
        assert status == 1 and message in err, err
        assert "Zq9" not in err.replace(str(path), "")
