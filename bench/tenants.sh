#!/usr/bin/env bash
# 10,000 tenants vs none: build release, generate 1M names, start Bulwark with the
# same list once without and once with a five-level tenant tree (queries from
# 127.0.0.1 belong to a town at depth 4), measure load time and memory one at a
# time, then CPU per query with 10 % blocked in alternating dnsperf rounds.
# Prints Markdown tables, writes a CSV to bench/results/. See bench/README.md
# ("Tenants benchmark").
#   bench/tenants.sh                                  # 1M names, 10,000 tenants, 3 rounds of 10 s
#   bench/tenants.sh --names 100000 --tenants 1000 --rounds 1 --duration 3   # a quick look
#   bench/tenants.sh --rounds 5 --abba                # more rounds, ABBA order
#   BENCH_NO_BUILD=1 bench/tenants.sh                 # use the existing release binary
#   BULWARK_BIN=/path/bulwark bench/tenants.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="$PATH:/opt/swift/usr/bin"
fi
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

# Bounded: at most 30 minutes whatever the options (the default run takes ~2-3).
exec timeout --signal=TERM --kill-after=60 1800 python3 bench/tenants.py "$@"
