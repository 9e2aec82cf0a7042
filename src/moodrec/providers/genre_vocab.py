"""Which folksonomy tags are genres: the vocabulary the open genre sources are filtered by.

MusicBrainz separates genres from tags itself (``genres`` is a curated list); Last.fm top
tags and MusicBrainz tags mix genres with everything else ("seen live", "favorites",
"female vocalists", years). A tag counts as a genre when, after :func:`normalise_tag`
(lower case, ``&`` → ``and``, ``-``/``_``/``/`` → space; compared without spaces, so
"synth-pop" = "synthpop"):

1. it is in the vocabulary: beets' ``lastgenre`` whitelist (1,568 genres from Wikipedia's
   list, ``providers/data/genres_beets.txt``; see ``providers/data/README.md``), the study's
   nine super-genres (:data:`moodrec.domain.SUPER_GENRES`) and the lines of an optional
   extra file (``enrich.genre_vocabulary_path``; e.g. the genre tags of the HetRec 2011
   Last.fm tag graph, whose data cannot ship here);
2. or it is a vocabulary genre with one or two qualifier words in front ("swedish synthpop",
   "dutch indie pop"), none of them a digit-only year or decade.

Anything else is kept as a plain tag (``artist_tags`` / ``track_tags``, ``kind = "tag"``).
MusicBrainz's own ``genres`` are genres by definition (``kind = "genre"`` whatever this
vocabulary says). The vocabulary is fixed for a run, so a batch's answer never depends on
which batches ran before it (resumed and fresh runs agree).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

from moodrec.domain import SUPER_GENRES
from moodrec.errors import InputDataError

_SEP = re.compile(r"[-_/]+")
_SPACE = re.compile(r"\s+")
_DECADE = re.compile(r"^\d+s?$|^'?\d0s$")


def normalise_tag(tag: str) -> str:
    """Lower case, ``&`` → ``and``, separators → spaces, spaces collapsed."""
    s = tag.casefold().replace("&", " and ")
    s = _SEP.sub(" ", s)
    return _SPACE.sub(" ", s).strip()


@lru_cache(maxsize=1)
def _builtin() -> frozenset[str]:
    text = (
        resources.files("moodrec.providers")
        .joinpath("data/genres_beets.txt")
        .read_text(encoding="utf-8")
    )
    names = {_compact(line) for line in text.splitlines() if line.strip()}
    return frozenset(names | {_compact(g) for g in SUPER_GENRES})


def _compact(tag: str) -> str:
    """The matching key: normalised without spaces ("synth-pop" = "synthpop")."""
    return normalise_tag(tag).replace(" ", "")


class GenreVocabulary:
    """The genre vocabulary of one run (the built-in list + extra names).

    Parameters
    ----------
    extra
        More genre names (e.g. MusicBrainz genres seen in the run).
    """

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self._names = set(_builtin())
        self.add(extra)

    @classmethod
    def with_file(cls, path: Path | str | None) -> GenreVocabulary:
        """The built-in vocabulary plus one genre per non-empty line of ``path``.

        Raises
        ------
        InputDataError
            ``path`` is given but cannot be read.
        """
        if path is None:
            return cls()
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise InputDataError(f"genre vocabulary {path}: {exc}") from None
        return cls(line for line in lines if line.strip())

    def __len__(self) -> int:
        return len(self._names)

    def add(self, names: Iterable[str]) -> None:
        """Add genre names (normalised)."""
        self._names.update(_compact(n) for n in names if n and n.strip())

    def is_genre(self, tag: str) -> bool:
        """True when ``tag`` is a vocabulary genre or one with 1–2 qualifier words in front."""
        t = normalise_tag(tag)
        if not t:
            return False
        if t.replace(" ", "") in self._names:
            return True
        words = t.split()
        for cut in (1, 2):
            if len(words) > cut and "".join(words[cut:]) in self._names:
                return not any(_DECADE.match(w) for w in words[:cut])
        return False

    def genres(self, tags: Iterable[str]) -> list[str]:
        """The genre tags of ``tags``, normalised, first occurrence order, no duplicates."""
        out: dict[str, None] = {}
        for tag in tags:
            if self.is_genre(tag):
                out.setdefault(normalise_tag(tag), None)
        return list(out)
