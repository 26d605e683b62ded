# SPDX-License-Identifier: GPL-3.0-or-later
"""QEMU lab VM control for the module isplab.bng.qemu_vm.

Private to the isplab.bng collection: no stability promise outside it.

The lab runs inside a QEMU VM on machines whose kernel lacks PPP, module loading or systemd.
Some hosts expose /dev/kvm although a KVM guest hangs before its kernel prints anything, so
KVM is tried with a short timeout, judged by the serial console, and TCG is the fallback.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field


class QemuError(Exception):
    """A lab VM problem with a message that says what to do about it."""


@dataclass
class VmSpec:
    name: str
    state_dir: str
    disk: str
    kernel: str
    initrd: str
    ssh_port: int
    memory_mb: int = 3072
    cpus: int = 2
    snapshot: bool = True
    append: str = ""
    qemu_binary: str = "qemu-system-x86_64"
    extra_args: list[str] = field(default_factory=list)

    @property
    def pidfile(self) -> str:
        return os.path.join(self.state_dir, "qemu.pid")

    @property
    def console_log(self) -> str:
        return os.path.join(self.state_dir, "console.log")

    @property
    def qmp_socket(self) -> str:
        return os.path.join(self.state_dir, "qmp.sock")

    @property
    def kvm_verdict_file(self) -> str:
        return os.path.join(os.path.dirname(self.state_dir.rstrip("/")), "kvm-verdict.json")


KERNEL_FIRST_LINE = b"Linux version"


def find_qemu(binary: str) -> str:
    path = shutil.which(binary)
    if not path:
        raise QemuError(
            f"{binary} not found (lab_vm_qemu_binary={binary!r}). Install QEMU with "
            "'apt-get install qemu-system-x86 qemu-utils' (or run 'make setup'), then retry."
        )
    return path


def check_port_free(port: int, host: str = "127.0.0.1") -> None:
    if not 1 <= port <= 65535:
        raise QemuError(f"lab_vm_ssh_port={port!r} is not a TCP port (1-65535)")
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((host, port))
    except OSError as exc:
        raise QemuError(
            f"{host}:{port} (lab_vm_ssh_port) is already in use ({exc.strerror}): another program "
            "or another lab VM holds it. Stop it, or choose a free port with lab_vm_ssh_port."
        ) from exc
    finally:
        probe.close()


def read_pid(spec: VmSpec) -> int | None:
    try:
        with open(spec.pidfile) as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return None
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read()
    except OSError:
        return None
    # A stale pid file may name an unrelated process that reused the pid.
    if f"process=isplab-vm-{spec.name}".encode() not in cmdline:
        return None
    return pid


def boot_id() -> str:
    with open("/proc/sys/kernel/random/boot_id") as handle:
        return handle.read().strip()


def kvm_usable() -> bool:
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def remembered_kvm_verdict(spec: VmSpec) -> bool | None:
    """True/False if KVM was already probed since the host booted, None otherwise."""
    try:
        with open(spec.kvm_verdict_file) as handle:
            verdict = json.load(handle)
    except (OSError, ValueError):
        return None
    if verdict.get("boot_id") != boot_id():
        return None
    return bool(verdict.get("kvm_works"))


def remember_kvm_verdict(spec: VmSpec, works: bool) -> None:
    with open(spec.kvm_verdict_file, "w") as handle:
        json.dump({"boot_id": boot_id(), "kvm_works": works}, handle)


def command_line(spec: VmSpec, accel: str) -> list[str]:
    if accel == "kvm":
        accel_args = ["-accel", "kvm", "-cpu", "host"]
    else:
        # Multi-threaded TCG uses every host core; a large translation cache avoids re-translating.
        accel_args = ["-accel", "tcg,thread=multi,tb-size=512", "-cpu", "max"]
    append = f"root=/dev/vda rw console=ttyS0 net.ifnames=0 {spec.append}".strip()
    disk_format = "qcow2" if spec.disk.endswith(".qcow2") else "raw"
    args = [
        spec.qemu_binary,
        "-name",
        f"{spec.name},process=isplab-vm-{spec.name}",
        "-machine",
        "q35",
        *accel_args,
        "-smp",
        str(spec.cpus),
        "-m",
        str(spec.memory_mb),
        "-kernel",
        spec.kernel,
        "-initrd",
        spec.initrd,
        "-append",
        append,
        "-drive",
        f"file={spec.disk},if=virtio,format={disk_format},cache=unsafe",
        "-netdev",
        f"user,id=net0,hostfwd=tcp:127.0.0.1:{spec.ssh_port}-:22",
        "-device",
        "virtio-net-pci,netdev=net0",
        "-device",
        "virtio-rng-pci",
        "-display",
        "none",
        "-serial",
        f"file:{spec.console_log}",
        "-monitor",
        "none",
        "-qmp",
        f"unix:{spec.qmp_socket},server=on,wait=off",
        "-pidfile",
        spec.pidfile,
        "-daemonize",
    ]
    if spec.snapshot:
        # Writes go to a temporary overlay: every boot starts from the pristine image.
        args.append("-snapshot")
    return args + list(spec.extra_args)


def console_tail(spec: VmSpec, lines: int = 30) -> str:
    try:
        with open(spec.console_log, "rb") as handle:
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return "(no serial console output)"
    tail = [line.rstrip("\r") for line in text.splitlines()[-lines:]]
    return "\n".join(tail) if tail else "(no serial console output)"


def launch(spec: VmSpec, accel: str) -> int:
    os.makedirs(spec.state_dir, exist_ok=True)
    for stale in (spec.console_log, spec.pidfile, spec.qmp_socket):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(stale)
    result = subprocess.run(command_line(spec, accel), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise QemuError(f"QEMU ({accel}) did not start: {result.stderr.strip() or result.stdout.strip()}")
    pid = read_pid(spec)
    if pid is None:
        raise QemuError(f"QEMU ({accel}) started but wrote no usable pid file at {spec.pidfile}")
    return pid


def wait_for_console(spec: VmSpec, marker: bytes, timeout: float, pid: int | None = None) -> bool:
    """True once the serial console shows marker; False after timeout or when QEMU (pid) died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid is not None and not os.path.exists(f"/proc/{pid}"):
            return False
        try:
            with open(spec.console_log, "rb") as handle:
                if marker in handle.read():
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def ssh_answers(port: int, timeout: float = 3.0) -> bool:
    """True when an SSH server (not only QEMU's port forward) sends its banner."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            return conn.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def wait_for_ssh(spec: VmSpec, pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{pid}"):
            return False
        if ssh_answers(spec.ssh_port):
            return True
        time.sleep(1)
    return False


def qmp(spec: VmSpec, command: str, timeout: float = 5.0) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(spec.qmp_socket)
        reader = conn.makefile("rb")
        reader.readline()  # greeting
        for execute in ("qmp_capabilities", command):
            conn.sendall(json.dumps({"execute": execute}).encode() + b"\n")
            # Skip asynchronous events until the command's own answer.
            while True:
                reply = json.loads(reader.readline() or b"{}")
                if "return" in reply or "error" in reply or not reply:
                    break


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{pid}"):
            return True
        time.sleep(0.25)
    return not os.path.exists(f"/proc/{pid}")


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_gone(pid, 5)


def stop(spec: VmSpec, timeout: float) -> str:
    """Stops the VM: ACPI power-off first, then QEMU quit, then SIGKILL. Returns how."""
    pid = read_pid(spec)
    if pid is None:
        return "not running"
    how = "killed"
    try:
        qmp(spec, "system_powerdown")
        if wait_gone(pid, timeout):
            how = "powered off"
        else:
            qmp(spec, "quit")
            how = "quit" if wait_gone(pid, 5) else how
    except (OSError, ValueError):
        pass
    if os.path.exists(f"/proc/{pid}"):
        kill(pid)
    for stale in (spec.pidfile, spec.qmp_socket):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(stale)
    return how


def probe_kvm(spec: VmSpec, timeout: float) -> tuple[int | None, str | None]:
    """Boots with KVM: (pid, None) once the guest kernel prints, else (None, why) with QEMU gone.

    Two ways KVM fails on hosts that expose /dev/kvm: QEMU itself refuses to start (e.g. "failed
    to set MSR 0x10a", a nested hypervisor without that MSR), or the guest hangs before its
    kernel prints anything.
    """
    try:
        pid = launch(spec, "kvm")
    except QemuError as error:
        return None, f"KVM did not start ({str(error).splitlines()[0]})"
    if wait_for_console(spec, KERNEL_FIRST_LINE, timeout, pid):
        return pid, None
    kill(pid)
    return None, f"KVM guest silent after {timeout:g}s"


def start(spec: VmSpec, accel: str, kvm_probe_timeout: float, boot_timeout: float) -> dict:
    """Boots the VM and waits for SSH. Returns facts about the boot."""
    spec.qemu_binary = find_qemu(spec.qemu_binary)
    for path, what in ((spec.disk, "disk image"), (spec.kernel, "kernel"), (spec.initrd, "initrd")):
        if not os.path.exists(path):
            raise QemuError(f"the {what} {path} does not exist: build the image first (make image)")
    check_port_free(spec.ssh_port)
    started = time.monotonic()
    notes = []

    use_kvm = accel == "kvm"
    if accel == "auto":
        verdict = remembered_kvm_verdict(spec)
        use_kvm = kvm_usable() and verdict is not False
    if use_kvm:
        pid, failure = probe_kvm(spec, kvm_probe_timeout)
        if failure is None:
            remember_kvm_verdict(spec, True)
            chosen = "kvm"
        elif accel == "kvm":
            raise QemuError(
                f"{failure}; set lab_vm_accel=auto or tcg to use software emulation.\n"
                f"Last console lines:\n{console_tail(spec)}"
            )
        else:
            remember_kvm_verdict(spec, False)
            notes.append(f"{failure}: fell back to TCG")
            use_kvm = False
    if not use_kvm:
        pid = launch(spec, "tcg")
        chosen = "tcg"

    if not wait_for_ssh(spec, pid, boot_timeout):
        tail = console_tail(spec)
        stop(spec, 5)
        raise QemuError(
            f"the lab VM {spec.name!r} ({chosen}) did not answer SSH on 127.0.0.1:{spec.ssh_port} within "
            f"{boot_timeout:g}s and was stopped (raise lab_vm_boot_timeout on a slow host).\n"
            f"Last lines of its serial console ({spec.console_log}):\n{tail}"
        )
    return {
        "pid": pid,
        "accel": chosen,
        "boot_seconds": round(time.monotonic() - started, 1),
        "notes": notes,
        "console_log": spec.console_log,
    }
