"""Factories for `/v1/indexes`: an index of the caller's with documents in it."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

HANDBOOK = [
    {"text": "Refunds are accepted within 30 days of purchase for online orders. "
             "Store purchases can be returned at any branch.",
     "metadata": {"filename": "handbook.md", "year": 2024, "team": "sales"}},
    {"text": "Staff park in lot B behind the office. Visitors use the front entrance.",
     "metadata": {"filename": "facilities.md", "year": 2022, "team": "ops"}},
    {"text": "The office opens at 9am and closes at 6pm on weekdays.",
     "metadata": {"filename": "hours.md", "year": 2023, "team": "ops", "public": True}},
]


async def make_index(http: httpx.AsyncClient, name: str,
                     documents: list[dict[str, Any]] | None = None,
                     headers: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """An index (hashing model) holding `documents` (default: HANDBOOK); its id and the
    documents' ids."""
    created = await http.post("/v1/indexes", json=_index(name), headers=headers)
    assert created.status_code == 200, created.text
    index_id = str(created.json()["id"])
    added = await http.post(f"/v1/indexes/{index_id}/documents",
                            json={"documents": HANDBOOK if documents is None else documents},
                            headers=headers)
    assert added.status_code == 200, added.text
    return index_id, [d["id"] for d in added.json()["data"]]


def sync_index(http: httpx.Client, name: str,
               documents: list[dict[str, Any]] | None = None) -> tuple[str, list[str]]:
    """`make_index` for a live server and a blocking client."""
    created = http.post("/v1/indexes", json=_index(name))
    assert created.status_code == 200, created.text
    index_id = str(created.json()["id"])
    added = http.post(f"/v1/indexes/{index_id}/documents",
                      json={"documents": HANDBOOK if documents is None else documents})
    assert added.status_code == 200, added.text
    return index_id, [d["id"] for d in added.json()["data"]]


def _index(name: str) -> dict[str, str]:
    # Names are unique per caller, and callers outlive a test: each index gets its own.
    return {"name": f"{name}-{secrets.token_hex(4)}", "model": "lukhas-hash-v1"}


def file_search(*index_ids: str, **fields: Any) -> dict[str, Any]:
    """A file_search tool over `index_ids`."""
    return {"type": "file_search", "vector_store_ids": list(index_ids), **fields}
