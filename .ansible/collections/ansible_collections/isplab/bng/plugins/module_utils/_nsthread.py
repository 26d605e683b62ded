# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a function inside a network namespace without moving the process.

Private to the isplab.bng collection. Standard library only, and no imports of the
collection: the boot-time copy of the topology code (role netns_topology) carries this file.

setns(2) moves only the calling thread, so the function runs in a short-lived thread that
enters the namespace and then ends: the rest of the process never changes namespace. Sockets
keep the namespace they were created in, so one made in there can be used from any thread
afterwards. Files under /proc/net follow the process's main thread: code run in there reads
/proc/thread-self/net/... instead. Entering needs CAP_SYS_ADMIN.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
CLONE_NEWNET = 0x40000000


class EnterError(OSError):
    """setns(2) refused to enter the namespace (as opposed to an OSError of the function run)."""


def setns(fd: int) -> None:
    """Move the calling thread into the network namespace open as fd."""
    if hasattr(os, "setns"):  # Python >= 3.12
        os.setns(fd, CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def call_in_netns(fd: int, func: Callable[[], T], name: str = "netns") -> T:
    """func() run in a thread inside the namespace open as fd: its result, or its exception
    re-raised in the caller's thread; EnterError when the thread cannot enter."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            setns(fd)
        except OSError as exc:
            outcome["error"] = EnterError(exc.errno, exc.strerror)
            return
        try:
            outcome["result"] = func()
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
