"""The handover report as GitHub-flavoured Markdown, one table per list of facts.

Pure and deterministic (the same report gives the same bytes: nothing reads the clock). All
user text is escaped here: every character that could start markup is backslash-escaped and
line breaks are collapsed (a table row stays one row).
"""

from __future__ import annotations

import re

from kam_api.report.document import (
    NO_TREND,
    Block,
    Bullets,
    Fields,
    Inline,
    Line,
    Mark,
    Note,
    Para,
    Strong,
    Sub,
    Table,
    clean,
)
from kam_api.report.layout import layout
from kam_projections.handover.model import HandoverReport

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|&~$!])")
# A line start that makes a heading, list item or setext underline (``#`` whatever follows).
_MD_LEADING = re.compile(r"^(#|[+=-](?=\s|$))|^(\d+)([.)])(?=\s|$)")


def render_markdown(report: HandoverReport) -> str:
    """The report as GitHub-flavoured Markdown, one table per list of facts."""
    doc = layout(report)
    out = [f"# Handover report: {_md(doc.account_name)}", "", *_md_fields(doc.header)]
    for section in doc.sections:
        out += ["", f"## {section.number}. {section.title}"]
        for block in section.blocks:
            out += ["", *_md_block(block)]
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    """User text that Markdown shows as typed: never markup, a link, HTML or a new line."""
    escaped = _MD_SPECIAL.sub(r"\\\1", clean(text))
    return _MD_LEADING.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", escaped)


def _md_inline(part: Inline) -> str:
    if isinstance(part, str):
        return _md(part)
    if isinstance(part, Strong | Mark):
        return _md_wrap("**", part.text)
    if isinstance(part, Note):
        return _md_wrap("_", part.text)
    if not part.positions:
        return ""
    return "[" + ", ".join(f"#{p}" for p in part.positions) + "]"


def _md_wrap(marker: str, text: str) -> str:
    """Emphasis around escaped text; none around nothing (``****`` would show as is)."""
    escaped = _md(text)
    return f"{marker}{escaped}{marker}" if escaped else ""


def _md_line(line: Line) -> str:
    return " ".join(text for text in map(_md_inline, line) if text)


def _md_fields(fields: Fields) -> list[str]:
    return [f"- **{_md(key)}:** {_md_line(value)}" for key, value in fields.items]


def _md_block(block: Block) -> list[str]:
    if isinstance(block, Fields):
        return _md_fields(block)
    if isinstance(block, Table):
        if not block.rows:
            return [f"_{_md(block.empty)}_"]
        cells = [[_md_line(cell) for cell in row.cells] for row in block.rows]
        return _md_table([_md(h) for h in block.headers], cells)
    if isinstance(block, Bullets):
        return [f"- {_md_line(item)}" for item in block.items] or [f"_{_md(block.empty)}_"]
    if isinstance(block, Para):
        return [_md_line(block.line)]
    if isinstance(block, Sub):
        return [f"### {_md(block.title)}"]
    if not block.trend:
        return [f"_{_md(NO_TREND)}_"]
    trend = [[_md(p.on), str(p.score), _md(p.band)] for p in block.trend]
    return _md_table(["Date", "Score", "Band"], trend)


def _md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = [headers, ["---"] * len(headers), *rows]
    return ["| " + " | ".join(cell or " " for cell in line) + " |" for line in lines]
