"""The upstream provider: routed model groups answered by OpenAI-compatible servers.

call.py (what a service prepared for one request: its route and the upstream's parameters)
→ provider.py (runs the route's plan: retries, backoff, fallbacks, cooldowns, one deadline)
over clients.py (one pooled aiohttp session per upstream); reader.py reads a chat-completions
stream (with sse.py, the incremental SSE parser), responses_api.py calls and reads an
upstream speaking `/v1/responses`; translate.py turns our requests into chat-completions
parameters and messages; errors.py holds what reaches the caller. Docs: docs/routing.md.
"""
