# SPDX-License-Identifier: GPL-3.0-or-later
"""Adopted sessions: the sessions of the old active BNG that this agent holds in its own kernel
(stage two of a takeover, see _pppoe_adopt), and their upkeep until they end.

Private to the isplab.bng collection: no stability promise outside it.

An adopted session lives on an interface that carries the AC MAC its client knows (the access
port for this BNG's own MAC, a macvlan for the peer's); the agent answers its LCP, sends it
Echo-Requests and router advertisements, and ends it on a PADT, a Terminate-Request, silence or
an operator's request. Its three descriptors go to systemd's file descriptor store, so that a
restarted agent takes the session back (reclaim).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from ansible_collections.isplab.bng.plugins.module_utils._failover.host import quiet_ipv6, sd_notify
from ansible_collections.isplab.bng.plugins.module_utils._failover.state import ReplicatedSession
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_adopt import (
    LCP_TERM_REQ,
    PPP_LCP,
    AdoptError,
    Channel,
    add_ipv6_link_local,
    build_router_advertisement,
    channel_from_fds,
    configure_ipv4,
    echo_request,
    handle_lcp_frame,
    handle_unit_frame,
    lcp_packet,
    new_magic,
    open_channel,
    ppp_frame,
    send_router_advertisement,
)
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_discovery import (
    FrameError,
    build_padt,
    send_frames,
)
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import PppoeKernelError, normalise_mac

# systemd's file descriptor store keeps at most this many names' worth per unit (see the unit).
FD_KINDS = ("sock", "chan", "unit")

_FDNAME_RE = re.compile(r"^s(\d+)\.([0-9a-f]{12})\.(sock|chan|unit)$")

log = logging.getLogger("isplab-bng-failover")


def macvlan_name(mac: str) -> str:
    """The interface that carries a foreign AC MAC: `ac` and its 12 hex digits (14 characters)."""
    return "ac" + normalise_mac(mac).replace(":", "")


def fd_name(session_id: int, client_mac: str, kind: str) -> str:
    """The systemd fd store name of one descriptor of an adopted session (no ':' allowed there)."""
    return f"s{session_id}.{client_mac.replace(':', '')}.{kind}"


def stored_channels(
    env: Mapping[str, str], first_fd: int = 3
) -> tuple[dict[tuple[int, str], dict], list[int]]:
    """The adopted sessions' descriptors systemd passed back (LISTEN_FDS, LISTEN_FDNAMES).

    Returns {(session id, client mac): {'sock': fd, 'chan': fd, 'unit': fd}} and the fds that
    belong to nothing known (to be closed).
    """
    if env.get("LISTEN_PID") not in (None, str(os.getpid())):
        return {}, []
    try:
        count = int(env.get("LISTEN_FDS", "0"))
    except ValueError:
        return {}, []
    names = env.get("LISTEN_FDNAMES", "").split(":") if count else []
    found: dict[tuple[int, str], dict] = {}
    stray: list[int] = []
    for offset in range(count):
        fd = first_fd + offset
        name = names[offset] if offset < len(names) else ""
        match = _FDNAME_RE.match(name)
        if not match:
            stray.append(fd)
            continue
        mac = ":".join(match[2][i : i + 2] for i in range(0, 12, 2))
        found.setdefault((int(match[1]), mac), {})[match[3]] = fd
    complete = {key: fds for key, fds in found.items() if set(fds) == set(FD_KINDS)}
    for key, fds in found.items():
        if key not in complete:
            stray.extend(fds.values())
    return complete, stray


@dataclass
class Adopted:
    """A session this agent holds in its kernel."""

    session: ReplicatedSession
    channel: Channel
    device: str
    magic: int
    adopted_at: float
    last_heard: float
    echo_id: int = 0
    echoes_unanswered: int = 0
    heard: bool = False
    next_echo: float = 0.0
    next_ra: float = 0.0
    ra_error: str | None = None
    peer_magic: int | None = None

    @classmethod
    def start(cls, session: ReplicatedSession, channel: Channel, device: str) -> Adopted:
        """Held from now on, with a new LCP magic number and an Echo-Request due at once."""
        now = time.monotonic()
        return cls(
            session=session,
            channel=channel,
            device=device,
            magic=new_magic(),
            adopted_at=time.time(),
            last_heard=now,
            next_echo=now,
        )

    def describe(self, now: float) -> dict:
        s = self.session
        return {
            "session_id": s.session_id,
            "client_mac": s.client_mac,
            "ac_mac": s.ac_mac,
            "username": s.username,
            "ipv4": s.ipv4,
            "gateway": s.gateway,
            "ipv6_prefix": s.ipv6_prefix,
            "ipv6_delegated": s.ipv6_delegated,
            "ifname": self.channel.ifname,
            "device": self.device,
            "adopted_at": round(self.adopted_at, 3),
            "age": round(now - self.adopted_at, 1),
            "session_age": round(now - s.since, 1),
            "last_heard": round(now - self.last_heard, 1),
        }


def descriptors(channel: Channel) -> list[tuple[str, int]]:
    """The channel's descriptors by their kind in systemd's store."""
    return list(zip(FD_KINDS, (channel.sock_fd, channel.chan_fd, channel.unit_fd), strict=True))


class AdoptedSessions:
    """The sessions this agent holds, by key and by the descriptors the event loop reads.

    Owned by the main loop; `lock` guards `by_key` for the replication thread, which replicates
    these sessions too (the standby must be able to take them over in turn).
    """

    def __init__(self, agent):
        self.agent = agent
        self.config = agent.config
        self.lock = threading.RLock()
        self.by_key: dict[tuple[int, str, str], Adopted] = {}
        self.by_fd: dict[int, Adopted] = {}
        # Re-homing: sessions handed back to this BNG's PPPoE server, one PADT at a time.
        self.rehome_queue: list[tuple[int, str, str]] = []
        self.rehome_interval = 1.0 / self.config.rehome_rate
        self.next_rehome = 0.0

    def all(self) -> list[Adopted]:
        return list(self.by_key.values())

    def keys(self) -> set[tuple[int, str, str]]:
        with self.lock:
            return set(self.by_key)

    def replicated(self) -> list[ReplicatedSession]:
        """The sessions as the active replicates them: adopted, on the ppp interface they have here."""
        with self.lock:
            return [
                replace(a.session, origin="adopted", ifname=a.channel.ifname) for a in self.by_key.values()
            ]

    def status(self) -> dict:
        return {"adopted": len(self.by_key), "rehome_pending": len(self.rehome_queue)}

    # -- taking sessions in -----------------------------------------------------------------------------

    def prepare_devices(self, ac_macs: set[str]) -> dict[str, str]:
        """An up interface carrying each AC MAC: the access port for our own, a macvlan for others."""
        ipr = self.agent.ipr
        devices = {}
        access = ipr.link_lookup(ifname=self.config.access_interface)
        for mac in sorted(ac_macs):
            if mac == self.agent.own_mac:
                devices[mac] = self.config.access_interface
                continue
            name = macvlan_name(mac)
            try:
                if not ipr.link_lookup(ifname=name):
                    if not access:
                        raise AdoptError(f"access interface {self.config.access_interface} does not exist")
                    ipr.link(
                        "add",
                        ifname=name,
                        kind="macvlan",
                        link=access[0],
                        macvlan_mode="private",
                        address=mac,
                    )
                quiet_ipv6(name)
                index = ipr.link_lookup(ifname=name)[0]
                ipr.link("set", index=index, state="up")
                devices[mac] = name
            except Exception as exc:  # a netlink error: those sessions get a PADT
                log.error("cannot bring up %s with MAC %s: %s", name, mac, exc)
        return devices

    def adopt(self, session: ReplicatedSession, device: str) -> Adopted:
        channel = open_channel(session.session_id, session.client_mac, device, session.mtu)
        adopted = Adopted.start(session, channel, device)
        # Teach the switch where the AC MAC lives now, and learn whether the client is there.
        self.echo(adopted, adopted.last_heard)
        try:
            self.configure(adopted)
        except Exception as exc:
            channel.close()
            raise AdoptError(f"configuring {channel.ifname}: {exc}") from None
        self.register(adopted)
        for kind, fd in descriptors(channel):
            sd_notify("FDSTORE=1\nFDNAME=" + fd_name(session.session_id, session.client_mac, kind), [fd])
        log.info("adopted %s as %s on %s (%s)", session.name, channel.ifname, device, session.ipv4)
        return adopted

    def configure(self, adopted: Adopted) -> None:
        """Addresses and routes on the new pppN, as the old BNG had them: IPv4 first, by ioctl."""
        session, ifname = adopted.session, adopted.channel.ifname
        configure_ipv4(ifname, session.gateway, session.ipv4, session.mtu or 1492)
        if session.ipv6_local_ll:
            add_ipv6_link_local(ifname, session.ipv6_local_ll)
        prefixes = [p for p in (session.ipv6_prefix, session.ipv6_delegated) if p]
        if prefixes:
            index = socket.if_nametoindex(ifname)
            for prefix in prefixes:
                try:
                    self.agent.ipr.route("replace", dst=prefix, oif=index, family=socket.AF_INET6)
                except Exception as exc:  # the IPv4 session works without it; say so
                    log.warning("%s: no route for %s on %s: %s", session.name, prefix, ifname, exc)

    def register(self, adopted: Adopted) -> None:
        with self.lock:
            self.by_key[adopted.session.key] = adopted
        selector = self.agent.selector
        for fd in (adopted.channel.chan_fd, adopted.channel.unit_fd):
            self.by_fd[fd] = adopted
            selector.register(fd, selectors.EVENT_READ, self.readable)

    def reclaim(self, known: Callable[[], Iterable[ReplicatedSession]]) -> None:
        """Take back the sessions systemd's store passed to this start of the agent; `known`: the
        sessions of the takeover journal, the only ones a stored session may be."""
        channels, stray = stored_channels(os.environ)
        for fd in stray:
            with contextlib.suppress(OSError):
                os.close(fd)
        if not channels:
            return
        by_id = {(session.session_id, session.client_mac): session for session in known()}
        for (session_id, mac), fds in channels.items():
            session = by_id.get((session_id, mac))
            try:
                channel = channel_from_fds(fds["sock"], fds["chan"], fds["unit"])
            except AdoptError as exc:
                log.error("stored session %d %s: %s", session_id, mac, exc)
                for fd in fds.values():
                    with contextlib.suppress(OSError):
                        os.close(fd)
                continue
            if session is None:
                log.error("stored session %d %s is not in the takeover journal: closing it", session_id, mac)
                channel.close()
                continue
            device = (
                macvlan_name(session.ac_mac)
                if session.ac_mac != self.agent.own_mac
                else self.config.access_interface
            )
            adopted = Adopted.start(session, channel, device)
            self.register(adopted)
            log.info("took back adopted %s as %s after a restart", session.name, channel.ifname)
        sd_notify(f"STATUS=reclaimed {len(self.by_key)} adopted sessions")

    # -- upkeep: LCP, router advertisements, re-homing ----------------------------------------------------

    def timers(self, now: float, due: float) -> float:
        """Echo-Requests, router advertisements and re-homing PADTs due by now; the next due time."""
        for adopted in self.all():
            if now >= adopted.next_echo:
                self.echo(adopted, now)
            ra = adopted.session.ipv6_prefix and adopted.session.ipv6_local_ll
            if ra and now >= adopted.next_ra:
                self.send_ra(adopted)
                adopted.next_ra = now + self.config.ra_interval
            due = min(due, adopted.next_echo, adopted.next_ra if ra else due)
        if self.rehome_queue and now >= self.next_rehome:
            key = self.rehome_queue.pop(0)
            if key in self.by_key:
                self.drop(
                    self.by_key[key], "re-homed: PADT, the client redials this BNG's PPPoE server", padt=True
                )
            self.next_rehome = now + self.rehome_interval
        if self.rehome_queue:
            due = min(due, self.next_rehome)
        return due

    def rehome(self, chosen: list[Adopted], rate: float) -> None:
        """Hand these sessions to this BNG's PPPoE server: a PADT each, `rate` per second."""
        self.rehome_interval = 1.0 / rate
        self.rehome_queue = [a.session.key for a in chosen]
        self.next_rehome = time.monotonic()

    def echo(self, adopted: Adopted, now: float) -> None:
        """One LCP Echo-Request; a client that leaves echo_failures of them unanswered is gone.

        Until the client has answered once, the requests go every second, so that a session
        whose client left before the takeover is noticed in seconds and dropped with a PADT.
        """
        config = self.config
        if adopted.echoes_unanswered >= config.echo_failures:
            self.drop(
                adopted, f"client gone: {adopted.echoes_unanswered} LCP echo requests unanswered", padt=True
            )
            return
        adopted.echo_id = adopted.echo_id % 255 + 1
        try:
            adopted.channel.write(echo_request(adopted.echo_id, adopted.magic))
        except OSError as exc:
            self.drop(adopted, f"the channel failed: {exc.strerror}", padt=True)
            return
        adopted.echoes_unanswered += 1
        adopted.next_echo = now + (config.echo_interval if adopted.heard else min(1.0, config.echo_interval))

    def readable(self, fd: int, mask: int) -> None:
        adopted = self.by_fd.get(fd)
        if adopted is None:
            with contextlib.suppress(KeyError, ValueError):
                self.agent.selector.unregister(fd)
            return
        unit = fd == adopted.channel.unit_fd
        for _round in range(64):
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                return
            except OSError as exc:
                self.drop(adopted, f"the channel failed: {exc.strerror}", padt=False)
                return
            if not data:
                # End of file: the channel is gone (the client's PADT unbound it).
                self.drop(adopted, "the client ended the session (PADT)", padt=False)
                return
            try:
                outcome = handle_unit_frame(data) if unit else handle_lcp_frame(data, adopted.magic)
            except FrameError as exc:
                log.debug("%s: %s", adopted.session.name, exc)
                continue
            if outcome.peer_magic is not None:
                adopted.peer_magic = outcome.peer_magic
            if not unit:
                adopted.last_heard = time.monotonic()
                adopted.echoes_unanswered = 0
                adopted.heard = True
            for reply in outcome.replies:
                with contextlib.suppress(OSError):
                    adopted.channel.write(reply)
            if outcome.end == "terminated":
                self.drop(adopted, "the client sent LCP Terminate-Request", padt=False)
                return
            if outcome.end == "renegotiate":
                self.drop(adopted, outcome.note or "the client renegotiates", padt=True)
                return

    def send_ra(self, adopted: Adopted) -> None:
        config, session = self.config, adopted.session
        try:
            packet = build_router_advertisement(
                session.ipv6_prefix,
                config.ra_router_lifetime,
                config.ra_valid_lifetime,
                config.ra_preferred_lifetime,
                session.mtu,
            )
            send_router_advertisement(adopted.channel.ifname, session.ipv6_local_ll, packet)
        except (AdoptError, FrameError, ValueError) as exc:
            # Once per session and error: the client's IPv6 default route expires without RAs.
            if str(exc) != adopted.ra_error:
                log.warning("router advertisement for %s: %s", session.name, exc)
            adopted.ra_error = str(exc)
        else:
            adopted.ra_error = None

    # -- ending -------------------------------------------------------------------------------------------

    def drop(self, adopted: Adopted, why: str, padt: bool) -> None:
        """End an adopted session: optionally LCP Terminate-Request and PADT first, then close it."""
        session = adopted.session
        with self.lock:
            if self.by_key.get(session.key) is not adopted:
                return
            del self.by_key[session.key]
        if padt:
            with contextlib.suppress(OSError):
                adopted.channel.write(ppp_frame(PPP_LCP, lcp_packet(LCP_TERM_REQ, 1, b"")))
            with contextlib.suppress(PppoeKernelError):
                send_frames(
                    adopted.device, [build_padt(session.session_id, session.client_mac, session.ac_mac)]
                )
        for fd in (adopted.channel.chan_fd, adopted.channel.unit_fd):
            self.by_fd.pop(fd, None)
            with contextlib.suppress(KeyError, ValueError):
                self.agent.selector.unregister(fd)
        for kind in FD_KINDS:
            sd_notify("FDSTOREREMOVE=1\nFDNAME=" + fd_name(session.session_id, session.client_mac, kind))
        adopted.channel.close()
        log.info("dropped adopted %s (%s): %s", session.name, adopted.channel.ifname, why)
        self.agent.poke.set()

    def drop_all(self, why: str) -> None:
        """End every session held here without a PADT (the peer serves them now)."""
        for adopted in self.all():
            self.drop(adopted, why, padt=False)
