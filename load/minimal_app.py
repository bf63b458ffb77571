"""The baseline: a minimal FastAPI endpoint returning a fixed body of a given size.

`LOAD_BODY_BYTES` sets the size, so it matches a real `/v1/responses` answer byte for byte in
length. Run: `uvicorn load.minimal_app:app --port 8101`.
"""

from __future__ import annotations

import os

from fastapi import FastAPI, Request
from fastapi.responses import Response

app = FastAPI()
_SIZE = int(os.environ.get("LOAD_BODY_BYTES", "1500"))
_BODY = b'{"pad":"' + b"x" * max(0, _SIZE - 10) + b'"}'


@app.post("/v1/responses")
async def minimal(request: Request) -> Response:
    await request.body()
    return Response(_BODY, media_type="application/json")
