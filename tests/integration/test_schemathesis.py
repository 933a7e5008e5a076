"""Schemathesis (PyPI) against the control plane, generated from `openapi.yaml`: every
operation, with valid and invalid data, statefully through the links it infers. No server
error, every status code documented, every response in its schema, invalid requests
rejected, undeclared methods answered 405.

One check is left out: `positive_data_acceptance` (a schema-valid request must be accepted).
The document says what shape a value has; whether a string is a domain name, an address or
an existing tenant is decided by the server (400), as it must be."""

from __future__ import annotations

import shutil
import subprocess

import harness
from harness import LOOPBACK

KEY = "SchemaAdminKey0123456789abcdefghijklmnop"


def test_schemathesis_finds_nothing(bulwark_factory, knot, tmp_path):
    st = shutil.which("st") or shutil.which("schemathesis")
    if not st:
        harness.missing_peer("schemathesis (pip install schemathesis)")
    config = f"""
intel:
  keys:
    - {{name: admin, org: CERT, role: admin, key: "{KEY}"}}
tenants:
  - {{name: gov, parent: protective, categories: [adult]}}
"""
    b = bulwark_factory([f"{LOOPBACK}:{knot.port}"], config=config)
    spec = harness.REPO_ROOT / "Sources" / "ControlPlane" / "openapi.yaml"
    out = subprocess.run(
        [st, "run", str(spec), "--url", f"http://{LOOPBACK}:{b.metrics_port}", "-H", f"Authorization: {KEY}",
         "--checks", "all", "--exclude-checks", "positive_data_acceptance", "--max-examples", "25", "--seed", "20261202",
         "--workers", "1", "--no-color"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-15000:] + out.stderr[-3000:]
    assert b.alive()
