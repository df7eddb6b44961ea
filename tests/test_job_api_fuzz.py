"""The OpenAPI document fuzzed (schemathesis): generated requests for every operation, with a
valid API key, against the API on a real socket with real PostgreSQL; no answer may be a 5xx, and
every answer must match the document (status codes and bodies).

~20 examples per operation keep it within `make test`'s budget; run it harder with
``JOB_API_FUZZ_EXAMPLES=500 pytest tests/test_job_api_fuzz.py``.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from job_api import store
from job_api.app import create_app
from job_api.db import Database
from job_api.kube import Kube
from job_api.settings import Environment
from tests.fake_kube import FakeKube
from tests.job_api_harness import ACCOUNT, ApiServer, new_database, postgres_server, settings_dict

EXAMPLES = int(os.environ.get("JOB_API_FUZZ_EXAMPLES", "20"))


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    try:
        server = postgres_server()
        url = server.__enter__()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    path = tmp_path_factory.mktemp("fuzz") / "settings.json"
    path.write_text(json.dumps(settings_dict()))
    db_url = new_database(url, "fuzz")
    env = Environment.from_env(
        {
            "JOB_API_SETTINGS_FILE": str(path),
            "JOB_API_DATABASE_URL": db_url,
            "JOB_API_STS_ENDPOINT": "http://127.0.0.1:9/",  # never reached: no fuzzed request is signed
        }
    )
    with FakeKube(namespaces={"team-training", "team-research"}) as kube:
        db = Database(db_url, max_size=5)
        with ApiServer(create_app(env, db, Kube.connect(kube.url))) as api:
            with psycopg.connect(db_url, autocommit=True) as conn:
                key, _ = store.create_key(
                    conn, f"arn:aws:sts::{ACCOUNT}:assumed-role/GpuDevelopers/fuzz", timedelta(hours=1)
                )
            yield api.url, key
        db.close()
    server.__exit__(None, None, None)


def test_no_server_errors_and_answers_match_the_document(service):
    """Every operation of the served document, fuzzed in turn (schemathesis's own pytest plugin
    relies on pytest internals that pytest 9 no longer has, so its strategies are driven here)."""
    url, key = service
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 7
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def fuzz(case):
            response = case.call(headers={"Authorization": f"Bearer {key}"}, timeout=30)
            case.validate_response(
                response, checks=[not_a_server_error, status_code_conformance, response_schema_conformance]
            )

        fuzz()
