"""Fitted vectorizers as data: the learned coder's feature matrix, many
sentences at a time.

scikit-learn learns the coder's vocabularies (``TfidfVectorizer`` and
``DictVectorizer`` at ``fit``, :mod:`analysis.coding.learned`); a fitted
model keeps only those vocabularies and idf weights. This module computes
the matrix scikit-learn's ``transform`` would give from them, for a whole
batch of texts with no Python loop per n-gram:

- :class:`Words`: word n-grams (scikit-learn's default token pattern, lower
  case), counted for every text of a batch at once: tokens are looked up
  once, bigrams as pairs of token ids in a sorted array;
- :class:`Chars`: character n-grams inside words (``char_wb``): a word's
  n-grams depend on the word alone, so each distinct word is analysed once
  and remembered (up to ``WORD_MEMORY`` words, then forgotten together),
  and a batch's counts are the sparse product of its texts' word counts
  and its words' n-gram counts;
- :class:`Flags`: named numeric features (``DictVectorizer``).

Then sublinear tf, idf and L2 norms as ``TfidfTransformer`` computes them
(the same float32 arithmetic). ``tests/scenarios/test_scale.py`` holds them
equal to scikit-learn's: each step's matrix, bit for bit, on the sample
articles; the claims, to the printed probability, on the sample and dev
articles.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from itertools import chain, count, repeat
from typing import Any

import numpy as np
from scipy import sparse

TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern
# The same tokens, found faster: a greedy run of two or more word characters
# always starts and ends at a word boundary, and a run of one is no match
# from either pattern (tests/scenarios/test_scale.py holds them equal).
WORD_RUN = re.compile(r"\w\w+")
WORD_MEMORY = 200_000  # distinct words whose character n-grams are remembered
NO_TOKEN = -1


def _counts(rows: np.ndarray, columns: np.ndarray, n_rows: int, n_columns: int) -> Any:
    """A CSR matrix of float32 counts of the (row, column) pairs (a column
    below 0 is no feature), each row's columns sorted."""
    keep = columns >= 0
    rows, columns = rows[keep], columns[keep]
    order = np.argsort(rows, kind="stable")  # the pairs come as runs sorted by row
    return _rows_of(columns[order], np.bincount(rows, minlength=n_rows), (n_rows, n_columns))


def _rows_of(flat: np.ndarray, sizes: np.ndarray, shape: tuple[int, int]) -> Any:
    """A CSR matrix of float32 counts: row i counts its ``sizes[i]`` entries
    of ``flat`` (each column once, with its count, sorted)."""
    indptr = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    matrix = sparse.csr_matrix((np.ones(len(flat), np.float32), flat, indptr), shape=shape)
    matrix.sum_duplicates()
    return matrix


def tfidf(counts: Any, idf: np.ndarray | None) -> Any:
    """Sublinear tf, times idf, L2-normalised rows: ``TfidfTransformer``'s
    arithmetic (float32 data, products and norms taken in float64)."""
    data = counts.data
    np.log(data, out=data)
    data += np.float32(1.0)
    if idf is not None:
        data[:] = data * idf[counts.indices]
    squares = (data * data).astype(np.float64)
    lengths = np.diff(counts.indptr)
    sums = np.zeros(counts.shape[0], dtype=np.float64)
    nonempty = lengths > 0
    sums[nonempty] = np.add.reduceat(squares, counts.indptr[:-1][nonempty])
    norms = np.sqrt(sums)
    norms[norms == 0.0] = 1.0
    data[:] = data / np.repeat(norms, lengths)
    return counts


