"""Clean raw lyrics: strip Genius scrape artifacts, detect language, tokenise, lemmatise.

Everything here runs offline: language detection is lingua's n-gram models (bundled in
the wheel), lemmatisation is simplemma's bundled dictionaries. The per-token work (lemma,
stop word) is memoised per language, so a corpus costs one regex scan per document plus
one dictionary lookup per token; large corpora are split over worker processes.
"""

from __future__ import annotations

import functools
import itertools
import logging
import multiprocessing
import re
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from moodrec.errors import InputDataError
from moodrec.text.config import LyricsConfig
from moodrec.text.stopwords import stopwords_for

logger = logging.getLogger(__name__)

#: Status of each document after cleaning (``ok`` documents go on to the topic model).
STATUSES = ("ok", "empty", "no_text_after_cleaning", "excluded_language", "too_few_tokens")
UNDETERMINED = "und"

# --- Genius scrape artifacts --------------------------------------------------------------
# "12 ContributorsSong Title Lyrics" (optionally "... Translations Español ... Lyrics") on the
# first line; greedy to the last "Lyrics" of that line.
_CONTRIBUTORS = re.compile(r"\A\s*\d[\d,.]*[kK]?\s*Contributors?\b[^\n]*?Lyrics(?![^\n]*Lyrics)")
# A first line that is only "<title> Lyrics" (older scrapes without the contributor count).
_TITLE_HEADER = re.compile(r"\A[^\n\[]{0,200}?\bLyrics(?=\s*(?:\[|\n|\Z))")
# [Verse 1: X], [Chorus], [?], [Produced by ...]: any bracketed span within one line.
_SECTION = re.compile(r"\[[^\]\n]{0,300}\]")
_MIGHT_LIKE = re.compile(r"You might also like", re.IGNORECASE)
_TICKETS = re.compile(r"See [^\n]{0,120}? LiveGet tickets as low as \$\d+")
# "…last line12Embed" / "Embed" at the very end (the number is glued to the last word).
_EMBED = re.compile(r"\d*\s*Embed\s*\Z")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_BLANKS = re.compile(r"[ \t]+")
_MANY_NEWLINES = re.compile(r"\n\s*\n\s*(?:\n\s*)+")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})

# --- tokens --------------------------------------------------------------------------------
_G_DROP = re.compile(r"(?<=[a-z])in'(?![a-z])")  # goin' -> going (before tokenising)
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_CONTRACTION_TAILS = frozenset({"t", "re", "ll", "ve", "d", "m"})
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_LETTER = re.compile(r"[^\W\d_]")


def strip_artifacts(text: str) -> str:
    """Remove Genius scrape artifacts from one lyric and normalise its unicode and spacing.

    Removes the ``NN Contributors… Lyrics`` header, a bare ``… Lyrics`` title line,
    bracketed section headers (``[Verse 1: X]``, ``[Chorus]``), ``You might also like``,
    ticket adverts, the trailing ``NNEmbed``/``Embed`` and URLs. Text is NFKC-normalised,
    curly apostrophes become ``'``; line breaks are kept (at most one blank line in a row).
    """
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = _CONTRIBUTORS.sub("", text, count=1)
    text = _TITLE_HEADER.sub("", text, count=1)
    text = _EMBED.sub("", text)
    for pattern in (_SECTION, _MIGHT_LIKE, _TICKETS, _URL):
        text = pattern.sub("\n", text)
    text = _BLANKS.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _MANY_NEWLINES.sub("\n\n", text).strip()


def count_artifacts(texts: pd.Series) -> dict[str, int]:
    """How many texts still contain each kind of scrape artifact (used by tests and reports)."""
    s = texts.fillna("").astype(str)
    return {
        "section_header": int(s.str.contains(_SECTION).sum()),
        "contributors_header": int(s.str.contains(r"\bContributors?\b", regex=True).sum()),
        "embed_tail": int(s.str.contains(r"Embed\s*\Z", regex=True).sum()),
        "you_might_also_like": int(s.str.contains(_MIGHT_LIKE).sum()),
        "url": int(s.str.contains(_URL).sum()),
    }


# --- language ------------------------------------------------------------------------------


@functools.cache
def _detector(languages: tuple[str, ...]) -> Any:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    langs = []
    for code in languages:
        try:
            langs.append(Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())))
        except AttributeError:
            raise InputDataError(f"lyrics: unknown language code {code!r} in config") from None
    if len(langs) < 2:
        raise InputDataError("lyrics: language detection needs at least two languages")
    return LanguageDetectorBuilder.from_languages(*langs).with_low_accuracy_mode().build()


