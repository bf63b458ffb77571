"""The Responses `file_search` tool over the caller's `/v1/indexes`.

From the request: the tool, checked (every field honoured or a 400 naming it), becomes the
run's `FileSearch` (`app/matriz/retrieval.py`), which the Memory stage searches before the
answer. Into the response: a `file_search_call` output item ahead of the message, with its
`results` when `include` asks for `file_search_call.results`, and a `file_citation`
annotation on the answer's text for each `[n]` marker that names one of the sources.
https://platform.openai.com/docs/guides/tools-file-search
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from app.api.responses.protocol import (
    ComparisonFilter,
    CompoundFilter,
    FileCitation,
    FileSearchCallItem,
    FileSearchHit,
    FileSearchTool,
    OutputFileSearchCall,
    OutputMessage,
    OutputTextPart,
    ResponseCreateRequest,
    ResponseObject,
)
from app.core.turns import Turn
from app.db.repositories.memory import Combine, Compare, Condition
from app.errors import InvalidRequest, PermissionDenied, validation_error
from app.identity.base import Identity
from app.ids import new_id
from app.matriz.retrieval import FileSearch, searched_turn

RESULTS = "file_search_call.results"  # the `include` value that adds the results
DEFAULT_RESULTS = 10
SCOPE = "indexes.read"
_RANKERS = ("auto",)  # one ranker: the index's own similarity
# A citation marker: the number of a source in square brackets. A marker cut by the end of
# a delta is read once it is whole; it is at most this long unfinished ("[123").
_MARKER = re.compile(r"\[(\d{1,3})\]")
_PARTIAL = 4
_BRANCHES = {"comparison", "compound", "bool", "float", "str", "int"}


def _unsupported(param: str, what: str) -> InvalidRequest:
    return InvalidRequest(f"'{param}' {what}.", param=param, code="unsupported_parameter")


def _condition(given: ComparisonFilter | CompoundFilter, param: str) -> Condition:
    if isinstance(given, CompoundFilter):
        return Combine(given.type, tuple(_condition(f, f"{param}.filters[{i}]")
                                         for i, f in enumerate(given.filters)))
    value = given.value
    if given.type in ("in", "nin") and not isinstance(value, list):
        raise InvalidRequest(f"A '{given.type}' filter compares with a list of values.",
                             param=f"{param}.value", code="invalid_value")
    if given.type not in ("in", "nin") and isinstance(value, list):
        raise InvalidRequest(f"A '{given.type}' filter compares with one value, not a list.",
                             param=f"{param}.value", code="invalid_value")
    if given.type in ("gt", "gte", "lt", "lte") and isinstance(value, bool):
        raise InvalidRequest(f"A '{given.type}' filter compares numbers or strings.",
                             param=f"{param}.value", code="invalid_value")
    return Compare(given.key, given.type, tuple(value) if isinstance(value, list) else value)


def _where(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """A validation error's location without the names pydantic gives union branches."""
    return tuple(p for p in loc if not (isinstance(p, str) and (
        p in _BRANCHES or p.startswith(("list[", "union[")))))


def _tool(raw: dict[str, Any], param: str) -> FileSearchTool:
    try:
        tool = FileSearchTool.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(RequestValidationError(
            [{**e, "loc": (param, *_where(e["loc"]))} for e in exc.errors()])) from None
    extra = tool.model_extra or {}
    for name in extra:
        raise _unsupported(f"{param}.{name}", "is not a field of the file_search tool")
    ranking = tool.ranking_options
    if ranking is not None:
        for name in ranking.model_extra or {}:
            raise _unsupported(f"{param}.ranking_options.{name}", "is not supported")
        if ranking.hybrid_search is not None:
            raise _unsupported(f"{param}.ranking_options.hybrid_search",
                               "is not supported: indexes are searched by embedding only")
        if ranking.ranker is not None and ranking.ranker not in _RANKERS:
            raise _unsupported(f"{param}.ranking_options.ranker",
                               f"'{ranking.ranker}' is not supported (only 'auto')")
    return tool