class Words:
    """Word n-grams (1 to ``ngram_max``) of texts, as ``TfidfVectorizer``
    with ``analyzer="word"`` counts them against a fitted vocabulary."""

    def __init__(self, vocabulary: Mapping[str, int], idf: np.ndarray | None, ngram_max: int):
        self.vocabulary_ = dict(vocabulary)
        self.idf_ = idf
        self.ngram_max = ngram_max
        if ngram_max > 2:
            raise ValueError(f"word n-grams up to 2 are supported, not {ngram_max}")
        # Every word that is a feature or part of one gets a token id; a
        # token id's feature is its unigram's column, or NO_TOKEN.
        tokens: dict[str, int] = {}
        pairs: list[tuple[int, int, int]] = []
        for gram, column in self.vocabulary_.items():
            parts = gram.split(" ")
            for part in parts:
                tokens.setdefault(part, len(tokens))
            if len(parts) == 2:
                pairs.append((tokens[parts[0]], tokens[parts[1]], column))
        self.tokens = tokens
        self.unigram = np.full(len(tokens) + 1, NO_TOKEN, dtype=np.int64)
        for gram, column in self.vocabulary_.items():
            if " " not in gram:
                self.unigram[tokens[gram]] = column
        self.base = len(tokens) + 1
        keys = np.array([a * self.base + b for a, b, _ in pairs], dtype=np.int64)
        order = np.argsort(keys)
        self.pair_keys = keys[order]
        self.pair_columns = np.array([c for _, _, c in pairs], dtype=np.int64)[order]

    def get_feature_names_out(self) -> np.ndarray:
        return np.array(sorted(self.vocabulary_, key=self.vocabulary_.get), dtype=object)

    def transform(self, texts: Sequence[str]) -> Any:
        lists = [WORD_RUN.findall(text.lower()) for text in texts]
        lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        unknown = repeat(len(self.tokens))
        ids = np.fromiter(
            map(self.tokens.get, chain.from_iterable(lists), unknown),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        rows = np.repeat(np.arange(len(lists)), lengths)
        columns = [self.unigram[ids]]
        row_parts = [rows]
        if self.ngram_max == 2 and len(ids) > 1 and len(self.pair_keys):
            same = rows[1:] == rows[:-1]
            keys = ids[:-1] * self.base + ids[1:]
            at = np.searchsorted(self.pair_keys, keys).clip(max=len(self.pair_keys) - 1)
            found = same & (self.pair_keys[at] == keys)
            columns.append(self.pair_columns[at[found]])
            row_parts.append(rows[:-1][found])
        counts = _counts(
            np.concatenate(row_parts), np.concatenate(columns), len(lists), len(self.vocabulary_)
        )
        return tfidf(counts, self.idf_)


class Chars:
    """Character n-grams inside words (``analyzer="char_wb"``), counted
    against a fitted vocabulary; each distinct word is analysed once."""

    def __init__(self, vocabulary: Mapping[str, int], idf: np.ndarray | None, ngram_range: tuple):
        self.vocabulary_ = dict(vocabulary)
        self.idf_ = idf
        self.low, self.high = ngram_range
        self.memory: dict[str, np.ndarray] = {}

    def get_feature_names_out(self) -> np.ndarray:
        return np.array(sorted(self.vocabulary_, key=self.vocabulary_.get), dtype=object)

    def _columns(self, word: str) -> np.ndarray:
        """The vocabulary's columns of one word's n-grams (with repeats), as
        scikit-learn's ``_char_wb_ngrams`` lists them."""
        w = f" {word} "
        get, out = self.vocabulary_.get, []
        for n in range(self.low, self.high + 1):
            offset = 0
            out.append(get(w[0:n], NO_TOKEN))
            while offset + n < len(w):
                offset += 1
                out.append(get(w[offset : offset + n], NO_TOKEN))
            if offset == 0:  # a short word counts once
                break
        found = np.array([c for c in out if c != NO_TOKEN], dtype=np.int64)
        if len(self.memory) >= WORD_MEMORY:
            self.memory.clear()
        self.memory[word] = found
        return found

    def transform(self, texts: Sequence[str]) -> Any:
        """The counts as a product: (texts x the batch's distinct words)
        times (those words x n-grams), scipy's sparse product in place of
        one key per n-gram of every word of every text, sorted."""
        lists = [text.lower().split() for text in texts]
        index: dict[str, int] = defaultdict(count().__next__)  # a new word: the next id
        tokens = [index[w] for words in lists for w in words]
        memory, analyse = self.memory, self._columns
        per_word = [memory[w] if w in memory else analyse(w) for w in index]
        words = _rows_of(
            np.concatenate(per_word) if per_word else np.zeros(0, dtype=np.int64),
            np.fromiter(map(len, per_word), dtype=np.int64, count=len(per_word)),
            (len(index), len(self.vocabulary_)),
        )
        texts_by_word = _rows_of(
            np.fromiter(tokens, dtype=np.int64, count=len(tokens)),
            np.fromiter(map(len, lists), dtype=np.int64, count=len(lists)),
            (len(lists), len(index)),
        )
        counts = texts_by_word @ words
        counts.sort_indices()
        return tfidf(counts, self.idf_)


class Flags:
    """Named numeric features (``DictVectorizer``): one column per name of
    the fitted vocabulary, float64, explicit values kept."""

    def __init__(self, vocabulary: Mapping[str, int]):
        self.vocabulary_ = dict(vocabulary)
        self.feature_names_ = sorted(self.vocabulary_, key=self.vocabulary_.get)

    def get_feature_names_out(self) -> np.ndarray:
        return np.array(self.feature_names_, dtype=object)

    def transform(self, rows: Sequence[Mapping[str, float]]) -> Any:
        get = self.vocabulary_.get
        columns = [[(c, v) for k, v in row.items() if (c := get(k)) is not None] for row in rows]
        lengths = np.fromiter(map(len, columns), dtype=np.int64, count=len(columns))
        n = int(lengths.sum())
        indices = np.fromiter((c for row in columns for c, _ in row), dtype=np.int64, count=n)
        data = np.fromiter((v for row in columns for _, v in row), dtype=np.float64, count=n)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        matrix = sparse.csr_matrix(
            (data, indices, indptr), shape=(len(rows), len(self.vocabulary_))
        )
        matrix.sort_indices()
        return matrix


def from_fitted(transformer: Any) -> Words | Chars | Flags:
    """The fast equivalent of a fitted scikit-learn vectorizer."""
    vocabulary = {str(k): int(v) for k, v in transformer.vocabulary_.items()}
    idf = getattr(transformer, "idf_", None)
    idf = None if idf is None else np.asarray(idf, dtype=np.float64)
    return of_kind(transformer.get_params(), vocabulary, idf)


def of_kind(params: Mapping[str, Any], vocabulary: dict[str, int], idf: Any) -> Any:
    """A fast vectorizer for a scikit-learn vectorizer's parameters."""
    if "analyzer" not in params:
        return Flags(vocabulary)
    expected = {"lowercase": True, "token_pattern": TOKEN.pattern, "stop_words": None}
    expected.update(strip_accents=None, preprocessor=None, tokenizer=None, norm="l2")
    expected.update(use_idf=True, sublinear_tf=True)
    different = {k: params.get(k) for k, v in expected.items() if params.get(k, v) != v}
    if different:
        raise ValueError(f"a vectorizer with {different} has no fast equivalent")
    low, high = params["ngram_range"]
    if params["analyzer"] == "char_wb":
        return Chars(vocabulary, idf, (low, high))
    if params["analyzer"] == "word" and low == 1:
        return Words(vocabulary, idf, high)
    raise ValueError(f"no fast equivalent of analyzer {params['analyzer']!r} {low}-{high}")
