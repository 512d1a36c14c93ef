"""Schemathesis against the served v5 OpenAPI document: no 5xx, no response that breaks the document.

The gateway runs as a real `emqgw serve` process; the document is the one it serves, generated from the
route table it routes with.
"""

import base64
import os
import subprocess
import sys

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.serve_helpers import ROOT, listening_lines, port_of


@pytest.fixture(scope="module")
def v5_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("st")
    created = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "apikeys", "create", "fuzz", "--data-dir", str(data)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fields = dict(line.split(":", 1) for line in created.splitlines() if ":" in line)
    key, secret = fields["api_key"].strip(), fields["api_secret"].strip()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "serve",
            "--data-dir",
            str(data),
            "--http-port",
            "0",
            "--v2-port",
            "off",
            "--v4-port",
            "off",
            "--mqtt-port",
            "0",
            "--ws-port",
            "off",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = listening_lines(proc, 2)
        base = f"http://127.0.0.1:{port_of(lines, 'listening: http')}"
        auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}
        yield base, auth
    finally:
        proc.terminate()
        proc.wait(10)


EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))


def test_v5_document_holds(v5_server):
    """Every operation of the document, fuzzed: no 5xx, every response valid against the document."""
    base, auth = v5_server
    schema = schemathesis.openapi.from_url(base + "/api-docs/swagger.json")
    session = requests.Session()
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        op = result.ok()
        operations += 1

        @hypothesis.settings(
            max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(hypothesis.HealthCheck)
        )
        @hypothesis.given(case=op.as_strategy())
        def exercise(case):
            case.call_and_validate(
                base_url=base, headers=auth, session=session, checks=[not_a_server_error, response_schema_conformance]
            )

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as e:  # collect them all: one report for the document
            failures.append(f"{op.method.upper()} {op.path}: " + " / ".join(str(e).splitlines()[2:6]))
    assert operations > 40
    assert not failures, "\n".join(failures)
