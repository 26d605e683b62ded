#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Time the `show sessions` parser on the real 30-session reply and on a 10,000-session table,
and measure the memory one parse of the largest reply the client takes holds at its peak.

The large table repeats the data rows of the recorded 30-session, every-column reply of
accel-ppp 1.14.0, with ifname, username and sid made unique, and is drawn the way accel-ppp
draws it (columns as wide as their widest value). Prints figures; asserts nothing about time.

    .venv/bin/python benchmarks/accel_ppp_session_parse.py [--sessions 10000] [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".venv" / "collections"))

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli import MAX_REPLY_BYTES
from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_parsers import parse_sessions

TRANSCRIPT = REPO / "tests" / "unit" / "fixtures" / "accel-ppp-1.14.0" / "cli-30-sessions.json"


def recorded_wide_reply() -> str:
    exchanges = json.loads(TRANSCRIPT.read_text())["exchanges"]
    return max((e["response"] for e in exchanges if e["command"].startswith("show sessions")), key=len)


def big_table(reply: str, sessions: int) -> str:
    lines = [line for line in reply.split("\r\n") if line]
    columns = [cell.strip() for cell in lines[0].split("|")]
    samples = [[cell.strip() for cell in line.split("|")] for line in lines[2:]]
    rows = []
    for index in range(sessions):
        row = dict(zip(columns, samples[index % len(samples)], strict=True))
        row.update(
            ifname=f"ppp{index}", username=f"user{index + 1}", sid=f"{0xE9218D4A806D0000 + index:016x}"
        )
        rows.append(row)
    widths = {c: max(len(c), *(len(row[c]) for row in rows)) for c in columns}
    out = ["|".join(f" {c:^{widths[c]}} " for c in columns), "+".join("-" * (widths[c] + 2) for c in columns)]
    out += ["|".join(f" {row[c]:<{widths[c]}} " for c in columns) for row in rows]
    return "".join(line + "\r\n" for line in out)


def timed(text: str, runs: int) -> tuple[list[float], int]:
    times = []
    count = 0
    for _round in range(runs):
        start = time.perf_counter()
        count = len(parse_sessions(text))
        times.append(time.perf_counter() - start)
    return times, count


def report(label: str, text: str, runs: int) -> None:
    times, rows = timed(text, runs)
    median = statistics.median(times)
    print(
        f"{label}: {rows} rows, {len(text.encode()) / 1024:.0f} KiB, {runs} runs: "
        f"median {median * 1000:.3f} ms/parse (min {min(times) * 1000:.3f}, max {max(times) * 1000:.3f}), "
        f"{rows / median:,.0f} rows/s"
    )


def peak_memory(label: str, text: str) -> None:
    """What one parse holds at its peak, besides the reply itself: what the client's cap bounds."""
    tracemalloc.start()
    rows = parse_sessions(text)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    size = len(text.encode())
    print(
        f"{label}: {len(rows)} rows, {size / 2**20:.1f} MiB reply, parse peak {peak / 2**20:.0f} MiB "
        f"({peak / size:.1f} times the reply)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000, help="rows of the large table")
    parser.add_argument("--runs", type=int, default=15, help="timed parses of the large table")
    args = parser.parse_args()

    reply = recorded_wide_reply()
    table = big_table(reply, args.sessions)
    system = f"{platform.system()} {platform.release()}"
    print(f"python {platform.python_version()} on {platform.machine()}, {system}")
    report("recorded 30-session reply (23 columns)", reply, max(args.runs * 20, 100))
    report(f"synthetic {args.sessions}-session table (23 columns)", table, args.runs)
    # The largest table the client takes (MAX_REPLY_BYTES), every column.
    at_cap = big_table(reply, int(0.98 * MAX_REPLY_BYTES / (len(table.encode()) / args.sessions)))
    peak_memory(f"table at the client's {MAX_REPLY_BYTES / 2**20:.0f} MiB reply cap", at_cap)


if __name__ == "__main__":
    main()
