"""Lyrics written from planted topics, with and without Genius scrape artifacts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from moodrec.sandbox import vocab

#: Share of topic words among English lyric words (the rest are filler / stop words).
TOPIC_WORD_SHARE = 0.55
#: Share of lyric texts that carry Genius scrape artifacts.
ARTIFACT_SHARE = 0.45


def topic_word_weights() -> list[np.ndarray]:
    """Word distribution of each topic over its own vocabulary (Zipf-like, sums to 1)."""
    out = []
    for _, words in vocab.TOPICS:
        w = (np.arange(len(words)) + 1.0) ** -0.7
        out.append(w / w.sum())
    return out


@dataclass(frozen=True)
class LyricTexts:
    """Generated lyrics for a set of tracks (parallel lists)."""

    raw: list[str]
    clean: list[str]
    has_artifacts: np.ndarray


def _capitalise(line: list[str]) -> str:
    words = ["I" if w == "i" else ("I'm" if w == "i'm" else w) for w in line]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def generate_lyrics(
    rng: np.random.Generator,
    titles: list[str],
    artists: list[str],
    topics: np.ndarray,
    languages: list[str],
) -> LyricTexts:
    """Write one lyric per track: verses and a repeated chorus, ~80–250 words.

    Parameters
    ----------
    rng
        Stream for the lyric draws.
    titles, artists
        Track title and artist name of each track (used by Genius headers).
    topics
        Shape ``(n, n_topics)``: each track's topic mixture (rows sum to 1).
    languages
        ``"en"`` or a code of :data:`vocab.LANGUAGE_WORDS`; non-English lyrics use that
        language's word list and do not express the topic mixture.

    Returns
    -------
    LyricTexts
        ``raw`` (with artifacts where ``has_artifacts``) and ``clean`` (lyric lines only,
        stanzas separated by a blank line).
    """
    n = len(titles)
    topic_words = [np.asarray(words, dtype=object) for _, words in vocab.TOPICS]
    topic_cum = [np.cumsum(w) for w in topic_word_weights()]
    filler = np.asarray(vocab.FILLER_WORDS, dtype=object)
    lang_words = {code: np.asarray(words, dtype=object) for code, words in vocab.LANGUAGE_WORDS}
    has_artifacts = rng.random(n) < ARTIFACT_SHARE
    raw_out: list[str] = []
    clean_out: list[str] = []
    for i in range(n):
        extra_verse = bool(rng.random() < 0.3)
        bridge = bool(rng.random() < 0.5)
        # (kind, number) of each stanza; the chorus text is written once and repeated.
        plan: list[tuple[str, int]] = [("Verse", 1), ("Chorus", 0), ("Verse", 2), ("Chorus", 0)]
        if extra_verse:
            plan.append(("Verse", 3))
        if bridge:
            plan.append(("Bridge", 0))
        plan.append(("Chorus", 0))
        n_unique_lines = 4 * (3 if extra_verse else 2) + 4 + (2 if bridge else 0)
        lengths = rng.integers(4, 10, size=n_unique_lines)
        total = int(lengths.sum())
        if languages[i] == "en":
            words = filler[rng.integers(0, filler.size, size=total)]
            is_topic = rng.random(total) < TOPIC_WORD_SHARE
            z = np.searchsorted(np.cumsum(topics[i]), rng.random(total) * 0.999999, side="right")
            z = np.minimum(z, len(topic_words) - 1)
            u = rng.random(total)
            for k in np.unique(z[is_topic]):
                sel = is_topic & (z == k)
                idx = np.searchsorted(topic_cum[k], u[sel] * 0.999999, side="right")
                words[sel] = topic_words[k][idx]
        else:
            pool = lang_words[languages[i]]
            words = pool[rng.integers(0, pool.size, size=total)]
        lines = np.split(words, np.cumsum(lengths)[:-1])
        texts = [_capitalise(list(line)) for line in lines]
        verses = [texts[j * 4 : j * 4 + 4] for j in range(3 if extra_verse else 2)]
        chorus_at = 4 * len(verses)
        chorus = texts[chorus_at : chorus_at + 4]
        bridge_lines = texts[chorus_at + 4 :]
        stanzas: list[tuple[str, list[str]]] = []
        for kind, num in plan:
            if kind == "Verse":
                stanzas.append((f"Verse {num}", verses[num - 1]))
            elif kind == "Chorus":
                stanzas.append(("Chorus", chorus))
            else:
                stanzas.append(("Bridge", bridge_lines))
        clean = "\n\n".join("\n".join(lines_) for _, lines_ in stanzas)
        clean_out.append(clean)
        if not has_artifacts[i]:
            raw_out.append(clean)
            continue
        raw_out.append(_with_artifacts(rng, stanzas, titles[i], artists[i]))
    return LyricTexts(raw=raw_out, clean=clean_out, has_artifacts=has_artifacts)


def _with_artifacts(
    rng: np.random.Generator, stanzas: list[tuple[str, list[str]]], title: str, artist: str
) -> str:
    """Render stanzas the way a Genius page scrape comes out."""
    contributors = int(rng.integers(1, 120))
    noun = "Contributor" if contributors == 1 else "Contributors"
    header_line = f"{contributors} {noun}{title} Lyrics"
    blocks: list[str] = []
    might_like_after = int(rng.integers(1, len(stanzas)))
    for j, (header, lines) in enumerate(stanzas):
        if header.startswith("Verse") and rng.random() < 0.5:
            header = f"{header}: {artist}"
        elif header == "Chorus" and rng.random() < 0.3:
            header = f"Chorus: {artist}"
        block = [f"[{header}]", *lines]
        if j == might_like_after:
            block.insert(1, "You might also like")
        blocks.append("\n".join(block))
    embed = f"{int(rng.integers(1, 60))}Embed" if rng.random() < 0.7 else "Embed"
    return header_line + "\n" + "\n\n".join(blocks) + embed
