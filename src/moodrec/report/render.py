"""Render a :class:`Report` as one self-contained HTML file and as Markdown.

The HTML needs no network to view: PNGs are embedded as base64 data URIs, plotly.js is
inlined once, and each interactive figure's own ``<div>`` + ``Plotly.newPlot`` script is
taken out of its stage's HTML file (dropping that file's copy or CDN link of plotly.js).
"""

from __future__ import annotations

import base64
import html
import os
import re
from pathlib import Path

from markdown_it import MarkdownIt

from moodrec.orchestration.config import ReportConfig
from moodrec.report.build import _MD_IMAGE, Block, Report, Section
from moodrec.report.checkpoints import SYNTHETIC_BANNER
from moodrec.storage import stage_outputs

_SCRIPT = re.compile(r"<script([^>]*)>(.*?)</script>", re.S | re.I)
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S | re.I)
_PLOTLY_JS_MARK = "plotly.js v"
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1200px;
margin:0 auto;padding:1rem 2rem;color:#1d2330;line-height:1.45}
.banner{background:#fff3cd;border:1px solid #e0b000;padding:.6rem 1rem;border-radius:6px}
h1{margin-top:.6rem}h2{border-bottom:2px solid #dde3ee;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.86rem}
th,td{border:1px solid #d5dbe5;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#eef2f8}.note,.intro{color:#5b6577;font-size:.9rem}.notrun{color:#8a5a00}
img{max-width:100%;height:auto}figure{margin:1rem 0}details{margin:.5rem 0}
nav li{margin:.1rem 0}.md table{font-size:.84rem}.wide,.md{overflow-x:auto}
summary{cursor:pointer;color:#33415c}
h3.question{margin-top:1.6rem;color:#1f3b70}#appendix details{margin:.3rem 0}
"""


def _md() -> MarkdownIt:
    # raw HTML in stage Markdown is escaped: the report never runs a stage's markup
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def data_uri(path: Path | str) -> str:
    """A ``data:`` URI of an image file (PNG, JPEG, SVG, GIF, WebP)."""
    path = Path(path)
    mime = {
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".gif": "image/gif",
        ".webp": "image/webp",
        ".svg": "image/svg+xml",
    }.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _inline_md_images(text: str, folder: Path) -> str:
    def repl(m: re.Match[str]) -> str:
        target = m.group(1)
        p = folder / target
        if "://" in target or target.startswith("data:") or not p.is_file():
            return m.group(0)
        return m.group(0).replace(target, data_uri(p))

    return _MD_IMAGE.sub(repl, text)


def plotly_fragment(page: str) -> str | None:
    """The figure part of a plotly HTML page (its ``<div>`` and ``newPlot`` script).

    Returns ``None`` when the page holds no plotly figure. Script tags that load plotly.js
    from a URL or carry an inline copy of it are dropped: the report inlines it once.
    """
    if "Plotly.newPlot" not in page:
        return None
    body = _BODY.search(page)
    content = body.group(1) if body else page

    def keep(m: re.Match[str]) -> str:
        attrs, inner = m.group(1), m.group(2)
        if "src=" in attrs.lower():
            return ""
        if _PLOTLY_JS_MARK in inner[:2000] or "window.PlotlyConfig" in inner[:200]:
            return ""
        return m.group(0)

    return _SCRIPT.sub(keep, content).strip()


def demote_headings(markdown: str) -> str:
    """Push a stage report's headings two levels down, below the section's ``##``."""
    return re.sub(r"^(#{1,4}) ", r"\1## ", markdown, flags=re.M)


def _table_html(block: Block) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in block.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in block.rows
    )
    note = f'<p class="note">{html.escape(block.note)}</p>' if block.note else ""
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="wide">{table}</div>{note}'


_KEY = re.compile(r"^[a-z0-9_.@]+(?= |$)")
_FILE_KINDS = (" html", " md", " png", " parquet", " json")


def heading(title: str) -> str:
    """A block title for a reader: a raw key (``topic_map_html``, ``by_provider``) becomes
    words (``Topic map``, ``By provider``); titles already in words are kept."""
    match = _KEY.match(title)
    if match is None or "_" not in match.group(0):
        return title
    words = match.group(0).replace("_", " ")
    for kind in _FILE_KINDS:
        words = words.removesuffix(kind)
    return words[:1].upper() + words[1:] + title[match.end() :]


def _block_html(block: Block) -> str:
    title = f"<h3>{html.escape(heading(block.title))}</h3>" if block.title else ""
    if block.kind == "heading":
        return f'<h3 class="question">{html.escape(block.title)}</h3>'
    if block.kind == "plotly":
        return f"<figure>{block.text}</figure>"
    if block.kind == "table":
        if block.folded:
            label = html.escape(f"{heading(block.title)} ({len(block.rows)} rows)")
            return f"<details><summary>{label}</summary>{_table_html(block)}</details>"
        return title + _table_html(block)
    if block.kind == "markdown":
        text = _inline_md_images(demote_headings(block.text), Path(block.path))
        return f'<div class="md">{_md().render(text)}</div>'
    if block.kind == "image":
        alt = html.escape(heading(block.title))
        img = f'<img alt="{alt}" src="{data_uri(block.path)}">'
        return f"<figure>{img}<figcaption>{alt}</figcaption></figure>"
    if block.kind == "figure":
        page = Path(block.path).read_text(encoding="utf-8")
        fragment = plotly_fragment(page)
        if fragment is None:  # some other HTML: keep it sandboxed in an iframe
            fragment = (
                f'<iframe style="width:100%;height:640px;border:0" sandbox="allow-scripts" '
                f'srcdoc="{html.escape(page, quote=True)}"></iframe>'
            )
        return f"{title}<figure>{fragment}</figure>"
    return f"<p>{html.escape(block.text)}</p>"


def _section_html(section: Section, folded: bool = False) -> str:
    """A section; ``folded`` puts it in a closed ``<details>`` (the appendix)."""
    if folded:
        mark = "" if section.ran else ' <span class="notrun">(not run)</span>'
        summary = f"<summary>{html.escape(section.title)}{mark}</summary>"
        return f"<details>{summary}\n{_section_html(section)}\n</details>"
    parts = [f'<section id="{html.escape(section.stage)}"><h2>{html.escape(section.title)}</h2>']
    if section.intro:
        parts.append(f'<p class="intro">{html.escape(section.intro)}</p>')
    if not section.ran:
        parts.append(f'<p class="notrun">Not run: {html.escape(section.reason or "not run")}.</p>')
    parts.extend(_block_html(b) for b in section.blocks)
    parts.append("</section>")
    return "\n".join(parts)


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def render_html(report: Report, cfg: ReportConfig) -> str:
    """The whole report as one HTML document (first line says when the data is synthetic).

    Parameters
    ----------
    report
        The built report.
    cfg
        ``inline_plotly`` decides whether plotly.js is inlined (needed to view the
        interactive figures offline).
    """
    banner_comment = (
        "<!-- SYNTHETIC DATA: made by moodrec's sandbox generator, not real listeners -->\n"
        if report.synthetic
        else ""
    )
    every = (*report.front, *report.sections)
    has_figures = any(b.kind in {"figure", "plotly"} for s in every for b in s.blocks)
    script = (
        f'<script type="text/javascript">{_plotly_js()}</script>'
        if has_figures and cfg.inline_plotly
        else ""
    )
    banner = (
        f'<p class="banner">{_md().renderInline(SYNTHETIC_BANNER)}</p>' if report.synthetic else ""
    )
    toc = "".join(
        f'<li><a href="#{html.escape(s.stage)}">{html.escape(s.title)}</a>'
        + ("" if s.ran else ' <span class="notrun">(not run)</span>')
        + "</li>"
        for s in (report.front or report.sections)
    )
    title = f"{report.title}: {report.profile}"
    if report.front:
        toc += '<li><a href="#appendix">Appendix: every stage in detail</a></li>'
        appendix = "\n".join(_section_html(s, folded=True) for s in report.sections)
        body = "\n".join(_section_html(s) for s in report.front) + (
            '\n<section id="appendix"><h2>Appendix: every stage in detail</h2>'
            '<p class="intro">Each stage\'s own tables, figures and checkpoints (click to '
            f"open).</p>\n{appendix}\n</section>"
        )
    else:
        body = "\n".join(_section_html(s) for s in report.sections)
    run_id = report.provenance.get("run_id")
    subtitle = (
        f'<p class="intro">run {html.escape(str(run_id))}, seed '
        f"{html.escape(str(report.provenance.get('seed')))}, moodrec "
        f"{html.escape(str(report.provenance.get('moodrec_version')))} "
        '(<a href="#provenance">how this report was made</a>)</p>'
        if run_id
        else ""
    )
    return (
        f'{banner_comment}<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>{script}</head>\n<body>\n"
        f"{banner}<h1>{html.escape(title)}</h1>{subtitle}<nav><ol>{toc}</ol></nav>\n{body}\n"
        "</body></html>\n"
    )


#: front sections whose block titles sit below their question headings in Markdown
_FRONT_MD = frozenset({"questions"})


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table_md(block: Block) -> str:
    lines = [
        "| " + " | ".join(_md_cell(c) or " " for c in block.columns) + " |",
        "|" + "---|" * len(block.columns),
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
    if block.note:
        lines += ["", f"_{block.note}_"]
    return "\n".join(lines)


def _link(path: str, base: Path | None) -> str:
    if base is None:
        return path
    try:
        return os.path.relpath(path, base)
    except ValueError:  # another drive (Windows): keep it absolute
        return path


def render_markdown(
    section: Section, *, synthetic: bool = False, link_base: Path | None = None
) -> str:
    """One section as Markdown (a Prefect artifact or a part of ``report.md``).

    Images and interactive figures become links to their files (relative to ``link_base``
    when given); the first line is the synthetic-data banner when ``synthetic``.
    """
    lines = [SYNTHETIC_BANNER, ""] if synthetic else []
    lines += [f"## {section.title}", ""]
    if section.intro:
        lines += [f"_{section.intro}_", ""]
    if not section.ran:
        lines += [f"Not run: {section.reason or 'not run'}.", ""]
    for block in section.blocks:
        if block.kind == "heading":
            lines += [f"### {block.title}", ""]
            continue
        if block.kind == "plotly":
            lines += [f"_interactive figure: {block.title} (in report.html)_", ""]
            continue
        if block.title and block.kind in {"table", "figure"}:
            lines += [
                f"#### {heading(block.title)}"
                if section.stage in _FRONT_MD
                else f"### {heading(block.title)}",
                "",
            ]
        if block.kind == "table":
            lines += [_table_md(block), ""]
        elif block.kind == "markdown":
            lines += [demote_headings(block.text).strip(), ""]
        elif block.kind == "image":
            lines += [f"![{heading(block.title)}]({_link(block.path, link_base)})", ""]
        elif block.kind == "figure":
            link = _link(block.path, link_base)
            lines += [f"[interactive figure: {heading(block.title)}]({link})", ""]
        else:
            lines += [block.text, ""]
    return "\n".join(lines).rstrip() + "\n"


def report_markdown(report: Report, *, link_base: Path | None = None) -> str:
    """The whole report as one Markdown document (banner first when synthetic)."""
    head = [SYNTHETIC_BANNER, ""] if report.synthetic else []
    head += [f"# {report.title}: {report.profile}", ""]
    head += [
        f"- {s.title}: " + ("ran" if s.ran else f"not run ({s.reason or 'not run'})")
        for s in report.sections
    ]
    body = [render_markdown(s, link_base=link_base) for s in (*report.front, *report.sections)]
    return "\n".join(head) + "\n\n" + "\n".join(body)


def write_report(report: Report, out_dir: Path | str, cfg: ReportConfig) -> dict[str, Path]:
    """Write ``report.html`` and ``report.md`` into ``out_dir``, both or neither.

    Returns
    -------
    dict
        ``{"report_html": path, "report_md": path}``.
    """
    out = Path(out_dir)
    with stage_outputs(out, label="report") as staged:
        html_path = staged.write_text(out / "report.html", render_html(report, cfg))
        md_path = staged.write_text(out / "report.md", report_markdown(report, link_base=out))
    return {"report_html": html_path, "report_md": md_path}
