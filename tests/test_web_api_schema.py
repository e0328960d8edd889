"""The OpenAPI document of /api/v1 against the server: schemathesis drives every operation."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from test_web_api import ATTLOG, BUNDLE, token_for

from attendance import create_app
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.ledger import import_file
from attendance.org import load_bundle

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def test_openapi_document_is_public_and_names_every_route(sqlite_url: str) -> None:
    app = create_app({"DATABASE_URL": sqlite_url, "TESTING": True})
    answer = app.test_client().get("/api/v1/openapi.json")
    assert answer.status_code == 200
    document = answer.get_json()
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    served = {(rule.rule.removeprefix("/api/v1").replace("<", "{").replace(">", "}"), method.lower())
              for rule in app.url_map.iter_rules() if rule.endpoint.startswith(("api.", "inspections_api."))
              for method in rule.methods - {"HEAD", "OPTIONS"}} - {("/openapi.json", "get")}
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    assert served == described
    for item in document["paths"].values():
        for operation in item.values():
            assert {"401", "422", "200"} & set(operation["responses"]) or "201" in operation["responses"]
            for status in ("401", "503"):
                assert operation["responses"][status]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"}


@pytest.mark.slow
def test_every_operation_answers_as_described(sqlite_url: str, tmp_path: Path) -> None:
    with transaction() as session:
        load_bundle(session, validate_bundle(copy.deepcopy(BUNDLE)))
        log = tmp_path / "tk1.dat"
        log.write_text(ATTLOG)
        import_file(session, "TK-01", log)
    app = create_app({"DATABASE_URL": sqlite_url, "TESTING": True})
    headers = token_for("root")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.validate()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 24  # 8 of attendance, 13 of spot checks, the monthly report, 2 of discipline
    for operation, mode in itertools.product(operations, (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):

        @settings(max_examples=30, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()
    # A real upload answers as described too (generated bodies are rarely punch logs).
    upload = operation_named(operations, "importFile")
    case = upload.Case(body={"device": "TK-01", "file": ATTLOG.encode()},
                       media_type="multipart/form-data")
    answer = case.call_and_validate(headers=headers, checks=CHECKS)
    assert answer.status_code == 200, answer.text


def operation_named(operations: list[schemathesis.APIOperation], name: str) -> schemathesis.APIOperation:
    """The operation with that operationId."""
    return next(o for o in operations if o.definition.raw.get("operationId") == name)
