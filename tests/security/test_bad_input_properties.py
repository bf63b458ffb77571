"""Property: whatever value goes into whichever field, path id or query parameter of any API
route, the answer is never a 5xx, and a 4xx is always OpenAI's error envelope.

Bad value classes (NUL, unpaired surrogates, non-finite numbers, integers beyond 2**53 and
beyond 64 bits, runaway nesting) are mixed with ordinary random JSON values and dropped into
one place of a valid request per example. One live server for the module; bounded examples.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.utils.server import start_uvicorn

pytestmark = pytest.mark.security

EXAMPLES_PER_ROUTE = int(os.environ.get("LUKHAS_PROPERTY_EXAMPLES", "40"))
DIMENSIONS = 384  # lukhas-hash-v1's default

# Literals json.dumps cannot write (or will not: 5,000 digits exceed Python's int limit).
RAW_LITERALS = ["1e400", "-1e400", "1" + "0" * 5000, "[" * 300 + "]" * 300]
BAD_CHARS = ["\x00", "\ud800", "\udbff", "\udc00", "\udfff"]
SESSION_ROUTES = ("/v1/responses", "/v1/chat/completions")
# What an HTTP header value can carry at all: Latin-1 bytes but controls (h11 refuses them).
HEADER_TEXT = st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                            exclude_characters="\x7f")


@dataclass(frozen=True)
class Raw:
    literal: str


def bad_text() -> st.SearchStrategy[str]:
    """Ordinary text with a NUL or an unpaired surrogate somewhere in it."""
    return st.builds(lambda a, bad, b: a + bad + b, st.text(max_size=8),
                     st.sampled_from(BAD_CHARS), st.text(max_size=8))


def bad_scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        bad_text(), st.sampled_from([2**53, -(2**53), 2**63, -(2**63) - 1, 2**64]),
        st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e300, -1e300]),
        st.sampled_from([Raw(r) for r in RAW_LITERALS]))


def ordinary() -> st.SearchStrategy[Any]:
    """Any JSON value, nested a little, bad ones included now and then."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                        st.text(max_size=20), bad_scalars())
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=8), bad_text()), inner, max_size=3)),
        max_leaves=6)


def values() -> st.SearchStrategy[Any]:
    """Half of the time a bad value outright, else any JSON value."""
    return st.one_of(bad_scalars(), ordinary())


def dumps(body: Any) -> bytes:
    """JSON text of `body`: lone surrogates escaped, NaN/Infinity literals, Raw as is."""
    raws: list[str] = []

    def swap(v: Any) -> Any:
        if isinstance(v, Raw):
            raws.append(v.literal)
            return f"@@raw{len(raws) - 1}@@"
        if isinstance(v, dict):
            return {k: swap(x) for k, x in v.items()}
        if isinstance(v, list):
            return [swap(x) for x in v]
        return v

    text = json.dumps(swap(body))
    for i, literal in enumerate(raws):
        text = text.replace(f'"@@raw{i}@@"', literal)
    return text.encode()


