"""The lab VM helpers that need no VM: command line, port check, console tail, KVM verdict."""

from __future__ import annotations

import shlex
import socket
import sys

import pytest

from ansible_collections.isplab.bng.plugins.module_utils import _qemu
from ansible_collections.isplab.bng.plugins.module_utils._qemu import QemuError, VmSpec


@pytest.fixture
def spec(tmp_path):
    return VmSpec(
        name="t",
        state_dir=str(tmp_path / "vm" / "t"),
        disk=str(tmp_path / "rootfs.img"),
        kernel=str(tmp_path / "vmlinuz"),
        initrd=str(tmp_path / "initrd.img"),
        ssh_port=2299,
    )


def test_tcg_command_line_forwards_ssh_and_discards_writes(spec):
    args = _qemu.command_line(spec, "tcg")
    assert args[args.index("-accel") + 1].startswith("tcg,thread=multi")
    assert "user,id=net0,hostfwd=tcp:127.0.0.1:2299-:22" in args
    assert "-snapshot" in args
    assert f"file={spec.disk},if=virtio,format=raw,cache=unsafe" in args
    assert "console=ttyS0" in args[args.index("-append") + 1]


def test_kvm_command_line_and_persistent_qcow2_disk(spec):
    spec.snapshot = False
    spec.disk = spec.disk.replace("rootfs.img", "disk.qcow2")
    args = _qemu.command_line(spec, "kvm")
    assert args[args.index("-accel") + 1] == "kvm"
    assert "-snapshot" not in args
    assert any(arg.endswith("format=qcow2,cache=unsafe") for arg in args)


def test_missing_qemu_says_how_to_install_it():
    with pytest.raises(QemuError, match=r"qemu-system-nowhere not found.*apt-get install qemu-system-x86"):
        _qemu.find_qemu("qemu-system-nowhere")


def test_port_in_use_names_the_port_and_the_variable():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        with pytest.raises(QemuError, match=rf"127.0.0.1:{port} \(lab_vm_ssh_port\) is already in use"):
            _qemu.check_port_free(port)
    finally:
        holder.close()
    _qemu.check_port_free(port)


def test_port_out_of_range_is_refused():
    with pytest.raises(QemuError, match="lab_vm_ssh_port=70000"):
        _qemu.check_port_free(70000)


def test_console_tail_keeps_the_last_lines(spec, tmp_path):
    (tmp_path / "vm" / "t").mkdir(parents=True)
    lines = [f"line {n}\r" for n in range(100)]
    (tmp_path / "vm" / "t" / "console.log").write_text("\n".join(lines))
    tail = _qemu.console_tail(spec, lines=3)
    assert tail.splitlines() == ["line 97", "line 98", "line 99"]


def test_console_tail_without_output(spec):
    assert _qemu.console_tail(spec) == "(no serial console output)"


def test_kvm_verdict_is_forgotten_after_a_host_reboot(spec, tmp_path, monkeypatch):
    (tmp_path / "vm" / "t").mkdir(parents=True)
    monkeypatch.setattr(_qemu, "boot_id", lambda: "boot-1")
    assert _qemu.remembered_kvm_verdict(spec) is None
    _qemu.remember_kvm_verdict(spec, False)
    assert _qemu.remembered_kvm_verdict(spec) is False
    monkeypatch.setattr(_qemu, "boot_id", lambda: "boot-2")
    assert _qemu.remembered_kvm_verdict(spec) is None


def test_start_refuses_a_missing_image_before_launching(spec, monkeypatch):
    monkeypatch.setattr(_qemu, "find_qemu", lambda binary: "/bin/true")
    with pytest.raises(QemuError, match=r"disk image .*rootfs.img does not exist"):
        _qemu.start(spec, "tcg", 1, 1)


def test_stale_pid_file_of_another_process_is_ignored(spec, tmp_path):
    (tmp_path / "vm" / "t").mkdir(parents=True)
    (tmp_path / "vm" / "t" / "qemu.pid").write_text("1\n")
    assert _qemu.read_pid(spec) is None


FAKE_QEMU = """#!/bin/bash
# Stands in for qemu-system-x86_64: refuses KVM the way a host without MSR 0x10a does (with
# FAKE_KVM=silent it starts a KVM guest that never prints); otherwise it "daemonizes" a sleeping
# process that carries its -name (as QEMU's command line does) and writes its pid where -pidfile
# says.
if [[ " $* " == *" -accel kvm "* && "${FAKE_KVM:-}" != silent ]]; then
  echo "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69" >&2
  exit 1
fi
while [ $# -gt 0 ]; do
  case $1 in -pidfile) pidfile=$2 ;; -name) name=$2 ;; esac
  shift
done
# The interpreter itself, not a `python3` found on PATH: a pyenv shim would exec twice more, and
# between its execs the process's command line reads empty.
@PYTHON@ -c 'import time; time.sleep(60)' "$name" >/dev/null 2>&1 &
# Until the child has become Python (before its exec it is a copy of this script, whose command
# line also carries the name).
until grep -qa "time.sleep" "/proc/$!/cmdline"; do sleep 0.05; done
echo $! > "$pidfile"
"""


@pytest.fixture
def spec_with_fake_qemu(spec, tmp_path):
    """The spec with empty image files and FAKE_QEMU as its QEMU binary."""
    for image in ("rootfs.img", "vmlinuz", "initrd.img"):
        (tmp_path / image).write_text("")
    qemu = tmp_path / "qemu-system-x86_64"
    qemu.write_text(FAKE_QEMU.replace("@PYTHON@", shlex.quote(sys.executable)))
    qemu.chmod(0o755)
    spec.qemu_binary = str(qemu)
    return spec


@pytest.mark.parametrize(
    ("fake_kvm", "note"),
    [
        (
            "refuse",
            "KVM did not start (QEMU (kvm) did not start: qemu-system-x86_64: error: "
            "failed to set MSR 0x10a to 0x69): fell back to TCG",
        ),
        ("silent", "KVM guest silent after 1s: fell back to TCG"),
    ],
)
def test_kvm_that_fails_falls_back_to_tcg(spec_with_fake_qemu, monkeypatch, fake_kvm, note):
    spec = spec_with_fake_qemu
    monkeypatch.setenv("FAKE_KVM", fake_kvm)
    monkeypatch.setattr(_qemu, "kvm_usable", lambda: True)
    monkeypatch.setattr(_qemu, "boot_id", lambda: "boot-1")
    monkeypatch.setattr(_qemu, "ssh_answers", lambda port: True)
    facts = _qemu.start(spec, "auto", 1, 5)
    try:
        assert facts["accel"] == "tcg"
        assert facts["notes"] == [note]
        assert _qemu.remembered_kvm_verdict(spec) is False
    finally:
        _qemu.kill(facts["pid"])


def test_kvm_that_qemu_refuses_is_an_error_when_kvm_is_forced(spec_with_fake_qemu):
    with pytest.raises(QemuError, match=r"QEMU \(kvm\) did not start: .*MSR 0x10a"):
        _qemu.start(spec_with_fake_qemu, "kvm", 5, 5)
