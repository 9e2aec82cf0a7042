"""Tokens → phrased documents → filtered gensim dictionary and bag-of-words corpus."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from gensim.corpora import Dictionary
from gensim.models.phrases import ENGLISH_CONNECTOR_WORDS, Phrases

from moodrec.errors import InputDataError
from moodrec.text.config import LyricsConfig

logger = logging.getLogger(__name__)

BOW = list[tuple[int, int]]


@dataclass(frozen=True)
class TopicCorpus:
    """A corpus ready for LDA.

    Attributes
    ----------
    track_ids
        Shape ``(n_docs,)``: the track of each document, in corpus order.
    docs
        Phrased token lists (bigrams/trigrams joined with ``_``), before dictionary filtering.
    dictionary
        gensim dictionary after ``filter_extremes``.
    bow
        Bag-of-words of each document over ``dictionary`` (may be empty for a document
        whose every token was filtered out).
    """

    track_ids: np.ndarray
    docs: list[list[str]]
    dictionary: Dictionary
    bow: list[BOW]

    @property
    def vocabulary(self) -> list[str]:
        return [self.dictionary[i] for i in range(len(self.dictionary))]


def add_phrases(docs: list[list[str]], cfg: LyricsConfig, language: str = "en") -> list[list[str]]:
    """Join frequent collocations with gensim ``Phrases`` (bigrams, then trigrams).

    ``cfg.phrase_rounds`` rounds of NPMI-scored phrase detection; each round's frozen model
    is applied to the output of the previous one. Deterministic (counting only). gensim's
    connector words ("of", "the", ...) are English, so other languages use none.
    """
    connectors = ENGLISH_CONNECTOR_WORDS if language == "en" else frozenset()
    out = docs
    for _ in range(cfg.phrase_rounds):
        phrases = Phrases(
            out,
            min_count=cfg.phrase_min_count,
            threshold=cfg.phrase_threshold,
            scoring="npmi",
            connector_words=connectors,
        ).freeze()
        out = [phrases[d] for d in out]
    return out


def build_corpus(
    track_ids: np.ndarray, tokens: list[list[str]], cfg: LyricsConfig, language: str = "en"
) -> TopicCorpus:
    """Phrase the documents, build and filter the dictionary, and convert to bag-of-words.

    Parameters
    ----------
    track_ids
        Shape ``(n,)``, one id per document.
    tokens
        The cleaned token lists (``lyrics_clean.tokens`` of ``ok`` rows).
    cfg
        Phrase and ``filter_extremes`` settings.
    language
        ISO 639-1 code of the documents (one model per language); picks phrase connectors.

    Raises
    ------
    InputDataError
        Nothing is left to model (no documents or an empty dictionary after filtering).
    """
    if len(tokens) == 0:
        raise InputDataError(
            f"topics: no cleaned {language!r} lyrics to model (every document was dropped)"
        )
    docs = add_phrases([list(t) for t in tokens], cfg, language)
    dictionary = Dictionary(docs)
    no_below = min(cfg.no_below, max(1, len(docs) // 10))  # tiny corpora keep some words
    dictionary.filter_extremes(no_below=no_below, no_above=cfg.no_above, keep_n=cfg.keep_n)
    if len(dictionary) == 0:
        raise InputDataError(
            f"topics ({language}): dictionary empty after filter_extremes(no_below={no_below}, "
            f"no_above={cfg.no_above}) over {len(docs)} documents"
        )
    bow = [dictionary.doc2bow(d) for d in docs]
    logger.info("corpus %s: %d documents, %d terms", language, len(docs), len(dictionary))
    return TopicCorpus(np.asarray(track_ids), docs, dictionary, bow)


def heldout_split(n_docs: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/held-out document indices (both sorted; held-out empty if fraction is 0)."""
    rng = np.random.default_rng(seed)
    n_held = round(n_docs * fraction)
    held = np.sort(rng.permutation(n_docs)[:n_held])
    train = np.setdiff1d(np.arange(n_docs), held)
    return train, held
