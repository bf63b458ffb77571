"""Secrets the service makes for itself on first start, kept in the data dir."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def kept_secret(path: Path, make: Callable[[], str]) -> tuple[str, bool]:
    """The secret in `path`; if there is none, `make()` one and keep it there (mode 0600,
    created exclusively: of workers starting together, the first one's secret wins).
    True if this call created it."""
    if path.exists():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip(), False
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    return secret, True
