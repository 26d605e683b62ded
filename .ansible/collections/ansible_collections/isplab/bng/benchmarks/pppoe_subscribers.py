#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bring up 50, 100 and 200 PPPoE subscribers against the rp-pppoe server; time and memory.

Drives a running lab VM (`make vm-up`, or a molecule scenario's VM) from the controller:

1. one ansible-playbook run applies the lab topology, the rp-pppoe server in bng1 and the
   largest number of subscribers with the roles, their units installed but not started;
2. for each size N, inside the VM: MemAvailable, then the first N units started at once
   (one `systemctl start`), then polled until the server holds N sessions with their static
   addresses (one `ip -n bng1 -4 -o addr` per poll: its ppp interfaces with a peer), then
   MemAvailable again after a few seconds of quiet; then the subscribers stop and the server
   drains before the next size;
3. the client side is confirmed with the module pppoe_session_info for the largest size;
4. the lab is torn down again unless --keep.

Prints one line per size and the growth from the smallest to the largest; asserts nothing
about time. Under software emulation (TCG) the seconds are large: read the ratios.

    .venv/bin/python benchmarks/pppoe_subscribers.py [--vm pppoe] [--sizes 50,100,200] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"

PATTERN = {
    "name": "cpe{n}",
    "user": "user{n}",
    "password": "pass{n}",
    "mac": "02:00:00:00:c0:01",
    "ipv4": "100.64.0.11",
}

# Runs inside the VM: prints one JSON line. $1 = number of subscribers, $2 = timeout (s).
MEASURE = r"""
set -eu
n=$1; timeout=$2
mem() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }
sessions() { ip -n bng1 -4 -o addr show 2>/dev/null | grep -c ' peer 100\.64\.' || true; }
ms() { echo $(( ($(date +%s%N) - t0) / 1000000 )); }
sync; echo 3 > /proc/sys/vm/drop_caches; sleep 5
before=$(mem)
units=$(seq 1 "$n" | sed 's/.*/isplab-pppoe-client@cpe&.service/')
t0=$(date +%s%N)
# One call for all of them; a busy systemd under emulation answers slowly (the default D-Bus
# timeout of 25 s failed jobs at 50 units), so give it time.
SYSTEMD_BUS_TIMEOUT=600 systemctl start --no-block $units
up=0; first=-1
while :; do
    up=$(sessions); now=$(ms)
    [ "$first" -lt 0 ] && [ "$up" -gt 0 ] && first=$now
    [ "$up" -ge "$n" ] && break
    [ "$now" -gt $(( timeout * 1000 )) ] && break
    sleep 0.5
done
sleep 10; sync; echo 3 > /proc/sys/vm/drop_caches; sleep 2
after=$(mem)
procs=$(pgrep -c '^(pppd|pppoe|sh)$' || true)
printf '{"n": %s, "up": %s, "ms": %s, "first_ms": %s, ' "$n" "$up" "$now" "$first"
printf '"mem_before_kb": %s, "mem_after_kb": %s, "processes": %s}\n' "$before" "$after" "$procs"
"""

DRAIN = r"""
SYSTEMD_BUS_TIMEOUT=600 systemctl stop 'isplab-pppoe-client@*.service'
for i in $(seq 1 120); do
    [ "$(ip -n bng1 -4 -o addr show | grep -c ' peer ' || true)" = 0 ] && exit 0
    sleep 1
done
echo "the server still holds sessions" >&2; exit 1
"""


def ansible_env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}:{env['PATH']}"
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    return env


def playbook(inventory: Path, body: list, extra: dict | None = None) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".yml", dir=REPO / "benchmarks", delete=False) as handle:
        json.dump(body, handle)
    try:
        command = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), handle.name]
        if extra:
            command += ["-e", json.dumps(extra)]
        subprocess.run(command, check=True, env=ansible_env(), cwd=REPO)
    finally:
        os.unlink(handle.name)


