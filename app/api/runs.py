"""What Chat Completions and Responses share around a pipeline run.

Both APIs take a conversation (chat's messages, Responses' input items), flatten it into
turns with the last user message as the question (`Flattener`), read each message's content
parts the same way (`read_content`: text is read; a file is read as text by the built-in
model; an image or a file goes to a routed model in the chat shape; anything else is the 400
of a text-only model), open the run's upstream call when the model is routed
(`upstream_call`), equip the context for the kind of model (`equip`), and hand each delta of
the run to the API's own writer (`deliver`, `drain`), which turns it into a chat chunk, a
Responses event or an accumulated answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from app.api.files import AttachedFile, FilePart, read_files
from app.core.cards import ModelCard
from app.core.turns import Turn
from app.errors import InvalidRequest
from app.identity.base import Identity
from app.matriz.contract import (
    Event,
    ReasoningDelta,
    RefusalDelta,
    RunContext,
    TextDelta,
    ToolCallDelta,
)
from app.matriz.providers.registry import ProviderRegistry
from app.matriz.providers.upstream.call import UpstreamCall
from app.matriz.providers.upstream.provider import UpstreamProvider
from app.matriz.structured import OutputFormat
from app.matriz.tools.plan import ToolPlan
from app.observability.logging import request_id_var

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
P = TypeVar("P")
P_contra = TypeVar("P_contra", contravariant=True)

# -- the deltas of a run --------------------------------------------------------------------


class DeltaSink(Protocol[T_co]):
    """What an API makes of each kind of delta: a chunk, events, or a piece of its answer."""

    def on_text(self, delta: TextDelta) -> T_co: ...

    def on_reasoning(self, delta: ReasoningDelta) -> T_co: ...

    def on_refusal(self, delta: RefusalDelta) -> T_co: ...

    def on_tool_call(self, delta: ToolCallDelta) -> T_co: ...


def deliver(event: Event, sink: DeltaSink[T]) -> T:
    """`event` handed to the sink's method for its kind (the answer's text, the most
    frequent, is tried first)."""
    if isinstance(event, TextDelta):
        return sink.on_text(event)
    if isinstance(event, ToolCallDelta):
        return sink.on_tool_call(event)
    if isinstance(event, RefusalDelta):
        return sink.on_refusal(event)
    return sink.on_reasoning(event)


async def drain(events: AsyncIterator[Event], sink: DeltaSink[Any]) -> None:
    """Every delta of a run that is not streamed, handed to `sink`."""
    async for event in events:
        deliver(event, sink)


# -- the model behind the run ---------------------------------------------------------------


def routed(registry: ProviderRegistry, model: str) -> bool:
    """Whether `model` is an upstream group (its requests are forwarded, files and images
    included) rather than a built-in model."""
    return isinstance(registry.resolve(model)[1], UpstreamProvider)


async def builtin_files(registry: ProviderRegistry, model: str, parts: Sequence[FilePart],
                        max_bytes: int) -> dict[str, AttachedFile] | None:
    """The request's files read as text, for a built-in model (a routed one is sent them)."""
    if routed(registry, model):
        return None
    return await read_files(parts, max_bytes)


def upstream_call(registry: ProviderRegistry, identity: Identity, model: str,
                  ref: Callable[[], str]) -> tuple[ModelCard, UpstreamCall | None]:
    """The model's card, and the upstream call the run makes when the model is routed (named
    after the request id, else `ref()`)."""
    card, provider = registry.resolve(model)
    if not isinstance(provider, UpstreamProvider):
        return card, None
    return card, provider.begin(identity, model, request_id_var.get() or ref())


def equip(ctx: RunContext, call: UpstreamCall | None,
          builtin: Callable[[], tuple[ToolPlan | None, OutputFormat | None]]) -> None:
    """A routed model's memory settings from its group; for the built-in model, which calls
    function tools and writes JSON itself, its tool plan and output format (`builtin()`)."""
    if call is not None:
        ctx.recall = call.group.memory.recall
        ctx.recall_max_tokens = call.group.memory.max_tokens
    else:
        ctx.tools, ctx.output_format = builtin()