def detect_languages(texts: Sequence[str], cfg: LyricsConfig) -> list[str]:
    """ISO 639-1 code of each text (``"und"`` when empty or undecided), lingua, offline.

    Only the first ``cfg.detect_chars`` characters are looked at, so a 200 kB text costs
    the same as a short one. Deterministic (no sampling).
    """
    detector = _detector(tuple(cfg.languages))
    heads = [t[: cfg.detect_chars] for t in texts]
    found = detector.detect_languages_in_parallel_of(heads)
    return [
        lang.iso_code_639_1.name.lower() if lang is not None and head.strip() else UNDETERMINED
        for lang, head in zip(found, heads, strict=True)
    ]


def latin_share(text: str) -> float:
    """Share of letters in Latin script (1.0 for a text without letters)."""
    letters = len(_LETTER.findall(text))
    return 1.0 if letters == 0 else len(_LATIN.findall(text)) / letters


# --- tokens --------------------------------------------------------------------------------


class _Normaliser:
    """Token → lemma (or ``""`` for a stop word), memoised per language."""

    def __init__(self, language: str, cfg: LyricsConfig) -> None:
        import simplemma

        self.stop = stopwords_for(language, tuple(cfg.extra_stopwords))
        self.min_len = cfg.min_token_len
        self.cache: dict[str, str] = {}
        self.language = language
        try:
            simplemma.lemmatize("test", lang=language)
            self._lemma = functools.partial(simplemma.lemmatize, lang=language)
        except ValueError:  # no dictionary for this language (ja, zh, ko, ...): keep tokens
            self._lemma = None

    def _norm(self, token: str) -> str:
        if "'" in token:
            head, tail = token.split("'", 1)
            if tail in _CONTRACTION_TAILS:  # don't, you're, i'll, we've, i'd, i'm
                return ""
            token = head  # possessive / elision: world's -> world
        if len(token) < self.min_len or token in self.stop:
            return ""
        lemma = self._lemma(token).lower() if self._lemma is not None else token
        if len(lemma) < self.min_len or lemma in self.stop:
            return ""
        return lemma

    def tokens(self, text: str) -> list[str]:
        out = []
        cache = self.cache
        for tok in _TOKEN.findall(_G_DROP.sub("ing", text.lower())):
            norm = cache.get(tok)
            if norm is None:
                norm = cache[tok] = self._norm(tok)
            if norm:
                out.append(norm)
        return out


# --- the whole step ------------------------------------------------------------------------


@dataclass(frozen=True)
class CleanedLyrics:
    """Result of :func:`clean_lyrics`.

    Attributes
    ----------
    frame
        One row per input row, sorted by ``track_id``: ``track_id``, ``source``,
        ``language``, ``status`` (one of :data:`STATUSES`), ``n_chars_raw``,
        ``n_chars_clean``, ``had_artifacts``, ``truncated``, ``non_latin``, ``n_tokens``,
        ``text_clean`` and ``tokens`` (list of lemmas; empty unless ``status == "ok"``).
    report
        Counts by status and language, flags, and the ids of problem documents.
    """

    frame: pd.DataFrame
    report: dict[str, Any]


def _check_input(lyrics: pd.DataFrame) -> None:
    missing = {"track_id", "text"} - set(lyrics.columns)
    if missing:
        raise InputDataError(
            f"lyrics table lacks column(s) {sorted(missing)} (has {list(lyrics.columns)})"
        )
    if lyrics["track_id"].duplicated().any():
        dup = lyrics.loc[lyrics["track_id"].duplicated(), "track_id"].head(5).tolist()
        raise InputDataError(f"lyrics table has duplicate track_id values, e.g. {dup}")


def _clean_chunk(texts: list[str], languages: list[str | None], cfg: LyricsConfig) -> dict:
    """Clean a chunk of texts (runs in a worker process for large corpora)."""
    stripped = [strip_artifacts(t) for t in texts]
    truncated = [len(t) > cfg.max_chars for t in stripped]
    clean = [t[: cfg.max_chars] for t in stripped]
    todo = [i for i, lang in enumerate(languages) if not lang]
    detected = detect_languages([clean[i] for i in todo], cfg) if todo else []
    langs = list(languages)
    for i, lang in zip(todo, detected, strict=True):
        langs[i] = lang
    normalisers: dict[str, _Normaliser] = {}
    tokens: list[list[str]] = []
    for text, lang in zip(clean, langs, strict=True):
        if not text or (cfg.language_mode == "english_only" and lang != "en"):
            tokens.append([])
            continue
        norm = normalisers.get(lang)
        if norm is None:
            norm = normalisers[lang] = _Normaliser(lang, cfg)
        tokens.append(norm.tokens(text))
    return {
        "text_clean": clean,
        "truncated": truncated,
        "language": langs,
        "non_latin": [latin_share(t[: cfg.detect_chars]) < 0.5 for t in clean],
        "tokens": tokens,
    }


