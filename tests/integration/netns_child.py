"""Run inside `unshare --net --mount` by test_ops.py: a private network
namespace with only loopback, so a Bulwark that reads /etc/resolv.conf can
send nothing off this machine.

usage: netns_child.py MODE BULWARK_BIN KNOTD OUT_JSON
  MODE=knot: bind-mount a resolv.conf naming 127.0.0.1 over /etc/resolv.conf,
             run knotd on 127.0.0.1@53, expect Bulwark to answer from it.
  MODE=bare: keep the machine's /etc/resolv.conf (unreachable in here) and
             check Bulwark starts and answers something without crashing.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dns.rcode  # noqa: E402

import harness  # noqa: E402


def main() -> int:
    mode, bulwark_bin, knotd, out_path = sys.argv[1:5]
    result: dict = {"mode": mode}
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    knot = None
    b = None
    try:
        if mode == "knot":
            d = Path(out_path).parent  # the caller's temp dir, removed by the caller
            (d / "resolv.conf").write_text("# test\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
            subprocess.run(["mount", "--bind", str(d / "resolv.conf"), "/etc/resolv.conf"], check=True, timeout=10)
            knot = harness.Knot(knotd, None, port=53).start()
        b = harness.Bulwark(Path(bulwark_bin), None)
        try:
            b.start(timeout=30)
            result["started"] = True
        except Exception as e:  # noqa: BLE001
            result["started"] = False
            result["start_error"] = repr(e)
        if result["started"]:
            try:
                r = harness.udp(harness.make_query(f"www.{harness.ZONE}", "A"), b.port, timeout=10)
                result["rcode"] = dns.rcode.to_text(r.rcode())
                result["answer"] = sorted(rd.to_text() for rrset in r.answer for rd in rrset)
            except Exception as e:  # noqa: BLE001
                result["query_error"] = repr(e)
            time.sleep(0.2)
            result["alive_after_query"] = b.alive()
    finally:
        if b is not None:
            result["exit_code"] = b.stop()
            result["log"] = b.log_path.read_text(errors="replace")[-6000:] if b.log_path.exists() else ""
            b.close()
        if knot is not None:
            knot.close()
        Path(out_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
