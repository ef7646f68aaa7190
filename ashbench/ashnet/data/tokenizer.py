"""A word-level tokenizer built from training captions; its vocabulary (a list of str) is stored
in checkpoints, so no download is ever needed."""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

import torch

PAD, UNK, CLS = "[PAD]", "[UNK]", "[CLS]"
SPECIALS = (PAD, UNK, CLS)
_WORD = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")


def words(text: str) -> list[str]:
    """Lower-case words and single punctuation marks."""
    return _WORD.findall(text.lower())


class WordTokenizer:
    """Token 0 is padding, 1 unknown, 2 the [CLS] token that starts every sequence."""

    def __init__(self, vocab: list[str]):
        if list(vocab[: len(SPECIALS)]) != list(SPECIALS):
            raise ValueError(f"a vocabulary starts with {SPECIALS}")
        self.vocab = list(vocab)
        self.index = {w: i for i, w in enumerate(self.vocab)}

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1) -> "WordTokenizer":
        counts = Counter(w for t in texts for w in words(t))
        kept = sorted(w for w, c in counts.items() if c >= min_count)
        return cls([*SPECIALS, *kept])

    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, texts: list[str], max_len: int) -> torch.Tensor:
        """Long [N, max_len]: [CLS], word ids (truncated), then padding."""
        out = torch.zeros(len(texts), max_len, dtype=torch.long)
        for row, text in enumerate(texts):
            ids = [2] + [self.index.get(w, 1) for w in words(text)]
            ids = ids[:max_len]
            out[row, : len(ids)] = torch.tensor(ids)
        return out

    def decode(self, ids: torch.Tensor) -> str:
        return " ".join(self.vocab[i] for i in ids.tolist() if i > 2)