def plan(req: ResponseCreateRequest, identity: Identity) -> FileSearch | None:
    """The request's file search, checked; None without the tool or with
    `tool_choice: "none"` (which allows no tool, so no search)."""
    found = [(i, t) for i, t in enumerate(req.tools or []) if t.get("type") == "file_search"]
    if not found or req.tool_choice == "none":
        return None
    if len(found) > 1:
        raise InvalidRequest("At most one file_search tool per request.",
                             param=f"tools[{found[1][0]}]", code="invalid_value")
    at, raw = found[0]
    param = f"tools[{at}]"
    tool = _tool(raw, param)
    if not identity.has_scope(SCOPE):
        raise PermissionDenied(
            f"The file_search tool needs the scope '{SCOPE}', which your credential does not "
            f"carry (tier {identity.tier}).", code="insufficient_permissions")
    ranking = tool.ranking_options
    return FileSearch(
        id=new_id("fs_"), index_ids=tuple(dict.fromkeys(tool.vector_store_ids)),
        max_results=tool.max_num_results or DEFAULT_RESULTS, param=param,
        attributes=None if tool.filters is None
        else _condition(tool.filters, f"{param}.filters"),
        score_threshold=None if ranking is None else ranking.score_threshold)


def include_results(req: ResponseCreateRequest) -> bool:
    """Whether `include` asks for the search results."""
    return RESULTS in (req.include or ())


class Output(Protocol):
    """The file search part of a response's output, live or replayed."""

    def item(self) -> OutputFileSearchCall:
        """The finished `file_search_call` item."""
        ...

    def cite(self, text: str) -> list[FileCitation]:
        """The citations that `text` (the answer so far) completed since the last call."""
        ...


class SearchOutput:
    """The item and citations of a search that ran in this response."""

    def __init__(self, search: FileSearch, with_results: bool) -> None:
        self.search = search
        self._with_results = with_results
        self._scanned = 0  # how far the answer's text has been read for markers

    def item(self) -> OutputFileSearchCall:
        search = self.search
        results = None
        if self._with_results:
            results = [FileSearchHit(file_id=s.file_id, filename=s.filename, score=s.score,
                                     text=s.text, attributes=s.attributes)
                       for s in search.sources or []]
        return OutputFileSearchCall(id=search.id, status="completed",
                                    queries=list(search.queries), results=results)

    def cite(self, text: str) -> list[FileCitation]:
        sources = self.search.sources or []
        cited = []
        read = self._scanned
        for marker in _MARKER.finditer(text, read):
            n = int(marker.group(1))
            if 1 <= n <= len(sources):
                source = sources[n - 1]
                cited.append(FileCitation(file_id=source.file_id, filename=source.filename,
                                          index=marker.start()))
            read = marker.end()
        opened = text.rfind("[", read)
        self._scanned = opened if opened >= 0 and len(text) - opened <= _PARTIAL else len(text)
        return cited


class StoredOutput:
    """The item and citations of a stored response, for its replay."""

    def __init__(self, item: OutputFileSearchCall, annotations: list[FileCitation]) -> None:
        self._item = item
        self._pending = sorted(annotations, key=lambda a: a.index)

    def item(self) -> OutputFileSearchCall:
        return self._item

    def cite(self, text: str) -> list[FileCitation]:
        ready = [a for a in self._pending if a.index < len(text)]
        self._pending = self._pending[len(ready):]
        return ready


def stored_output(response: ResponseObject) -> StoredOutput | None:
    """The file search of a stored response, if it had one."""
    item = next((i for i in response.output if isinstance(i, OutputFileSearchCall)), None)
    if item is None:
        return None
    annotations = [a for i in response.output if isinstance(i, OutputMessage)
                   for p in i.content if isinstance(p, OutputTextPart)
                   for a in p.annotations]
    return StoredOutput(item, annotations)


def input_turn(item: FileSearchCallItem, source: str) -> Turn:
    """A `file_search_call` given back as input, as a turn (its results, when it has them)."""
    found = [(r.filename or r.file_id or "a file", r.text or "") for r in item.results or []]
    return searched_turn(item.queries, found, source)
