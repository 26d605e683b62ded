#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# usage: ipv6_reach.sh [--to ADDRESS] NAMESPACE...   (on the lab host)
#
# For every subscriber namespace: the BNG's end of its PPP session (IPV6CP's link-local, the
# "peer" on the client's ppp0) answers an IPv6 ping; with --to, ADDRESS (beyond the BNG, in the
# core) answers too, which needs the BNG to route the subscriber's prefix back to its session.
# Prints one line per subscriber that fails and exits 1 if any does. The failover scenario runs
# it before the failure (is IPv6 working on the BNG that serves the session?) and after it
# (does the adopted copy keep it?).
set -uo pipefail
target=
if [ "${1:-}" = --to ]; then
  target=$2
  shift 2
fi
failed=0
for ns in "$@"; do
  router=$(ip -n "$ns" -6 -o addr show dev ppp0 scope link | grep -o 'peer [0-9a-f:]*' | head -n 1)
  router=${router#peer }
  if [ -z "$router" ]; then
    echo "$ns: no IPv6 link on ppp0"
    failed=1
  elif ! ip netns exec "$ns" ping -6 -c 2 -i 0.2 -W 5 -q "$router%ppp0" >/dev/null; then
    echo "$ns: no IPv6 answer from the BNG's end $router of ppp0"
    failed=1
  fi
  if [ -n "$target" ] && ! ip netns exec "$ns" ping -6 -c 2 -i 0.2 -W 5 -q "$target" >/dev/null; then
    echo "$ns: no IPv6 answer from $target (from $(ip -n "$ns" -6 -o addr show dev ppp0 scope global | awk '{print $4}'))"
    failed=1
  fi
done
exit $failed
