"""Configuration files the service reads at start and follows while it runs.

`read_yaml` is the one YAML reader for them: safe, and refusing a key given twice (plain
YAML keeps the last one silently). `FileReloader` is the one hot-reload loop: the files are
read and hashed about once a second (a few kilobytes; this catches every edit, including
Kubernetes' ConfigMap symlink swaps, which inotify watchers can miss). Content that parses
and validates replaces the value in force in one assignment; a request takes the value once
when it starts and keeps that object to its end. A bad edit changes nothing: the problems
are logged and `<metric>{outcome="invalid"}` counts it (once per distinct content). Files
that disappear keep the running value.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Literal, Self, TypeVar

import yaml
from prometheus_client import Counter

log = logging.getLogger("lukhas.config")

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when built in


class YamlError(ValueError):
    """Text that is not valid YAML; `where` is "line L, column C" when known."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: not valid YAML: {problem}" if where
                         else f"not valid YAML: {problem}")


class _UniqueKeyLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """A safe loader that refuses a key given twice."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    mapping: dict[Any, Any] = loader.construct_mapping(node, deep=True)
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(text: str) -> Any:
    """The YAML document in `text`; YamlError (with its line) when it is not valid."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise YamlError(where, getattr(exc, "problem", None) or str(exc)) from None


# The files as read: (name, content) pairs, in a stable order.
Snapshot = tuple[tuple[str, bytes], ...]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ReloadEvent:
    outcome: Literal["applied", "invalid", "missing"]
    digest: str  # of the content looked at (hex), "" when missing
    message: str  # what was applied, or why not


class FileReloader(Generic[T]):
    """Holds the value parsed from some files and keeps it in step with them."""

    what = "configuration"  # for the logs

    def __init__(self, counter: Counter, *, interval_s: float = 1.0) -> None:
        self._counter = counter  # labelled by outcome: applied, invalid, missing
        self._interval_s = interval_s
        self._value: T | None = None
        self._digest = b""  # of the content last looked at, valid or not
        self._missing = False
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[ReloadEvent, T | None], Awaitable[None]]] = []

    # What a subclass gives: how to read its files, parse them and describe the result.
    def read(self) -> Snapshot:
        """The files' content (OSError when they cannot be read)."""
        raise NotImplementedError

    def parse(self, snapshot: Snapshot) -> T:
        """The value, or one of `invalid` naming every problem."""
        raise NotImplementedError

    invalid: tuple[type[Exception], ...] = (ValueError,)

    def describe(self, value: T) -> str:
        return "applied"

    @property
    def value(self) -> T:
        """The value in force (take it once per request)."""
        if self._value is None:
            raise RuntimeError(f"the {self.what} has not been loaded")
        return self._value

    def on_reload(self, listener: Callable[[ReloadEvent, T | None], Awaitable[None]]) -> None:
        """Call `listener` after each reload outcome (with the new value when applied)."""
        self._listeners.append(listener)

    def load(self) -> T:
        """Read the files at start-up: unreadable or invalid content raises."""
        snapshot = self.read()
        self._value = self.parse(snapshot)
        self._digest = _digest(snapshot)
        return self._value

    async def check(self) -> bool:
        """Look at the files once; True when a new value was swapped in."""
        try:
            snapshot = await asyncio.to_thread(self.read)
        except OSError as exc:
            if not self._missing:
                self._missing = True
                self._counter.labels("missing").inc()
                log.error("%s: cannot read (%s); keeping the running %s", self.what,
                          exc.strerror or exc, self.what)
                await self._tell(ReloadEvent("missing", "", str(exc.strerror or exc)), None)
            return False
        self._missing = False
        digest = _digest(snapshot)
        if digest == self._digest:
            return False
        self._digest = digest
        try:
            value = await asyncio.to_thread(self.parse, snapshot)
        except self.invalid as exc:
            self._counter.labels("invalid").inc()
            log.error("%s not applied, the running one stays: %s", self.what, exc)
            await self._tell(ReloadEvent("invalid", digest.hex(), str(exc)), None)
            return False
        self._value = value
        self._counter.labels("applied").inc()
        message = self.describe(value)
        log.info("%s %s", self.what, message)
        await self._tell(ReloadEvent("applied", digest.hex(), message), value)
        return True

    async def _tell(self, event: ReloadEvent, value: T | None) -> None:
        for listener in self._listeners:
            try:
                await listener(event, value)
            except Exception:  # one listener failing must not stop the reload
                log.exception("%s reload listener failed", self.what)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.check()
            except Exception:  # a watcher that dies silently would freeze the value
                log.exception("%s check failed", self.what)

    async def __aenter__(self) -> Self:
        self.load()
        self._task = asyncio.create_task(self._watch(), name=f"{self.what}-reload")
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _digest(snapshot: Sequence[tuple[str, bytes]]) -> bytes:
    h = hashlib.sha256()
    for name, data in snapshot:
        h.update(name.encode() + b"\0" + len(data).to_bytes(8, "little") + data)
    return h.digest()
