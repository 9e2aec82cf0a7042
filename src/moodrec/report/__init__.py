"""The per-run report: stage results → sections → one self-contained HTML file + Markdown."""

from moodrec.report.build import Block, Report, Section, build_report
from moodrec.report.render import render_html, render_markdown, write_report
from moodrec.report.study import build_study_report

__all__ = [
    "Block",
    "Report",
    "Section",
    "build_report",
    "build_study_report",
    "render_html",
    "render_markdown",
    "write_report",
]
