"""docs/openapi/lukhas-openai.yaml is what the app serves; regenerate with `make openapi`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from app.openapi import openapi_document, render

DOC = Path(__file__).resolve().parents[1] / "docs" / "openapi" / "lukhas-openai.yaml"


def test_openapi_file_matches_the_app() -> None:
    assert DOC.read_text() == render(openapi_document()), "run `make openapi` and commit it"
    assert "&id0" not in DOC.read_text(), "no YAML anchors: each part written where it is"


def test_openapi_lists_the_openai_surfaces() -> None:
    paths = openapi_document()["paths"]
    for path in ("/v1/responses", "/v1/responses/{response_id}",
                 "/v1/responses/{response_id}/input_items", "/v1/chat/completions",
                 "/v1/models", "/v1/models/{model_id}", "/healthz", "/readyz"):
        assert path in paths


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in openapi_document()["paths"].items()
            for method, op in item.items() if not method.startswith("x-")]


def test_every_answer_has_a_real_schema() -> None:
    schemas = openapi_document()["components"]["schemas"]
    for path, method, op in operations():
        assert "200" in op["responses"], (method, path)
        for status, answer in op["responses"].items():
            schema = answer["content"]["application/json"]["schema"]
            ref = schema.get("$ref", "")
            assert ref.startswith("#/components/schemas/"), (method, path, status, schema)
            assert schemas[ref.rsplit("/", 1)[1]]["properties"], (method, path, status)
            # The probes' 503s carry their checks beside the envelope.
            if status != "200" and not (path in ("/healthz", "/readyz") and status == "503"):
                assert ref == "#/components/schemas/ErrorEnvelope", (method, path, status)


def test_no_422_anywhere() -> None:
    """Validation errors are 400s; FastAPI's 422 and its schemas are not in the document."""
    document = openapi_document()
    assert "422" not in str(document)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_the_errors_the_service_gives_are_documented() -> None:
    for path, method, op in operations():
        statuses = set(op["responses"])
        assert {"405", "408", "413", "431"} <= statuses, (method, path)
        if path.startswith("/v1/"):
            assert {"401", "403", "429", "503"} <= statuses, (method, path)
            assert op["security"] == [{"apiKey": []}, {"lidToken": []}]
            if "{" in path:
                assert "404" in statuses
    create = openapi_document()["paths"]["/v1/responses"]["post"]["responses"]
    assert {"400", "404"} <= set(create)
    assert "retry-after" in create["429"]["headers"]
    assert "x-ratelimit-remaining-requests" in create["200"]["headers"]
    for path, method, op in operations():
        for status, answer in op["responses"].items():
            assert "x-request-id" in answer["headers"], (method, path, status)
    assert "x-should-retry" in create["503"]["headers"]


def test_bearer_credentials_are_declared() -> None:
    schemes = openapi_document()["components"]["securitySchemes"]
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "http", "scheme": "bearer"}
    assert schemes["lidToken"]["scheme"] == "bearer"
    assert schemes["lidToken"]["bearerFormat"] == "JWT"


def test_streamed_answers_are_event_streams() -> None:
    paths = openapi_document()["paths"]
    for path, method in (("/v1/responses", "post"), ("/v1/chat/completions", "post"),
                         ("/v1/responses/{response_id}", "get")):
        content = paths[path][method]["responses"]["200"]["content"]
        assert set(content) == {"application/json", "text/event-stream"}
    assert paths["/v1/responses"]["post"]["responses"]["200"]["content"]["application/json"][
        "schema"] == {"$ref": "#/components/schemas/ResponseObject"}


async def test_the_app_serves_the_same_document(app_client: httpx.AsyncClient) -> None:
    resp = await app_client.get("/openapi.json")
    assert resp.status_code == 200
    assert resp.json() == openapi_document()


def test_the_responses_websocket_is_described() -> None:
    document = openapi_document()
    socket = document["paths"]["/v1/responses"]["x-openresponses-websocket"]
    schemas = document["components"]["schemas"]
    for message in ("clientMessage", "errorMessage"):
        assert socket[message]["$ref"].rsplit("/", 1)[1] in schemas
    create = schemas["ResponseCreateEvent"]["allOf"]
    assert {"$ref": "#/components/schemas/ResponseCreateRequest"} in create
    assert schemas["SocketErrorEvent"]["required"] == ["type", "status", "error"]
