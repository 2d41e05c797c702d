#!/usr/bin/env bash
# Installs the peer servers of `npm run bench:peers` from Debian's packages when missing:
# redis-server (Redis Streams), rabbitmq-server (quorum queues), nats-server (JetStream).
# Needs root (apt-get). Services are not started here: bench/peers/servers.ts starts private
# instances on 127.0.0.1 and stops them by PID. A package that cannot be installed is reported,
# and its peer is then skipped by the benchmark (never counted as a failure).
set -uo pipefail
want=()
command -v redis-server >/dev/null || want+=(redis-server)
command -v rabbitmq-server >/dev/null || [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || want+=(rabbitmq-server)
command -v nats-server >/dev/null || want+=(nats-server)
if [ ${#want[@]} -eq 0 ]; then echo "peers: all installed"; exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "peers: not root, cannot install ${want[*]} (those peers will be skipped)"; exit 0; fi
# Keep apt from starting system-wide services (we start private instances ourselves).
cleanup=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && cleanup=1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
for pkg in "${want[@]}"; do
  apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null && echo "peers: installed $pkg" || echo "peers: could not install $pkg (skipped)"
done
[ -n "$cleanup" ] && rm -f /usr/sbin/policy-rc.d
exit 0
