"""How well, and how fast, the built-in model matches questions to function tools.

For each served embedding model, prints the similarity (`app.matriz.tools.match`) of
questions that ask for one of six tools, in other words than the tool's, and of questions
that ask for none, against that model's threshold: the lowest score of a question to its own
tool, the highest of a question to any other tool or of an unrelated question, the matches
missed and the false matches. Then the median time of scoring one question against the six
tools (their embeddings cached, as in the service), and of filling the arguments.

Usage: python bench/tool_match.py [RUNS]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from app.embeddings.base import Embedder, Vectors
from app.embeddings.hashing import HashingEmbedder
from app.embeddings.minilm import MiniLMEmbedder, available
from app.matriz.tools.match import ToolMatcher
from app.matriz.tools.plan import responses_plan
from app.matriz.tools.slots import fill
from bench.timing import median_ms


def _tool(name: str, description: str, *properties: str) -> dict[str, object]:
    return {"type": "function", "name": name, "description": description, "parameters": {
        "type": "object", "properties": {p: {"type": "string"} for p in properties},
        "required": list(properties)}}


TOOLS = [
    _tool("get_weather", "Get the current weather in a given city", "city"),
    _tool("send_email", "Send an email to a recipient", "to", "body"),
    _tool("convert_currency", "Convert an amount of money from one currency to another",
          "from_currency", "to_currency"),
    _tool("lookup_order", "Look up an order by its number", "order_id"),
    _tool("get_stock_price", "Get the latest price of a stock ticker", "ticker"),
    _tool("search_docs", "Search the product documentation", "query"),
]
ASKED = [  # (question, the tool it asks for)
    ("What's the weather in Paris?", "get_weather"),
    ("How warm is it in Berlin today?", "get_weather"),
    ("Is it raining in London?", "get_weather"),
    ("Will I need an umbrella in Dublin?", "get_weather"),
    ("Email bob@example.com saying the build is green", "send_email"),
    ("Let ann@example.org know the meeting moved", "send_email"),
    ("Convert 100 USD to EUR", "convert_currency"),
    ("How many yen is 50 GBP?", "convert_currency"),
    ("Where is my order 12345?", "lookup_order"),
    ("Has order A-778 shipped yet?", "lookup_order"),
    ("What is AAPL trading at?", "get_stock_price"),
    ("Find the docs about rate limits", "search_docs"),
]
UNRELATED = ["What is 2+2?", "What is my name?", "My name is Ada.", "Hello there.",
             "I live in Paris.", "What is the launch code?", "Tell me a joke",
             "Compute (17*3)-4"]


async def report(embedder: Embedder, runs: int) -> None:
    async def embed(texts: list[str]) -> Vectors:
        return embedder.embed(texts)

    matcher = ToolMatcher(embedder.id, embed)
    plan = responses_plan("lukhas-matriz", TOOLS, None, None, None)
    assert plan is not None
    names = [t.name for t in plan.tools]
    own, other, missed, false = [], [], 0, 0
    for question, wanted in ASKED:
        scores = await matcher.scores(question, plan.tools)
        mine = scores[names.index(wanted)]
        own.append(mine)
        missed += mine < matcher.threshold
        rest = [s for n, s in zip(names, scores, strict=True) if n != wanted]
        other += rest
        false += sum(s >= matcher.threshold for s in rest)
    for question in UNRELATED:
        scores = await matcher.scores(question, plan.tools)
        other += scores
        false += sum(s >= matcher.threshold for s in scores)
    print(f"{embedder.id:<18} threshold {matcher.threshold:.2f}  own tool: min "
          f"{min(own):.2f} median {statistics.median(own):.2f}  others: max {max(other):.2f}"
          f"  missed {missed}/{len(ASKED)}  false matches {false}/{len(other)}")
    loop_runs = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await matcher.scores("What's the weather in Paris?", plan.tools)
        loop_runs.append(time.perf_counter() - t0)
    print(f"{'':<18} scoring one question against 6 cached tools: median "
          f"{statistics.median(loop_runs) * 1000:.2f} ms")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    embedders: list[Embedder] = [HashingEmbedder()]
    if available():
        embedders.insert(0, MiniLMEmbedder())
        embedders[0].embed(["warm up"])  # load the model before timing
    for embedder in embedders:
        asyncio.run(report(embedder, runs))
    schema = TOOLS[0]["parameters"]
    assert isinstance(schema, dict)
    filled = median_ms(lambda: fill(schema, "What's the weather in San Francisco, CA?"), runs)
    print(f"slot filling (get_weather): median {filled:.3f} ms")


if __name__ == "__main__":
    main()
