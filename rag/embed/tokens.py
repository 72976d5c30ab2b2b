"""The model's own fast tokenizer (tokenizer.json), word-piece ids and padded batches."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.embed.model_folder import tokenizer_facts


@lru_cache(maxsize=4)
def wordpiece_tokenizer(model_path: Path, max_length: int):
    """The model's fast tokenizer, truncating as sentence-transformers does;
    batches are padded by pad_ids."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    # The file's own truncation (128) is not what sentence-transformers
    # uses; max_seq_length from sentence_bert_config.json is.
    tok.enable_truncation(max_length=max_length)
    tok.no_padding()
    return tok


def pad_id(model_path: Path) -> int:
    """The padding token's id (BERT's [PAD] is 0, MPNet's <pad> is 1); masked
    out either way, but a model's own pad id keeps its outputs as upstream's."""
    return tokenizer_facts(model_path)[0]


def special_ids(model_path: Path) -> frozenset[int]:
    """Ids of the special tokens ([CLS], <s>, [SEP], </s>, …), which carry no term."""
    return tokenizer_facts(model_path)[1]


def word_piece_ids(tokenizer, texts: Sequence[str], slice_size: int = 1024) -> list[np.ndarray]:
    """Each text's word-piece ids (int32, [CLS] and [SEP] included). A bulk
    pass tokenizes everything first, so that batches can be sorted by their
    true length. Slices bound the tokenizer's per-text objects; the ids stay small."""
    ids: list[np.ndarray] = []
    for start in range(0, len(texts), slice_size):
        encoded = tokenizer.encode_batch(list(texts[start : start + slice_size]))
        ids.extend(np.array(e.ids, dtype=np.int32) for e in encoded)
    return ids


def pad_ids(rows: Sequence[np.ndarray], pad_id: int, multiple: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch of word-piece id rows as padded ids, attention mask and token type ids
    (int64), the model's inputs (models without token types ignore the last);
    the width is a multiple of ``multiple``."""
    width = max((len(r) for r in rows), default=0)
    width = -(-width // multiple) * multiple
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask, np.zeros_like(ids)
