"""What reading an attached file and answering from it cost the built-in model.

For text files and PDFs (50 lines a page) of a few sizes, made here, prints the median time of
`app.api.files.read_files` (decoding; for a PDF, extracting its text with pypdf) and of
`reason` answering a question whose answer is on the file's last line, with the file's
size and its text's `lukhas-tok-v1` tokens (the model's window is 128,000).

Usage: python bench/builtin_files.py [RUNS]
"""

from __future__ import annotations

import asyncio
import base64
import statistics
import sys
import time

from app.api.files import FilePart, read_files
from app.core.turns import Turn
from app.matriz.nodes import reason
from app.matriz.tokenizer import count_tokens
from bench.timing import median_ms
from tests.utils.pdf import pdf_with_text

LINE = "The quick brown fox jumps over the lazy dog near the river bank, again and again."
ANSWER = "The launch code is 1234."
LIMIT = 64 * 1024 * 1024  # no limit in the way of measuring


async def read_ms(part: FilePart, runs: int) -> tuple[str, float]:
    """The file's text, and the median time to read it (on one event loop)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        read = await read_files([part], LIMIT)
        times.append(time.perf_counter() - start)
    return read[part.where].text, statistics.median(times) * 1000


def files(lines: int) -> dict[str, tuple[str, bytes]]:
    text = "\n".join([LINE] * lines + [ANSWER]) + "\n"
    return {"text/plain": ("notes.txt", text.encode()),
            "application/pdf": ("notes.pdf", pdf_with_text([LINE] * lines + [ANSWER],
                                                           compress=True, per_page=50))}


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    out = sys.stdout
    out.write(f"{'file':28} {'bytes':>10} {'tokens':>8} {'read':>10} {'answer':>10}\n")
    for lines in (10, 1_000, 10_000):
        for media, (name, data) in files(lines).items():
            url = f"data:{media};base64,{base64.b64encode(data).decode()}"
            part = FilePart("input[0].content[0]", url, name)
            text, read = asyncio.run(read_ms(part, runs))
            history = [Turn("user", text, name, file=name)]
            answer = reason("What is the launch code?", history)
            assert answer.text.startswith(ANSWER), answer.text
            think = median_ms(lambda h=history: reason("What is the launch code?", h), runs)
            out.write(f"{f'{name}, {lines + 1:,} lines':28} {len(data):>10,} "
                      f"{count_tokens(text):>8,} {read:>7.2f} ms {think:>7.2f} ms\n")


if __name__ == "__main__":
    main()
