"""The control plane's handlers against its committed OpenAPI document
(Sources/ControlPlane/openapi.yaml): the document is valid OpenAPI 3.1, the
server serves the same document, and the JSON of every REST call (successes and
errors) validates against the schema the document gives for that path, method
and status.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import harness
from harness import LOOPBACK

try:
    import yaml
    from openapi_schema_validator import OAS31Validator
    from openapi_spec_validator import validate as validate_spec
except ImportError:  # pragma: no cover
    yaml = None

SPEC_PATH = Path(__file__).resolve().parents[2] / "Sources" / "ControlPlane" / "openapi.yaml"
KEY = "PytestOpenAPIAdminKey0000000000000000001"
READER = "PytestOpenAPIReaderKey000000000000000002"


def _require():
    if yaml is None:
        msg = "openapi-spec-validator / PyYAML not installed (scripts/install-deps installs them)"
        if harness.ON_CI:
            pytest.fail(f"CI=true and {msg}", pytrace=False)
        pytest.skip(msg)


@pytest.fixture(scope="module")
def spec():
    _require()
    doc = yaml.safe_load(SPEC_PATH.read_text())
    validate_spec(doc)
    return doc


def call(base, method, path, body=None, key=KEY):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode())
    if key:
        req.add_header("Authorization", key)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def check(spec, template, method, status, raw):
    """Validates a reply against the document's schema for it; fails when the document has none."""
    op = spec["paths"][template][method.lower()]
    resp = op["responses"].get(str(status))
    assert resp is not None, f"{method} {template}: status {status} is not in the document"
    if "$ref" in resp:
        resp = spec["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]]
    schema = resp["content"]["application/json"]["schema"]
    OAS31Validator({**schema, "components": spec["components"]}).validate(json.loads(raw))


def test_document_is_valid_and_served(spec, bulwark_factory, knot, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f'intel:\n  keys:\n    - {{name: t, org: T, role: admin, key: "{KEY}"}}\n    - {{name: r, org: R, role: reader, key: "{READER}"}}\n')
    b = bulwark_factory([f"{LOOPBACK}:{knot.port}"], config=cfg.read_text())
    base = f"http://{LOOPBACK}:{b.metrics_port}"
    status, raw = call(base, "GET", "/api/v1/openapi.yaml", key=None)
    assert status == 200 and yaml.safe_load(raw) == spec

    # Successes.
    status, raw = call(base, "POST", "/api/v1/indicators", {"value": f"openapi.{harness.ZONE}".rstrip("."), "category": "phishing", "comment": "t"})
    check(spec, "/api/v1/indicators", "POST", status, raw)
    assert status == 201
    ind = json.loads(raw)
    for template, path in (
        ("/api/v1/indicators", "/api/v1/indicators?limit=5"),
        ("/api/v1/indicators/{id}", f"/api/v1/indicators/{ind['id']}"),
        ("/api/v1/explain", f"/api/v1/explain?name=www.{ind['value']}"),
        ("/api/v1/sources", "/api/v1/sources"),
    ):
        status, raw = call(base, "GET", path)
        assert status == 200, (path, raw)
        check(spec, template, "GET", status, raw)
    status, raw = call(base, "POST", f"/api/v1/indicators/{ind['id']}/false-positive", {"comment": "our own site"})
    check(spec, "/api/v1/indicators/{id}/false-positive", "POST", status, raw)
    assert json.loads(raw)["state"] == "suppressed"
    status, raw = call(base, "DELETE", f"/api/v1/indicators/{ind['id']}")
    check(spec, "/api/v1/indicators/{id}", "DELETE", status, raw)
    for template, path in (("/servers/getVersion", "/servers/getVersion"), ("/users/view/me", "/users/view/me")):
        status, raw = call(base, "GET", path)
        check(spec, template, "GET", status, raw)

    # Errors, in the documented shape and status.
    for method, template, path, body, key, want in (
        ("GET", "/api/v1/explain", "/api/v1/explain", None, KEY, 400),
        ("GET", "/api/v1/explain", "/api/v1/explain?name=x.example", None, None, 401),
        ("GET", "/api/v1/explain", "/api/v1/explain?name=x.example", None, "W" * 40, 403),
        ("GET", "/api/v1/indicators", "/api/v1/indicators?state=bogus", None, KEY, 400),
        ("GET", "/api/v1/indicators", "/api/v1/indicators?source=nope", None, KEY, 404),
        ("POST", "/api/v1/indicators", "/api/v1/indicators", {"value": "no such thing!"}, KEY, 400),
        ("POST", "/api/v1/indicators", "/api/v1/indicators", {"value": "r.example"}, READER, 403),
        ("GET", "/api/v1/indicators/{id}", "/api/v1/indicators/999999", None, KEY, 404),
        ("POST", "/api/v1/sources/{name}/run", "/api/v1/sources/nope/run", None, KEY, 404),
        ("POST", "/api/v1/sources/{name}/run", "/api/v1/sources/nope/run", None, READER, 403),
    ):
        status, raw = call(base, method, path, body, key)
        assert status == want, (method, path, status, raw)
        check(spec, template, method, status, raw)
