"""The incremental SSE parser and the chunk reader of the upstream provider."""

from __future__ import annotations

import pytest

from app.matriz.contract import Event, ReasoningDelta, TextDelta, ToolCallDelta
from app.matriz.providers.upstream.reader import ChunkReader, StreamBroken
from app.matriz.providers.upstream.sse import SSEDecoder


def test_events_split_anywhere_come_out_whole() -> None:
    body = b'data: {"a": 1}\n\n: ping\n\ndata: {"b":\ndata: 2}\r\n\r\ndata: [DONE]\n\n'
    for size in range(1, len(body) + 1):
        decoder = SSEDecoder()
        out: list[bytes] = []
        for i in range(0, len(body), size):
            out += decoder.feed(body[i:i + size])
        assert out == [b'{"a": 1}', b'{"b":\n2}', b"[DONE]"], size


def test_an_unterminated_last_event_is_kept_at_the_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: tail") == []
    assert decoder.feed(b"\n") == []
    assert decoder.close() == [b"tail"]


def _chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    import orjson

    return b"data: " + orjson.dumps({"choices": [
        {"index": 0, "delta": delta, "finish_reason": finish}]}) + b"\n\n"


def test_the_reader_turns_chunks_into_deltas_usage_and_finish() -> None:
    reader = ChunkReader()
    out: list[Event] = []
    reader.feed(_chunk({"role": "assistant", "content": ""}), out)
    assert out == [] and not reader.complete
    reader.feed(_chunk({"reasoning_content": "think"}) + _chunk({"content": "Hi"}), out)
    reader.feed(_chunk({}, "length") + b'data: {"choices": [], "usage": {"prompt_tokens": 5,'
                b' "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 4},'
                b' "completion_tokens_details": {"reasoning_tokens": 1}}}\n\ndata: [DONE]\n\n',
                out)
    assert [type(e) for e in out] == [ReasoningDelta, TextDelta]
    assert reader.finish == "length" and reader.done
    assert reader.usage is not None
    assert (reader.usage.input_tokens, reader.usage.output_tokens, reader.usage.reasoning_tokens,
            reader.usage.cached_tokens) == (5, 2, 1, 4)


@pytest.mark.parametrize("frame", [b'data: {"error": {"message": "overloaded"}}\n\n',
                                   b"data: not json\n\n", b"data: [1, 2]\n\n"])
def test_an_error_or_garbage_in_the_stream_breaks_it(frame: bytes) -> None:
    with pytest.raises(StreamBroken):
        ChunkReader().feed(frame, [])


def test_a_whole_completion_reads_as_one_piece() -> None:
    reader = ChunkReader()
    out: list[Event] = []
    reader.whole(b'{"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {'
                 b'"role": "assistant", "content": "Checking.", "tool_calls": [{"id": "c1",'
                 b' "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}],'
                 b' "usage": {"prompt_tokens": 3, "completion_tokens": 4}}', out)
    assert [type(e) for e in out] == [TextDelta, ToolCallDelta]
    assert reader.done and reader.finish == "tool_calls"
    assert reader.usage is not None and reader.usage.output_tokens == 4
    with pytest.raises(StreamBroken):
        ChunkReader().whole(b'{"choices": []}', [])
