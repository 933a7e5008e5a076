#!/usr/bin/env bash
# One command: Bulwark side by side with Unbound, Knot Resolver, PowerDNS
# Recursor and dnsmasq, all forwarding to one local knotd on loopback, in
# rotated rounds: cached QPS, CPU µs/query, p50/p99 at a fixed rate, then the
# load time and RSS of a 1M-name block list. Prints Markdown tables, writes a
# CSV and a PNG chart to bench/results/. See bench/README.md ("Side by side").
#   bench/setup                                   # once, as root: dnsmasq-base, matplotlib
#   bench/suite.sh                                # 3 rounds of 10 s, 1M names (~6 min)
#   bench/suite.sh --rounds 1 --duration 3 --list-names 100000   # a quick look (~1 min)
#   bench/suite.sh --threads 2                    # 2 threads where a server has threads
#   BENCH_NO_BUILD=1 bench/suite.sh               # use the existing release binary
#   BULWARK_BIN=/path/bulwark bench/suite.sh      # use that binary, build nothing
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

for tool in knotd knotc dnsperf python3; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
        echo "bench: $tool missing; apt-get install -y knot dnsperf python3 (or bench/setup)" >&2
        exit 1
    fi
done
# The peers are optional (a missing one is skipped, with a hint); say so early.
for tool in unbound kresd pdns_recursor dnsmasq; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
        echo "bench: $tool missing, it will be skipped (bench/setup installs the peers)" >&2
    fi
done
python3 -c 'import matplotlib' 2>/dev/null || echo "bench: matplotlib missing, no chart (bench/setup)" >&2

if [ -z "${BULWARK_BIN:-}" ]; then
    if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
        export PATH="$PATH:/opt/swift/usr/bin"
    fi
    if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
        echo "== swift build -c release" >&2
        swift build -c release >&2
    fi
    BULWARK_BIN="$(swift build -c release --show-bin-path)/bulwark"
    export BULWARK_BIN
fi

# Bounded: at most an hour whatever the options (the default run takes ~6 minutes).
exec timeout --signal=TERM --kill-after=60 3600 python3 bench/suite.py "$@"