def _chunks(n: int, parts: int) -> list[slice]:
    bounds = np.linspace(0, n, parts + 1).astype(int)
    return [slice(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def clean_lyrics(lyrics: pd.DataFrame, cfg: LyricsConfig) -> CleanedLyrics:
    """Clean a lyrics table into tokens ready for a topic model.

    Parameters
    ----------
    lyrics
        Columns ``track_id`` (unique), ``text`` (raw, may be null/empty) and optional
        ``source`` and ``language`` (ISO 639-1; used where given, detected elsewhere).
        Not modified.
    cfg
        Cleaning settings.

    Returns
    -------
    CleanedLyrics
        The cleaned frame (sorted by ``track_id``) and a report. Empty, whitespace-only,
        artifact-only, very long and non-Latin texts never raise: they get a status or flag.

    Raises
    ------
    InputDataError
        Required columns missing or duplicate track ids.
    """
    _check_input(lyrics)
    frame = lyrics.sort_values("track_id", kind="stable").reset_index(drop=True)
    texts = frame["text"].astype(object).where(frame["text"].notna(), "").astype(str).tolist()
    if "language" in frame.columns:
        given = [v if isinstance(v, str) and v else None for v in frame["language"].tolist()]
    else:
        given = [None] * len(texts)
    n_jobs = cfg.n_jobs or _cpu_count()
    if n_jobs > 1 and len(texts) >= cfg.parallel_min_docs:
        parts = _chunks(len(texts), n_jobs * 4)
        # spawn, not fork: lingua's Rust thread pool does not survive a fork (deadlock)
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx) as pool:
            futures = [pool.submit(_clean_chunk, texts[s], given[s], cfg) for s in parts]
            results = [f.result() for f in futures]
        cleaned = {k: [v for r in results for v in r[k]] for k in results[0]}
    else:
        cleaned = _clean_chunk(texts, given, cfg)

    empty = np.array([not t.strip() for t in texts], dtype=bool)
    no_text = np.array([not t for t in cleaned["text_clean"]], dtype=bool) & ~empty
    langs = np.asarray(cleaned["language"], dtype=object)
    excluded = (
        (langs != "en") & ~empty & ~no_text
        if cfg.language_mode == "english_only"
        else np.zeros(len(texts), dtype=bool)
    )
    n_tokens = np.array([len(t) for t in cleaned["tokens"]], dtype=np.int64)
    few = ~empty & ~no_text & ~excluded & (n_tokens < cfg.min_doc_tokens)
    status = np.select(
        [empty, no_text, excluded, few],
        ["empty", "no_text_after_cleaning", "excluded_language", "too_few_tokens"],
        default="ok",
    )
    tokens = [t if s == "ok" else [] for t, s in zip(cleaned["tokens"], status, strict=True)]
    out = pd.DataFrame(
        {
            "track_id": frame["track_id"].to_numpy(),
            "source": frame["source"].astype(str).to_numpy()
            if "source" in frame.columns
            else np.full(len(frame), "unknown", dtype=object),
            "language": langs.astype(str),
            "status": status.astype(str),
            "n_chars_raw": np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts)),
            "n_chars_clean": np.fromiter(
                (len(t) for t in cleaned["text_clean"]), dtype=np.int64, count=len(texts)
            ),
            "had_artifacts": np.array(
                [a.strip() != b for a, b in zip(texts, cleaned["text_clean"], strict=True)]
            ),
            "truncated": np.asarray(cleaned["truncated"], dtype=bool),
            "non_latin": np.asarray(cleaned["non_latin"], dtype=bool) & ~empty & ~no_text,
            "n_tokens": np.array([len(t) for t in tokens], dtype=np.int64),
            "text_clean": cleaned["text_clean"],
            "tokens": tokens,
        }
    )
    report = cleaning_report(out)
    logger.info(
        "cleaned %d lyrics: %s",
        len(out),
        ", ".join(f"{k} {v}" for k, v in report["status"].items()),
    )
    return CleanedLyrics(frame=out, report=report)


def cleaning_report(frame: pd.DataFrame, max_ids: int = 20) -> dict[str, Any]:
    """Counts by status and language, flag counts and example ids of problem documents."""
    problems = {}
    for name, mask in (
        *((s, frame["status"] == s) for s in STATUSES if s != "ok"),
        ("truncated", frame["truncated"]),
        ("non_latin", frame["non_latin"]),
    ):
        ids = frame.loc[mask, "track_id"].head(max_ids).tolist()
        if ids:
            problems[name] = ids
    return {
        "n_docs": len(frame),
        "status": {s: int((frame["status"] == s).sum()) for s in STATUSES},
        "languages": {k: int(v) for k, v in frame["language"].value_counts().sort_index().items()},
        "had_artifacts": int(frame["had_artifacts"].sum()),
        "truncated": int(frame["truncated"].sum()),
        "non_latin": int(frame["non_latin"].sum()),
        "tokens_total": int(frame["n_tokens"].sum()),
        "problem_track_ids": problems,
    }


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
