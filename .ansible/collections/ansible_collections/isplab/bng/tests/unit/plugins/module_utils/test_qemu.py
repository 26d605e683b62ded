"""The lab VM helpers that need no VM: command line, port check, console tail, KVM verdict."""

from __future__ import annotations

import socket

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
