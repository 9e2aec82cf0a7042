"""Stop words for lyrics: a general list per language plus lyric filler words.

English uses gensim's list (the Glasgow list) minus a few content words that lyrics use as
content ("fire", "cry", "alone", ...); other languages use ``stopwordsiso``. The filler list is
the seed study's (yeah, oh, ooh, hey, gon, ...) widened with the glue words every pop lyric
repeats; those carry no topic and would otherwise dominate every topic's top words.
"""

from __future__ import annotations

import functools
import logging

logger = logging.getLogger(__name__)

#: Sung filler and glue words (English) removed from every lyric.
FILLER_WORDS: frozenset[str] = frozenset(
    {
        "yeah",
        "yea",
        "yeh",
        "oh",
        "ooh",
        "ohh",
        "oooh",
        "hey",
        "gon",
        "gonna",
        "wanna",
        "gotta",
        "na",
        "nah",
        "la",
        "da",
        "uh",
        "ah",
        "ahh",
        "woah",
        "whoa",
        "mmm",
        "mm",
        "hmm",
        "huh",
        "ha",
        "hah",
        "ay",
        "ayy",
        "aye",
        "yo",
        "ya",
        "yah",
        "ooo",
        "oo",
        "eh",
        "ow",
        "whoo",
        "woo",
        "wooh",
        "lil",
        "baby",
        "babe",
        "like",
        "got",
        "get",
        "gets",
        "getting",
        "let",
        "know",
        "come",
        "comes",
        "coming",
        "go",
        "goes",
        "going",
        "went",
        "say",
        "said",
        "tell",
        "want",
        "feel",
        "make",
        "time",
        "way",
        "tonight",
        "really",
        "cause",
        "cuz",
        "coz",
        "till",
        "til",
        "ain",
        "wit",
        "bout",
        "thing",
        "things",
        "right",
        "little",
        "lemme",
        "gimme",
        "imma",
        "tryna",
    }
)

#: Words of the general English list that lyrics use as content, so they are kept.
_KEEP_EN: frozenset[str] = frozenset(
    {"fire", "cry", "alone", "empty", "together", "move", "home", "find", "found", "free"}
)


@functools.cache
def stopwords_for(language: str, extra: tuple[str, ...] = ()) -> frozenset[str]:
    """Stop words for an ISO 639-1 ``language`` (empty set for unknown codes) plus ``extra``.

    English always adds :data:`FILLER_WORDS`; every language adds the English filler too,
    because English interjections turn up in lyrics of every language.
    """
    words: set[str]
    if language == "en":
        from gensim.parsing.preprocessing import STOPWORDS

        words = set(STOPWORDS) - _KEEP_EN
    else:
        import stopwordsiso

        words = set(stopwordsiso.stopwords(language)) if stopwordsiso.has_lang(language) else set()
        if not words:
            logger.info("no stop-word list for language %r; using the filler list only", language)
    return frozenset(words | FILLER_WORDS | {w.lower() for w in extra})