# -- the conversation -----------------------------------------------------------------------


class PartReader(Protocol[P_contra]):
    """How an API's content parts read: chat's are dicts, Responses' typed models."""

    def text(self, part: P_contra) -> str | None:
        """The part's text, when it is text."""
        ...

    def is_file(self, part: P_contra) -> bool:
        """Whether it is a file (which the built-in model reads as text)."""
        ...

    def kind(self, part: P_contra) -> str:
        """Its type, as the request named it."""
        ...

    def chat_part(self, part: P_contra, where: str) -> dict[str, Any]:
        """An image or file part in the chat shape, as a routed model gets it."""
        ...


@dataclass(slots=True)
class Content:
    """A message's content as read: its text, its files read as text (`read`), and when it
    holds images or files for a routed model, all its parts in the chat shape (`parts`)."""

    text: str
    read: list[AttachedFile] = field(default_factory=list)
    parts: tuple[dict[str, Any], ...] = ()


def read_content(parts: str | Sequence[P] | None, where: str, reader: PartReader[P], *,
                 role: str, media: bool, media_roles: tuple[str, ...],
                 files: Mapping[str, AttachedFile] | None) -> Content:
    """A message's content parts read. `media` (a routed model): images and files are kept
    for the upstream, in messages of `media_roles` only. `files` (the built-in model): its
    files, read by `app.api.files`, are taken from there by their place. Otherwise an image
    or a file is refused as a text-only model refuses it, with a 400 naming the part."""
    if parts is None or isinstance(parts, str):
        return Content(parts or "")
    texts: list[str] = []
    shaped: list[dict[str, Any]] = []
    read: list[AttachedFile] = []
    has_media = False
    for j, part in enumerate(parts):
        text = reader.text(part)
        if text is not None:
            texts.append(text)
            shaped.append({"type": "text", "text": text})
            continue
        at = f"{where}[{j}]"
        if not media:
            if files is not None and reader.is_file(part):
                read.append(files[at])
                continue
            raise InvalidRequest(f"The model reads text and files only; content part "
                                 f"'{reader.kind(part)}' is not supported.", param=at,
                                 code="unsupported_content")
        if role not in media_roles:
            raise InvalidRequest(
                f"'{reader.kind(part)}' may be sent in {' and '.join(media_roles)} messages "
                f"only, not in a '{role}' message.", param=at, code="unsupported_content")
        has_media = True
        shaped.append(reader.chat_part(part, at))
    return Content("\n".join(texts), read, tuple(shaped) if has_media else ())


@dataclass(slots=True)
class Flattened:
    """A conversation flattened: the question (the last user message, if the conversation
    ends with one) and the turns before it, the system texts, and the question's files."""

    history: list[Turn]
    system: list[str]
    question: str
    question_source: str  # the question's turn source ("" with no question)
    question_parts: list[dict[str, Any]] | None  # with images or files for a routed model
    attachments: list[Turn]  # the question's files, read as text, as user turns


class Flattener:
    """Turns added in the conversation's order; `done()` takes the question off the end."""

    def __init__(self) -> None:
        self.turns: list[Turn] = []
        self.system: list[str] = []
        self._attached: list[Turn] = []  # the files of the last user message

    def message(self, role: str, content: Content, source: str) -> None:
        """A message: system and developer texts join the instructions; a user or assistant
        message is a turn, after the turns of the files it carries."""
        attached = [Turn("user", f.text, f.name, file=f.name) for f in content.read]
        if role == "user":
            self._attached = attached
        if role in ("system", "developer"):
            self.system.append(content.text)
        else:
            self.turns += [*attached, Turn(role, content.text, source, content.parts)]

    def turn(self, turn: Turn) -> None:
        """A turn that is not a message: a function call, its output, a file search."""
        self.turns.append(turn)

    def done(self) -> Flattened:
        turns = self.turns
        last = turns.pop() if turns and turns[-1].role == "user" else None
        if last is None:
            return Flattened(turns, self.system, "", "", None, [])
        return Flattened(turns, self.system, last.text, last.source,
                         list(last.parts) if last.parts else None, self._attached)

