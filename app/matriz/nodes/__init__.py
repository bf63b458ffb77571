"""The deterministic built-in reasoner of `lukhas-matriz`: arithmetic, recall, validation."""

from app.matriz.nodes.reasoner import reason
from app.matriz.nodes.types import Answer

__all__ = ["Answer", "reason"]
