#!/usr/bin/env bash
# Block lists side by side: build release, generate 1M and 10M names, measure
# load time and memory of Bulwark, Unbound (local-zone and RPZ), Knot Resolver,
# PowerDNS Recursor and dnsmasq one at a time, then CPU per query with 10 %
# blocked against Unbound. Prints Markdown tables, writes a CSV to
# bench/results/. See bench/README.md ("Policy benchmark").
#   bench/policy.sh                           # 1M and 10M, all servers
#   bench/policy.sh --sizes 1000000           # the quick run (~3 min)
#   bench/policy.sh --servers bulwark,unbound-localzone --cpu-size 0
#   BENCH_NO_BUILD=1 bench/policy.sh          # use the existing release binary
#   BULWARK_BIN=/path/bulwark bench/policy.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="$PATH:/opt/swift/usr/bin"
fi
# knotd (the shared upstream) and dnsperf are needed; a missing peer
# (unbound, kresd, pdns_recursor, dnsmasq) is only skipped, with a hint.
for tool in knotd knotc dnsperf python3; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
        echo "bench: $tool missing; apt-get install -y knot dnsperf python3 python3-dnspython" >&2
        exit 1
    fi
done

if [ -z "${BULWARK_BIN:-}" ]; then
    if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
        echo "== swift build -c release" >&2
        swift build -c release >&2
    fi
    BULWARK_BIN="$(swift build -c release --show-bin-path)/bulwark"
    export BULWARK_BIN
fi

# Bounded: at most 90 minutes whatever the options (1M alone takes ~3, 1M and 10M ~15-20).
exec timeout --signal=TERM --kill-after=60 5400 python3 bench/policy.py "$@"
