"""A compiled set of the Guardian's screen (RE2's or Hyperscan's) whose passes are kept."""

from __future__ import annotations


class CountingSet:
    """Wraps a screen's compiled set: each pass's bytes are appended to `passes`."""

    def __init__(self, inner: object, passes: list[bytes]) -> None:
        self._inner, self._passes = inner, passes

    def Match(self, data: bytes) -> list[int]:  # the sets' name for a pass
        self._passes.append(data)
        return self._inner.Match(data)  # type: ignore[attr-defined,no-any-return]
