"""Name normalisation for matching artists and titles across catalogues.

Two levels: :func:`exact_key` is the strict key (case, accents and punctuation folded, as the
providers' ``match_key``); :func:`artist_key` and :func:`title_key` also drop what differs
between releases of one recording and one performer: ``feat.``/``ft.`` credits, a leading
``The``, ``&``/``and``, and remaster/live/version/edit suffixes in brackets or after `` - ``.
Remixes and acoustic or instrumental versions are kept apart (different audio or text).
"""

from __future__ import annotations

import re
import unicodedata

_QUOTES = re.compile(r"[\"'`´‘’“”]")
_NON_WORD = re.compile(r"[^\w]+")
#: words that mark a bracket or dash suffix as release detail, not part of the title
_DETAIL = (
    r"feat|ft|featuring|with|remaster|remastered|remasterd|live|version|versie|edit|"
    r"radio|single|album|mono|stereo|explicit|clean|deluxe|bonus|demo|original|"
    r"bonustrack|re ?recorded|anniversary|expanded|from|taken|soundtrack|ost|\d{4}"
)
_DETAIL_WORD = re.compile(rf"\b(?:{_DETAIL})\b", re.IGNORECASE)
_BRACKET = re.compile(r"[\(\[]([^\)\]]*)[\)\]]")
_DASH_TAIL = re.compile(r"\s+[-–—]\s+(.*)$")
_FEAT_TAIL = re.compile(r"\s+[\(\[]?(?:feat\.?|ft\.?|featuring)\s.*$", re.IGNORECASE)
_ARTIST_SPLIT = re.compile(r"\s*(?:,|&|\bx\b|\band\b|\+|/|\bvs\.?|\bmet\b|\bwith\b)\s*")


def fold(text: object) -> str:
    """Case-folded, accent-free, punctuation-free text with single spaces ("" for NA)."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    s = unicodedata.normalize("NFKD", str(text))
    s = "".join(c for c in s if not unicodedata.combining(c)).casefold()
    s = _QUOTES.sub("", s).replace("&", " and ")
    return " ".join(_NON_WORD.sub(" ", s).replace("_", " ").split())


def exact_key(artist: object, title: object) -> str:
    """The strict artist + title key (brackets and ``feat.`` kept, only case/punctuation
    folded), so that a match on it needs no fuzzy step."""
    return f"{fold(artist)}\t{fold(title)}"


def artist_key(artist: object) -> str:
    """The performer without ``feat.`` credits or a leading ``The``."""
    if artist is None or (isinstance(artist, float) and artist != artist):
        return ""
    s = _FEAT_TAIL.sub("", str(artist))
    s = fold(s)
    return s[4:] if s.startswith("the ") and len(s) > 4 else s


def artist_parts(artist: object) -> list[str]:
    """:func:`artist_key` of each artist of a joint credit (``A & B``, ``A, B``, ``A x B``).

    The whole credit comes first; a single artist gives one key.
    """
    whole = artist_key(artist)
    if artist is None or (isinstance(artist, float) and artist != artist):
        return []
    raw = _FEAT_TAIL.sub("", str(artist))
    parts = [artist_key(p) for p in _ARTIST_SPLIT.split(raw) if p and p.strip()]
    out = [whole] if whole else []
    out += [p for p in parts if p and p not in out]
    return out


def title_key(title: object) -> str:
    """The title without release detail: ``(feat. X)``, ``- 2011 Remaster``, ``(Live)``,
    ``[Radio Edit]`` … (a bracket or dash suffix is dropped when it names such detail)."""
    if title is None or (isinstance(title, float) and title != title):
        return ""
    s = unicodedata.normalize("NFKC", str(title))
    s = _BRACKET.sub(lambda m: " " if _DETAIL_WORD.search(m.group(1)) else f" {m.group(1)} ", s)
    m = _DASH_TAIL.search(s)
    if m and _DETAIL_WORD.search(m.group(1)):
        s = s[: m.start()]
    s = _FEAT_TAIL.sub("", s)
    return fold(s)


#: words that make a different recording or text of the same song: a fuzzy title match must
#: agree on them (``Song`` is not ``Song - Remix``)
VERSION_WORDS = frozenset({"remix", "mix", "acoustic", "instrumental", "karaoke", "cover", "dub"})


def version_words(title_key_text: str) -> frozenset[str]:
    """The :data:`VERSION_WORDS` in a :func:`title_key`."""
    return frozenset(title_key_text.split()) & VERSION_WORDS


def compact(name: object) -> str:
    """:func:`artist_key` without spaces, and without trailing characters of another script
    appended to a Latin name (``Britney Spears씨``, ``Paramore攀``: scraping debris)."""
    key = artist_key(name)
    if any("a" <= c <= "z" for c in key):
        while key and ord(key[-1]) > 0x24F:
            key = key[:-1]
    return key.replace(" ", "")
