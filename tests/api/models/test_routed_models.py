"""`/v1/models` with a routing file: each tier sees the groups it may use, and reloads show."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import openai

from tests.conftest import KEY_A
from tests.routing.callers import routed_app, tier_headers
from tests.routing.files import base, write

BUILTIN = {"lukhas-matriz"}


def routing() -> dict[str, Any]:
    """The tests' file: `chat` for T2 and T3 only, an id with a slash, owners of their own."""
    data = base()
    data["groups"]["chat"]["owned_by"] = "acme"
    data["groups"]["big"]["owned_by"] = "openai"
    data["groups"]["org/model-x"] = {"context_window_tokens": 8192, "tiers": ["T3"],
                                     "deployments": [{"upstream": "a", "model": "x"}]}
    data["aliases"]["x"] = "org/model-x"
    return data


def ids(listing: dict[str, Any]) -> list[str]:
    return [m["id"] for m in listing["data"]]


async def listing(client: httpx.AsyncClient, headers: dict[str, str] | None = None
                  ) -> dict[str, Any]:
    resp = await client.get("/v1/models", headers=headers)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def test_each_tier_lists_the_groups_it_may_use(pg_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "routing.yml", routing())
    async with routed_app(pg_url, tmp_path, path) as admin:
        t1, t2 = await tier_headers(admin, "T1"), await tier_headers(admin, "T2")
        builtin = [m for m in (await listing(admin))["data"]
                   if m["id"] not in {"chat", "big", "small", "org/model-x", "chat-latest", "x"}]
        assert {m["id"] for m in builtin} >= BUILTIN
        routed = {
            "T1": ["big", "small"],
            "T2": ["chat", "big", "small", "chat-latest"],
            "T3": ["chat", "big", "small", "org/model-x", "chat-latest", "x"],
        }
        for tier, headers in (("T1", t1), ("T2", t2), ("T3", None)):
            body = await listing(admin, headers)
            assert body["object"] == "list"
            # The built-in models first, as without a routing file, then groups, then aliases.
            assert body["data"][:len(builtin)] == builtin, tier
            assert ids(body)[len(builtin):] == routed[tier], tier
        entries = {m["id"]: m for m in (await listing(admin))["data"]}
        for model_id, owner, window in (("chat", "acme", 32000), ("chat-latest", "acme", 32000),
                                        ("big", "openai", 128000), ("small", "lukhas", 8000),
                                        ("x", "lukhas", 8192)):
            entry = entries[model_id]
            assert set(entry) == {"id", "object", "created", "owned_by", "context_window"}
            assert (entry["object"], entry["owned_by"]) == ("model", owner)
            assert entry["context_window"] == window
            assert isinstance(entry["created"], int) and entry["created"] > 1_700_000_000
        one = await admin.get("/v1/models/org/model-x")  # an id with a slash
        assert one.status_code == 200 and one.json() == entries["org/model-x"]
        assert (await admin.get("/v1/models/chat-latest", headers=t2)).json() == {
            **entries["chat-latest"]}


async def test_a_hidden_group_is_the_same_404_as_a_missing_one(pg_url: str,
                                                               tmp_path: Path) -> None:
    path = write(tmp_path / "routing.yml", routing())
    async with routed_app(pg_url, tmp_path, path) as admin:
        t1, t2 = await tier_headers(admin, "T1"), await tier_headers(admin, "T2")
        for headers, hidden in ((t1, "chat"), (t1, "chat-latest"), (t2, "org/model-x"),
                                (t2, "x")):
            seen = await admin.get(f"/v1/models/{hidden}", headers=headers)
            missing = await admin.get("/v1/models/no-such-model", headers=headers)
            assert (seen.status_code, missing.status_code) == (404, 404)
            assert seen.json()["error"] == {
                **missing.json()["error"],
                "message": missing.json()["error"]["message"].replace("no-such-model", hidden)}
            assert seen.json()["error"]["code"] == "model_not_found"
            assert set(seen.headers) == set(missing.headers)
        for model_id in ("chat", "chat-latest", "big"):
            assert (await admin.get(f"/v1/models/{model_id}", headers=t2)).status_code == 200


async def test_the_list_follows_a_hot_reload(pg_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "routing.yml", routing())
    async with routed_app(pg_url, tmp_path, path) as admin:
        t1 = await tier_headers(admin, "T1")
        before = await listing(admin)
        created = {m["id"]: m["created"] for m in before["data"]}
        edited = routing()
        del edited["groups"]["small"]
        edited["groups"]["chat"]["tiers"] = ["T1", "T2", "T3"]
        edited["groups"]["big"]["owned_by"] = "big-co"
        edited["groups"]["new"] = {"context_window_tokens": 8192,
                                   "deployments": [{"upstream": "b", "model": "n"}]}
        write(path, edited)
        for _ in range(200):  # a liveness bound (10 s), not a timing assertion
            after = await listing(admin)
            if "new" in ids(after):
                break
            await asyncio.sleep(0.05)
        assert ids(after)[-6:] == ["chat", "big", "org/model-x", "new", "chat-latest", "x"]
        assert {m["id"]: m["owned_by"] for m in after["data"]}["big"] == "big-co"
        # An id that stayed keeps its `created`.
        assert {m["id"]: m["created"] for m in after["data"]}["big"] == created["big"]
        assert (await admin.get("/v1/models/small")).status_code == 404
        assert "chat" in ids(await listing(admin, t1))  # the tier's view was rebuilt too
        assert (await admin.get("/v1/models/chat", headers=t1)).status_code == 200


async def test_without_a_routing_file_only_the_builtin_models(pg_url: str,
                                                              tmp_path: Path) -> None:
    async with routed_app(pg_url, tmp_path, None) as admin:
        t1 = await tier_headers(admin, "T1")
        state = admin.app.state.lukhas  # type: ignore[attr-defined]
        cards = [*state.registry.cards(), *state.embedding_models.cards()]
        expected = [{"id": c.id, "object": "model", "created": c.created,
                     "owned_by": c.owned_by, "context_window": c.context_window} for c in cards]
        assert await listing(admin) == {"object": "list", "data": expected}
        assert await listing(admin, t1) == {"object": "list", "data": expected}
        assert (await admin.get("/v1/models/chat")).json()["error"]["code"] == "model_not_found"


async def test_the_openai_sdk_lists_the_groups(pg_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "routing.yml", routing())
    async with routed_app(pg_url, tmp_path, path) as http:
        sdk = openai.AsyncOpenAI(base_url="http://lukhas.test/v1", api_key=KEY_A,
                                 http_client=http, max_retries=0)
        models = [m async for m in sdk.models.list()]
        by_id = {m.id: m for m in models}
        assert {"lukhas-matriz", "chat", "big", "small", "org/model-x", "chat-latest",
                "x"} <= set(by_id)
        assert by_id["chat"].owned_by == "acme" and by_id["chat"].object == "model"
        assert (await sdk.models.retrieve("chat-latest")).owned_by == "acme"
        t1 = openai.AsyncOpenAI(base_url="http://lukhas.test/v1", http_client=http,
                                api_key=(await tier_headers(http, "T1"))["Authorization"][7:],
                                max_retries=0)
        assert "chat" not in {m.id async for m in t1.models.list()}
        try:
            await t1.models.retrieve("chat")
        except openai.NotFoundError as exc:
            assert exc.code == "model_not_found"
        else:
            raise AssertionError("a T1 caller retrieved a T2 group")
