"""The e5 vectors of our labelled texts, shipped so that fitting a model costs seconds.

Every fit (`monitor train`, the seed fallback a daemon builds without a model file, the
before/after check on the dev split) embeds the same ~2,500 labelled texts; with e5 at ~40 ms a
text that would be over a minute each time. `labels/e5-vectors.npz` holds their vectors, keyed
by the SHA-1 of the text the encoder reads and stamped with the encoder's release: a text that
changed, or another release of the weights, is simply embedded afresh. Rebuild the table after
editing the labelled set: `python -m monitor.learn.train --vectors`.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np

from monitor.learn.embed import E5_DIM, clip, e5_version, embed_e5

TABLE = Path(__file__).resolve().parent / "labels" / "e5-vectors.npz"
_MAX_CACHED = 50_000
_lock = threading.Lock()
_table: dict[bytes, np.ndarray] | None = None
_cache: dict[str, np.ndarray] = {}


def _key(text: str) -> bytes:
    return hashlib.sha1(clip(text).encode("utf-8")).digest()


def _known() -> dict[bytes, np.ndarray]:
    """The shipped table (empty when absent or made with other weights)."""
    global _table
    if _table is None:
        with _lock:
            if _table is None:
                _table = {}
                try:
                    with np.load(TABLE, allow_pickle=False) as data:
                        if str(data["version"]) == e5_version():
                            vecs = data["vecs"].astype(np.float32)
                            _table = dict(zip((bytes(k) for k in data["keys"]), vecs))
                except (OSError, KeyError, ValueError):
                    pass
    return _table


def e5_vectors(texts: list[str]) -> np.ndarray:
    """`embed_e5`, but our labelled texts come from the table and others are remembered for the
    process (a model is fitted several times on the same texts in one run)."""
    if not texts:
        return embed_e5([])
    known = _known()
    missing = list(dict.fromkeys(t for t in texts if t not in _cache and _key(t) not in known))
    if missing:
        if len(_cache) + len(missing) > _MAX_CACHED:
            _cache.clear()
        _cache.update(zip(missing, embed_e5(missing)))
    out = np.zeros((len(texts), E5_DIM), dtype=np.float32)
    for i, text in enumerate(texts):
        vec = _cache.get(text)
        out[i] = vec if vec is not None else known[_key(text)]
    return out


def write_table(texts: list[str], path: Path = TABLE) -> int:
    """Embed the distinct non-empty texts and write the table; returns how many rows."""
    unique = list(dict.fromkeys(t for t in texts if clip(t)))
    vecs = embed_e5(unique)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, keys=np.array([_key(t) for t in unique], dtype="S20"),
                        vecs=vecs.astype(np.float16), version=np.array(e5_version()))
    tmp.replace(path)
    global _table
    _table = None
    return len(unique)
