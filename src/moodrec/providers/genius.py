"""Genius provider (lyricsgenius): search, title/artist verification, lyrics from the page.

lyricsgenius turns a Cloudflare 403 page into "no lyrics"; here every non-2xx answer is
raised by a ``requests`` response hook as a :class:`ProviderError` (403 → ``blocked``), so a
refusal is never stored as a negative.

Lyrics extraction (:func:`extract_lyrics`): text of every ``data-lyrics-container`` div,
``<br>`` → newline, containers joined by a newline, in-lyrics ad blocks → newline,
section-header lines (``[Chorus]``, a bare ``(Verse 1)``) dropped, whitespace collapsed per
line, runs of blank lines collapsed to one. A page without containers (instrumental,
untranscribed) gives ``None`` ("no lyrics").
"""

from __future__ import annotations

import logging
import re
from typing import Any

import requests
from pydantic import SecretStr

from moodrec.providers.base import (
    LookupResult,
    ProviderError,
    call_with_retries,
    normalise_title,
    parse_retry_after,
    similarity,
)
from moodrec.providers.config import GeniusConfig
from moodrec.providers.ratelimit import limited_session

logger = logging.getLogger(__name__)

# "[Chorus: X]" and a bare "(Verse 1)" line are section headers, not lyrics
_HEADER_LINE = re.compile(
    r"^\s*(?:\[[^\]\n]*\]|\((?:verse|chorus|pre-chorus|bridge|intro|outro|hook|refrain|"
    r"interlude)\b[^)\n]*\))\s*$",
    re.IGNORECASE,
)


def normalise_lyrics(text: str) -> str:
    """The documented normalisation: header lines out, spaces collapsed, one blank line max."""
    if "<br>" in text:  # reference files: "<br>" ends a line, the newline is formatting
        text = text.replace("\r", "").replace("\n", "").replace("<br>", "\n")
    lines = [re.sub(r"\s+", " ", line).strip() for line in text.split("\n")]
    lines = [line for line in lines if not _HEADER_LINE.match(line)]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def extract_lyrics(page_html: str) -> str | None:
    """Lyrics of a genius.com song page, or ``None`` when the page has none.

    Parameters
    ----------
    page_html
        The page as served.

    Returns
    -------
    str or None
        Normalised lyrics (:func:`normalise_lyrics`); ``None`` for instrumental or
        untranscribed pages (no ``data-lyrics-container`` div with text).
    """
    from bs4 import BeautifulSoup, NavigableString

    soup = BeautifulSoup(page_html, "html.parser")
    containers = soup.find_all("div", attrs={"data-lyrics-container": "true"})
    if not containers:
        return None
    parts = []
    for container in containers:
        for header in container.find_all("div", class_=re.compile("LyricsHeader")):
            header.decompose()
        # an in-lyrics ad block ("data-exclude-from-selection") stands in for a line break
        for excluded in container.find_all(attrs={"data-exclude-from-selection": "true"}):
            excluded.replace_with(NavigableString("\n"))
        for br in container.find_all("br"):
            br.replace_with(NavigableString("\n"))
        parts.append(container.get_text())
    # a container boundary is a line break on genius.com
    text = normalise_lyrics("\n".join(parts))
    return text or None


def _raise_for_status(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """``requests`` hook: every non-2xx Genius answer becomes a :class:`ProviderError`."""
    status = response.status_code
    if status < 300:
        return
    endpoint = response.request.path_url.split("?")[0] if response.request else "?"
    cloudflare = "cloudflare" in (response.headers.get("Server", "") + response.text[:2000]).lower()
    kind = "blocked" if status in (401, 403) or cloudflare else "error"
    raise ProviderError(
        f"genius {endpoint}: HTTP {status}{' (Cloudflare)' if cloudflare else ''}",
        status=kind,  # type: ignore[arg-type]
        http_status=status,
        retry_after=parse_retry_after(response.headers.get("Retry-After"))
        if status == 429
        else None,
    )


class GeniusProvider:
    """Lyrics through lyricsgenius with base URLs from config."""

    name = "genius"

    def __init__(self, cfg: GeniusConfig, token: SecretStr) -> None:
        import lyricsgenius

        self.cfg = cfg
        g = lyricsgenius.Genius(
            token.get_secret_value(), timeout=int(cfg.retry.timeout_s), sleep_time=0, retries=0
        )
        g.API_ROOT = cfg.api_root
        g.PUBLIC_API_ROOT = cfg.public_api_root
        g.WEB_ROOT = cfg.web_root
        session = limited_session(
            cfg.rate_limit,
            cfg.api_root,
            cfg.public_api_root,
            cfg.web_root,
            max_pause_s=cfg.retry.max_retry_after_s,
            unreachable_after=cfg.retry.unreachable_after,
        )
        session.headers = g._session.headers
        session.proxies = g._session.proxies
        session.hooks["response"].append(_raise_for_status)
        g._session.close()
        g._session = session
        self._g = g

    def __repr__(self) -> str:
        return f"GeniusProvider(api_root={self.cfg.api_root!r})"

    def _call(self, endpoint: str, fn: Any, expect: Any = None) -> Any:
        """``fn()`` with retries; a body that is not JSON, or fails ``expect`` (its shape),
        is a retryable ``error``: only a well-formed answer says ``found`` / ``not_found``."""

        def wrapped() -> Any:
            try:
                body = fn()
            except ProviderError:
                raise
            except requests.RequestException as exc:
                raise ProviderError(f"genius {endpoint}: {type(exc).__name__}") from None
            except ValueError as exc:
                raise ProviderError(f"genius {endpoint}: bad body ({exc})") from None
            if expect is not None and not expect(body):
                raise ProviderError(f"genius {endpoint}: unexpected answer shape")
            return body

        return call_with_retries(self.cfg.retry, wrapped)

    def lyrics(self, artist: str, title: str) -> LookupResult:
        """Search, verify (title and artist similarity), then read lyrics from the page."""
        q = f"{normalise_title(title)} {normalise_title(artist)}"
        body = self._call(
            "search",
            lambda: self._g.search_songs(q, per_page=self.cfg.per_page),
            lambda b: isinstance(b, dict) and isinstance(b.get("hits"), list),
        )
        best: tuple[float, dict[str, Any]] | None = None
        for hit in body["hits"]:
            song = hit.get("result") or {}
            s_title = similarity(title, song.get("title") or "")
            s_artist = similarity(artist, (song.get("primary_artist") or {}).get("name") or "")
            if s_title >= self.cfg.min_title_match and s_artist >= self.cfg.min_artist_match:
                score = min(s_title, s_artist)
                if best is None or score > best[0]:
                    best = (score, song)
        if best is None:
            return LookupResult("not_found", detail="no verified search hit")
        score, song = best
        path = song["url"].replace("https://genius.com/", "")
        page = self._call(
            "page",
            lambda: self._g._make_request(path, web=True)["html"],
            lambda b: isinstance(b, str) and bool(b.strip()),
        )
        text = extract_lyrics(page)
        if text is None:
            return LookupResult("not_found", detail="page has no lyrics")
        return LookupResult(
            "found",
            {"text": text, "match_score": score, "genius_id": song.get("id"), "url": song["url"]},
        )