def places(body: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in `body` a value sits (the first three items of a list only)."""
    found = [at] if at else []
    if isinstance(body, dict):
        for key, value in body.items():
            found += places(value, (*at, key))
    elif isinstance(body, list):
        for i, value in enumerate(body[:3]):
            found += places(value, (*at, i))
    return found


def mutate(body: Any, at: tuple[Any, ...], value: Any, key: str | None) -> Any:
    """`body` with `value` at `at`; with a `key`, under that key instead (where `at` ends
    in an object's member)."""
    out = copy.deepcopy(body)
    parent = out
    for step in at[:-1]:
        parent = parent[step]
    if key is not None and isinstance(parent, dict):
        del parent[at[-1]]
        parent[key] = value
    else:
        parent[at[-1]] = value
    return out


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # "{x}" marks the path id the strategies fill
    body: dict[str, Any] | None = None
    query: tuple[str, ...] = ()
    label: str = ""


def routes(ids: dict[str, str]) -> list[Route]:
    rid, idx, doc = ids["rid"], ids["idx"], ids["doc"]
    vector = [0.25] * DIMENSIONS
    chat = {"model": "lukhas-matriz", "messages": [
        {"role": "system", "content": "s"},
        {"role": "user", "content": [{"type": "text", "text": "hi"}], "name": "n"}],
        "max_tokens": 10, "temperature": 1.0, "top_p": 1.0, "stop": ["x"], "user": "u",
        "seed": 1, "store": True, "n": 1, "response_format": {"type": "text"}, "stream": False,
        "stream_options": {"include_usage": True}}
    return [
        Route("POST", "/v1/responses", {
            "model": "lukhas-matriz", "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
                {"role": "user", "content": "What is 2+2?"}],
            "instructions": "be brief", "previous_response_id": rid, "max_output_tokens": 50,
            "temperature": 1.0, "top_p": 1.0, "metadata": {"k": "v"}, "user": "u",
            "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
            "text": {"format": {"type": "text"}}, "truncation": "auto", "store": True,
            "stream": False}),
        Route("POST", "/v1/chat/completions", chat),
        Route("POST", "/v1/embeddings", {"model": "lukhas-hash-v1", "input": ["a", "b"],
                                         "dimensions": 8, "encoding_format": "float"}),
        Route("POST", "/v1/indexes", {"name": "prop", "model": "lukhas-hash-v1",
                                      "metric": "cosine"}),
        Route("POST", f"/v1/indexes/{idx}/documents", {"documents": [
            {"text": "a document", "vector": vector, "metadata": {"k": "v", "n": {"a": [1]}},
             "tags": ["t"], "lane": "default", "fold": "f",
             "expires_at": "2100-01-01T00:00:00Z"}]}),
        Route("POST", f"/v1/indexes/{idx}/search", {
            "query": vector, "top_k": 3, "ef_search": 40, "filters": {
                "lane": "default", "fold": "f", "tags": ["t"], "metadata": {"k": "v"}}}),
        Route("POST", f"/v1/indexes/{idx}/search", {"query": "a document"}, label="text"),
        Route("POST", "/v1/identity/tokens", {"realm": "r", "zone": "z", "tier": "T1",
                                              "scopes": ["models.read"], "ttl_seconds": 60}),
        Route("POST", "/v1/identity/revoke", {"jti": "0" * 32, "expires_at": 2_000_000_000}),
        Route("GET", "/v1/responses/{x}", query=("stream", "starting_after", "include[]")),
        Route("GET", "/v1/responses/{x}/input_items", query=("after", "limit", "order")),
        Route("DELETE", "/v1/responses/{x}"),
        Route("GET", "/v1/indexes", query=("after", "before", "limit", "order")),
        Route("GET", "/v1/indexes/{x}/documents", query=("after", "before", "limit", "order")),
        Route("DELETE", f"/v1/indexes/{idx}/documents/{{x}}"),
        Route("DELETE", f"/v1/indexes/{{x}}/documents/{doc}"),
        Route("GET", "/v1/indexes/{x}"),
        Route("DELETE", "/v1/indexes/{x}"),
        Route("GET", "/v1/models/{x}"),
        Route("DELETE", "/v1/identity/memory", query=("subject",)),
    ]


ROUTE_LABELS = [f"{r.method} {r.path} {r.label}".strip()
                for r in routes({"rid": "{rid}", "idx": "{idx}", "doc": "{doc}"})]
KEY = "lk-test-bad-input-0123456789abcd"
# The identity routes allow 60 calls a minute; the examples need more.
LIMITS = "window_seconds: 60\ndefault:\n  requests: 1000000\n  tokens: 1000000000\n"


@pytest.fixture(scope="module")
def http(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A live server of the module's own (its own key and rate limits), and a client on it."""
    data_dir = tmp_path_factory.mktemp("bad-input-properties")
    (data_dir / "limits.yaml").write_text(LIMITS)
    env = {"LUKHAS_DATABASE_URL": pg_url, "LUKHAS_API_KEYS": KEY,
           "LUKHAS_DATA_DIR": str(data_dir), "LUKHAS_LOG_LEVEL": "critical",
           "LUKHAS_RATE_LIMITS_FILE": str(data_dir / "limits.yaml")}
    server = start_uvicorn(env, data_dir / "server.log")
    try:
        with httpx.Client(base_url=server.base_url, timeout=30,
                          headers={"Authorization": f"Bearer {KEY}"}) as client:
            yield client
    finally:
        server.stop()


@pytest.fixture(scope="module")
def ids(http: httpx.Client) -> dict[str, str]:
    rid = http.post("/v1/responses", json={"model": "lukhas-matriz", "input": "hi"}).json()["id"]
    idx = http.post("/v1/indexes", json={"name": "bad-input-properties",
                                         "model": "lukhas-hash-v1"}).json()["id"]
    added = http.post(f"/v1/indexes/{idx}/documents", json={"documents": [{"text": "kept"}]})
    by_metric = {metric: http.post("/v1/indexes", json={
        "name": f"bad-input-{metric}", "model": "lukhas-hash-v1", "metric": metric}).json()["id"]
        for metric in ("l2", "inner_product")}
    return {"rid": rid, "idx": idx, "doc": added.json()["data"][0]["id"], "cosine": idx,
            **by_metric}


def check(resp: httpx.Response) -> None:
    assert resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        assert resp.headers["content-type"].startswith("application/json")
        error = resp.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert isinstance(error["message"], str) and error["message"]
        assert error["type"] == "invalid_request_error" or resp.status_code == 429
        assert error["param"] is None or isinstance(error["param"], str)
    elif "json" in resp.headers.get("content-type", ""):
        resp.json()  # what we answer is JSON


def path_value() -> st.SearchStrategy[str]:
    """A path id or query value: ids as they look, random text, bad characters, numbers."""
    return st.one_of(
        st.sampled_from(["resp_0", "idx_0", "mem_0", "lukhas-matriz", "", "..", "%"]),
        st.text(max_size=30), bad_text(), st.sampled_from(["\x00", "idx_\x00"]),
        st.integers().map(str),
        st.sampled_from(["9223372036854775808", "-1", "0", "1e400", "NaN", "x" * 4000]))


SETTINGS = settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("n", range(len(ROUTE_LABELS)), ids=ROUTE_LABELS)
@SETTINGS
@given(data=st.data())
def test_no_value_gives_a_5xx(http: httpx.Client, ids: dict[str, str], n: int,
                              data: st.DataObject) -> None:
    route = routes(ids)[n]
    if route.body is not None:
        # One place of an otherwise valid body gets a new value (or a new key for it): the
        # rest stays valid, so the value travels as far into the service as it can.
        at = data.draw(st.sampled_from(places(route.body)), label="at")
        value = data.draw(values(), label="value")
        key = data.draw(st.none() | st.text(max_size=8) | bad_text(), label="key")
        sent = dumps(mutate(route.body, at, value, key))
        headers: dict[str, str | bytes] = {"content-type": "application/json"}
        if route.path in SESSION_ROUTES:  # the session header reaches the session store
            # A header value cannot begin or end with white space (RFC 9110 §5.5): the client
            # would refuse to send it, so no such value is drawn.
            session = data.draw(st.none() | st.text(HEADER_TEXT, max_size=140).map(
                lambda v: v.strip(" \t")), label="session")
            if session is not None:
                headers["x-lukhas-session"] = session.encode("latin-1")
        check(http.request(route.method, route.path, content=sent, headers=headers))
        return
    x = data.draw(path_value(), label="path id")
    # The route's own query parameters, and unknown ones.
    names = st.sampled_from(route.query) | path_value() if route.query else path_value()
    params = data.draw(st.dictionaries(names, path_value(), max_size=3), label="query")
    # An empty id stands for a real one (never for one a DELETE would remove).
    ident = ("missing" if route.method == "DELETE"
             else ids["rid"] if "responses" in route.path else ids["idx"])
    path = route.path.replace("{x}", quote(x, safe="", errors="surrogatepass") or ident)
    query = "&".join(f"{quote(k, errors='surrogatepass')}="
                     f"{quote(v, safe='', errors='surrogatepass')}" for k, v in params.items())
    check(http.request(route.method, path + (f"?{query}" if query else "")))


def vectors() -> st.SearchStrategy[list[Any]]:
    """A vector of the index's dimension: one component anything (huge, tiny, non-finite,
    not a number at all), or every component the same float (zero included)."""
    extremes = st.sampled_from([1e16, -1e16, 1.0000001e16, 1e19, 3e38, 3.5e38, -3.5e38,
                                1.7976931348623157e308, 5e-324, 1e-46, 0.0])
    component = st.one_of(st.floats(), extremes, values())
    one = st.builds(lambda i, v: [*[0.25] * i, v, *[0.25] * (DIMENSIONS - i - 1)],
                    st.integers(0, DIMENSIONS - 1), component)
    same = st.builds(lambda v: [v] * DIMENSIONS, st.one_of(st.floats(), extremes))
    return st.one_of(one, same)


@pytest.mark.parametrize("metric", ["cosine", "l2", "inner_product"])
@pytest.mark.parametrize("where", ["documents", "search"])
@SETTINGS
@given(vector=vectors())
def test_no_vector_gives_a_5xx(http: httpx.Client, ids: dict[str, str], metric: str,
                               where: str, vector: list[Any]) -> None:
    body = ({"documents": [{"text": "a vector", "vector": vector}]} if where == "documents"
            else {"query": vector})
    resp = http.post(f"/v1/indexes/{ids[metric]}/{where}", content=dumps(body),
                     headers={"content-type": "application/json"})
    check(resp)
    if where == "search" and resp.status_code == 200:
        # A NaN or infinite score (a zero vector under cosine, a distance past float32)
        # would be written as null.
        assert all(isinstance(hit["score"], float) for hit in resp.json()["data"])