def in_vm(host: dict, script: str, *args: str, timeout: float) -> str:
    command = [
        "ssh", "-q", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        # A fresh connection: never a control master left by another run to another VM.
        "-o", "ControlMaster=no", "-o", "ControlPath=none",
        "-i", host["ansible_ssh_private_key_file"], "-p", str(host["ansible_port"]),
        f"{host['ansible_user']}@{host['ansible_host']}", "bash", "-s", "--", *args,
    ]  # fmt: skip
    done = subprocess.run(command, input=script, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise SystemExit(f"in the VM: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def vm_host(inventory: Path) -> dict:
    import yaml  # from the venv (ansible-core depends on it)

    hosts = yaml.safe_load(inventory.read_text())["lab_vm"]["hosts"]
    return next(iter(hosts.values()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--vm", default=os.environ.get("ISPLAB_MOLECULE_VM", "isplab"), help="lab VM name")
    parser.add_argument("--sizes", default="50,100,200", help="numbers of subscribers, comma separated")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds to wait for one size")
    parser.add_argument("--keep", action="store_true", help="leave the lab up afterwards")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    cache = Path(os.environ.get("ISPLAB_CACHE_DIR", Path.home() / ".cache" / "isplab-bng"))
    inventory = cache / "vm" / args.vm / "inventory.yml"
    if not inventory.exists():
        raise SystemExit(f"no lab VM {args.vm!r} ({inventory} is missing): boot one with `make vm-up`")
    host = vm_host(inventory)
    subscribers = [dict(PATTERN, count=sizes[-1])]
    topology = str(REPO / "inventories" / "lab" / "group_vars" / "all" / "topology.yml")

    started = time.monotonic()
    playbook(
        inventory,
        [
            {
                "name": "Set up the benchmark",
                "hosts": "all",
                "gather_facts": False,
                "vars_files": [topology],
                "roles": [
                    {"role": "isplab.bng.netns_topology"},
                    {"role": "isplab.bng.pppoe_server", "pppoe_server_instances": [{"namespace": "bng1"}]},
                    {
                        "role": "isplab.bng.pppoe_client",
                        "pppoe_client_started": False,
                        "pppoe_client_boot": False,
                    },
                ],
            }
        ],
        {"pppoe_client_subscribers": subscribers, "pppoe_server_subscribers": subscribers},
    )
    print(f"set-up with the roles ({sizes[-1]} subscribers): {time.monotonic() - started:.0f} s", flush=True)
    cpus = in_vm(host, "nproc", timeout=60).strip()

    results = []
    for size in sizes:
        in_vm(host, DRAIN, timeout=300)
        figures = json.loads(in_vm(host, MEASURE, str(size), str(args.timeout), timeout=args.timeout + 300))
        figures["seconds"] = figures["ms"] / 1000
        figures["first"] = figures["first_ms"] / 1000
        used = figures["mem_before_kb"] - figures["mem_after_kb"]
        figures["mem_used_kb"] = used
        results.append(figures)
        print(
            f"{size:4d} subscribers: {figures['up']}/{size} up in {figures['seconds']:.1f} s "
            f"(first after {figures['first']:.1f} s), {size / figures['seconds']:.2f} sessions/s; "
            f"MemAvailable {figures['mem_before_kb'] / 1024:.0f} -> "
            f"{figures['mem_after_kb'] / 1024:.0f} MiB, "
            f"{used / 1024:.1f} MiB used, {used / size:.0f} KiB per subscriber; "
            f"{figures['processes']} pppd/pppoe/sh processes",
            flush=True,
        )

    # The client side of the largest size, with the collection's own module.
    units = [f"isplab-pppoe-client@cpe{n}.service" for n in range(1, sizes[-1] + 1)]
    in_vm(host, "SYSTEMD_BUS_TIMEOUT=600 systemctl start --no-block " + " ".join(units), timeout=900)
    playbook(
        inventory,
        [
            {
                "name": "Check the subscribers' side",
                "hosts": "all",
                "gather_facts": False,
                "tasks": [
                    {
                        "name": "Every namespace has its session",
                        "isplab.bng.pppoe_session_info": {
                            "namespaces": [f"cpe{n}" for n in range(1, sizes[-1] + 1)],
                            "wait": "up",
                            "timeout": args.timeout,
                        },
                    }
                ],
            }
        ],
    )
    small, large = results[0], results[-1]
    print(
        f"VM: {cpus} CPU(s), software emulation; from {small['n']} to {large['n']} subscribers "
        f"({large['n'] / small['n']:.0f}x): time x{large['seconds'] / small['seconds']:.2f}, "
        f"memory x{large['mem_used_kb'] / max(small['mem_used_kb'], 1):.2f}, per subscriber "
        f"{small['mem_used_kb'] / small['n']:.0f} -> {large['mem_used_kb'] / large['n']:.0f} KiB"
    )
    if not args.keep:
        playbook(
            inventory,
            [
                {
                    "name": "Tear the benchmark down",
                    "hosts": "all",
                    "gather_facts": False,
                    "vars_files": [topology],
                    "roles": [
                        {"role": "isplab.bng.pppoe_client", "pppoe_client_state": "absent"},
                        {"role": "isplab.bng.pppoe_server", "pppoe_server_state": "absent"},
                        {"role": "isplab.bng.netns_topology", "netns_topology_state": "absent"},
                    ],
                }
            ],
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
