"""docs/openapi/lukhas-openai.yaml is what the app serves; regenerate with `make openapi`."""

from __future__ import annotations

from pathlib import Path

from app.openapi import openapi_document, render

DOC = Path(__file__).resolve().parents[1] / "docs" / "openapi" / "lukhas-openai.yaml"


def test_openapi_file_matches_the_app() -> None:
    assert DOC.read_text() == render(openapi_document()), "run `make openapi` and commit it"


def test_openapi_lists_the_openai_surfaces() -> None:
    paths = openapi_document()["paths"]
    for path in ("/v1/responses", "/v1/responses/{response_id}",
                 "/v1/responses/{response_id}/input_items", "/v1/chat/completions",
                 "/v1/models", "/v1/models/{model_id}", "/healthz", "/readyz"):
        assert path in paths
