"""The handover report as GitHub-flavoured Markdown, one table per list of facts.

Pure and deterministic (the same report gives the same bytes: nothing reads the clock). All
user text is escaped here: every character that could start markup is backslash-escaped and
line breaks are collapsed (a table row stays one row). Each source is the event's name as a
reference link (``[action added][e36]``) whose definition, at the end, points to the event in
the account's history; without a base URL the sources are plain text.
"""

from __future__ import annotations

import re

from kam_api.report.document import (
    NO_TREND,
    Block,
    Bullets,
    Document,
    Fields,
    Inline,
    Line,
    Mark,
    Note,
    Para,
    Sources,
    Strong,
    Sub,
    Table,
    clean,
    history_link,
)
from kam_api.report.layout import layout
from kam_projections.handover.model import HandoverReport

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|&~$!])")
# A line start that makes a heading, list item or setext underline (``#`` whatever follows).
_MD_LEADING = re.compile(r"^(#|[+=-](?=\s|$))|^(\d+)([.)])(?=\s|$)")


def render_markdown(report: HandoverReport, base_url: str | None = None) -> str:
    """The report as GitHub-flavoured Markdown, one table per list of facts; its sources
    link to ``base_url``'s history of the account (None: plain text)."""
    writer = _Writer(layout(report), base_url)
    return writer.write()


class _Writer:
    def __init__(self, doc: Document, base_url: str | None) -> None:
        self.doc = doc
        self.base_url = base_url
        self.linked: set[int] = set()

    def write(self) -> str:
        doc = self.doc
        out = [f"# Handover report: {_md(doc.account_name)}", "", *self.fields(doc.header)]
        for section in doc.sections:
            number = "" if section.number is None else f"{section.number}. "
            out += ["", f"## {number}{_md(section.title)}"]
            for block in section.blocks:
                out += ["", *self.block(block)]
        if self.linked and self.base_url is not None:
            out.append("")
            for position in sorted(self.linked):
                cited = doc.cited_as(position)
                url = history_link(self.base_url, doc.account_id, position)
                title = cited.title(position)
                out.append(f'[e{position}]: <{url}> "{_title(title)}"')
        return "\n".join(out) + "\n"

    def inline(self, part: Inline) -> str:
        if isinstance(part, str):
            return _md(part)
        if isinstance(part, Strong | Mark):
            return _md_wrap("**", part.text)
        if isinstance(part, Note):
            return _md_wrap("_", part.text)
        return self.sources(part)

    def sources(self, sources: Sources) -> str:
        shown = []
        for position in sources.positions:
            words = _md(self.doc.cited_as(position).words)
            if self.base_url is None:
                shown.append(f"{words} (event {position})")
            else:
                self.linked.add(position)
                shown.append(f"[{words}][e{position}]")
        return ", ".join(shown)

    def line(self, line: Line) -> str:
        return " ".join(text for text in map(self.inline, line) if text)

    def fields(self, fields: Fields) -> list[str]:
        return [f"- **{_md(key)}:** {self.line(value)}" for key, value in fields.items]

    def block(self, block: Block) -> list[str]:
        if isinstance(block, Fields):
            return self.fields(block)
        if isinstance(block, Table):
            if not block.rows:
                return [f"_{_md(block.empty)}_"]
            cells = [[self.line(cell) for cell in row.cells] for row in block.rows]
            return _md_table([_md(h) for h in block.headers], cells)
        if isinstance(block, Bullets):
            return [f"- {self.line(item)}" for item in block.items] or [f"_{_md(block.empty)}_"]
        if isinstance(block, Para):
            return [self.line(block.line)]
        if isinstance(block, Sub):
            return [f"### {_md(block.title)}"]
        if not block.trend:
            return [f"_{_md(NO_TREND)}_"]
        trend = [[_md(p.on), str(p.score), _md(p.band)] for p in block.trend]
        return _md_table(["Date", "Score", "Band"], trend)


def _md(text: str) -> str:
    """User text that Markdown shows as typed: never markup, a link, HTML or a new line."""
    escaped = _MD_SPECIAL.sub(r"\\\1", clean(text))
    return _MD_LEADING.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", escaped)


def _title(text: str) -> str:
    """A link title: in double quotes, so a quote or backslash in it is escaped."""
    return re.sub(r'(["\\])', r"\\\1", clean(text))


def _md_wrap(marker: str, text: str) -> str:
    """Emphasis around escaped text; none around nothing (``****`` would show as is)."""
    escaped = _md(text)
    return f"{marker}{escaped}{marker}" if escaped else ""


def _md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = [headers, ["---"] * len(headers), *rows]
    return ["| " + " | ".join(cell or " " for cell in line) + " |" for line in lines]
