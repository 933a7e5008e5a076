#!/usr/bin/env bash
# One command: build release, start knotd + Bulwark + Unbound on loopback,
# run dnsperf against both in alternating rounds, print a Markdown table and
# write a CSV to bench/results/. See bench/README.md.
#   bench/run.sh                          # 1 and 2 threads, 3 rounds of 10 s
#   bench/run.sh --threads 1 --rounds 1   # options go to bench/bench.py
#   BENCH_NO_BUILD=1 bench/run.sh         # use the existing release binary
#   BULWARK_BIN=/path/bulwark bench/run.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="$PATH:/opt/swift/usr/bin"
fi
for tool in knotd knotc unbound unbound-checkconf dnsperf; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
        echo "bench: $tool missing; apt-get install -y knot unbound dnsperf" >&2
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

# Bounded: at most 40 minutes whatever the options (the default run takes ~5).
exec timeout --signal=TERM --kill-after=30 2400 python3 bench/bench.py "$@"
