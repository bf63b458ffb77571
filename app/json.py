"""JSON responses serialised with orjson (faster, exact for floats, and NumPy arrays as lists)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse as _StarletteJSON


class JSONResponse(_StarletteJSON):
    """`application/json` rendered by orjson."""

    def render(self, content: Any) -> bytes:
        """Serialise `content`."""
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
