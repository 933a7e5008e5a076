#!/usr/bin/env bash
# Push→block latency of the MISP-compatible push API: starts one knotd (the
# upstream) and one Bulwark with an intel key on loopback ports, runs
# bench/intel_latency.py against them, stops both by PID. See bench/README.md.
#   bench/intel.sh                        # 200 pushes
#   bench/intel.sh --count 1000 --poll-ms 1
#   BENCH_NO_BUILD=1 bench/intel.sh       # use the existing release binary
#   BULWARK_BIN=/path/bulwark bench/intel.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="$PATH:/opt/swift/usr/bin"
fi
for tool in knotd knotc python3; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
        echo "bench: $tool missing; apt-get install -y knot python3" >&2
        exit 1
    fi
done
python3 -c 'import dns.message, pymisp' 2>/dev/null || { echo "bench: pip install dnspython pymisp (scripts/install-deps)" >&2; exit 1; }

if [ -z "${BULWARK_BIN:-}" ]; then
    if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
        echo "== swift build -c release" >&2
        swift build -c release >&2
    fi
    BULWARK_BIN="$(swift build -c release --show-bin-path)/bulwark"
    export BULWARK_BIN
fi

# Bounded: 15 minutes whatever the options (200 pushes take well under a minute).
exec timeout --signal=TERM --kill-after=30 900 python3 - "$@" <<'PY'
import subprocess, sys
from pathlib import Path
repo = Path.cwd()
sys.path.insert(0, str(repo / "tests" / "integration"))
import harness

KEY = "BenchIntelKey000000000000000000000000001"
knot = harness.Knot(harness.find_executable("knotd"), harness.find_executable("knotc")).start()
b = None
try:
    config = f"""intel:
  keys:
    - {{name: bench, org: BENCH, role: admin, key: "{KEY}"}}
"""
    b = harness.Bulwark(harness.bulwark_binary(), [f"{harness.LOOPBACK}:{knot.port}"], config=config)
    b.start()
    print(f"== bulwark {harness.bulwark_binary()} dns {harness.LOOPBACK}:{b.port} api http://{harness.LOOPBACK}:{b.metrics_port}", file=sys.stderr)
    cmd = [sys.executable, str(repo / "bench" / "intel_latency.py"), "--api", f"http://{harness.LOOPBACK}:{b.metrics_port}",
           "--key", KEY, "--dns", f"{harness.LOOPBACK}:{b.port}", "--zone", "intel.test.bulwark", *sys.argv[1:]]
    rc = subprocess.run(cmd, timeout=840).returncode
finally:
    if b is not None:
        b.close()
    knot.close()
sys.exit(rc)
PY
