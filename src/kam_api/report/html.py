"""The handover report as one printable HTML page.

Pure and deterministic (the same report gives the same bytes: nothing reads the clock), and it
writes the same document ``layout`` lays out as the Markdown does, so both show the same facts.
All user text goes through ``html.escape``. The page has no script and loads nothing: styles
are inline and the health chart is inline SVG. Each source is the event's name, linked to the
event in the account's history under the base URL given (none: plain text).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from kam_api.report.chart import trend_svg
from kam_api.report.document import (
    NO_TREND,
    Block,
    Bullets,
    Chart,
    Document,
    Fields,
    Inline,
    Line,
    Mark,
    Note,
    Para,
    Section,
    Sources,
    Strong,
    Sub,
    Table,
    clean,
    history_link,
)
from kam_api.report.layout import layout
from kam_projections.handover.model import HandoverReport


def render_html(report: HandoverReport, base_url: str | None = None) -> str:
    """The report as one self-contained HTML page with a print stylesheet for A4; its
    sources link to ``base_url``'s history of the account (None: plain text)."""
    doc = layout(report)
    if base_url is None:
        return _Page(doc, None).write()
    url = base_url

    def link(position: int) -> str:
        return history_link(url, doc.account_id, position)

    return _Page(doc, link).write()


def render_html_body(report: HandoverReport, link: Callable[[int], str]) -> str:
    """The report's content (header, section list and sections, no page around it and no
    styles) to place inside another page; each source links to ``link(position)``."""
    return _Page(layout(report), link).content()


class _Page:
    def __init__(self, doc: Document, link: Callable[[int], str] | None) -> None:
        self.doc = doc
        self.link = link

    def title(self) -> str:
        return f"Handover report: {escape(clean(self.doc.account_name))}"

    def content(self) -> str:
        doc = self.doc
        nav = "".join(f'<li><a href="#{s.anchor}">{_h(s.heading)}</a></li>' for s in doc.sections)
        parts = [
            f"<header><h1>{self.title()}</h1>{self.fields(doc.header, 'meta')}</header>",
            f'<nav aria-label="Sections"><ul>{nav}</ul></nav>',
            *(self.section(s) for s in doc.sections),
        ]
        return "\n".join(parts)

    def write(self) -> str:
        title = self.title()
        body = [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{title}</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            self.content(),
            "</body>",
            "</html>",
        ]
        return "\n".join(body) + "\n"

    def inline(self, part: Inline) -> str:
        if isinstance(part, str):
            return _h(part)
        if isinstance(part, Strong):
            return f"<strong>{_h(part.text)}</strong>"
        if isinstance(part, Note):
            return f'<em class="note">{_h(part.text)}</em>'
        if isinstance(part, Mark):
            return f'<span class="mark mark-{part.kind}">{_h(part.text)}</span>'
        return self.sources(part)

    def sources(self, sources: Sources) -> str:
        """Each position as its event's name, linked to the event in the account's history."""
        if not sources.positions:
            return ""
        shown = []
        for position in sources.positions:
            cited = self.doc.cited_as(position)
            title = _h(cited.title(position))
            if self.link is None:
                shown.append(f'<span title="{title}">{_h(cited.words)}</span>')
            else:
                url = _h(self.link(position))
                shown.append(f'<a href="{url}" title="{title}">{_h(cited.words)}</a>')
        return f'<span class="src">({", ".join(shown)})</span>'

    def line(self, line: Line) -> str:
        return " ".join(html for html in map(self.inline, line) if html)

    def fields(self, fields: Fields, css: str = "fields") -> str:
        items = "".join(
            f"<dt>{_h(key)}</dt><dd>{self.line(value)}</dd>" for key, value in fields.items
        )
        return f'<dl class="{css}">{items}</dl>'

    def block(self, block: Block) -> str:
        if isinstance(block, Fields):
            return self.fields(block)
        if isinstance(block, Table):
            if not block.rows:
                return f'<p class="empty">{_h(block.empty)}</p>'
            head = "".join(f'<th scope="col">{_h(h)}</th>' for h in block.headers)
            rows = "".join(
                (f'<tr class="{row.mark}">' if row.mark else "<tr>")
                + "".join(f"<td>{self.line(cell)}</td>" for cell in row.cells)
                + "</tr>"
                for row in block.rows
            )
            return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        if isinstance(block, Bullets):
            if not block.items:
                return f'<p class="empty">{_h(block.empty)}</p>'
            items = "".join(f"<li>{self.line(item)}</li>" for item in block.items)
            return f"<ul>{items}</ul>"
        if isinstance(block, Para):
            return f"<p>{self.line(block.line)}</p>"
        if isinstance(block, Sub):
            return f"<h3>{_h(block.title)}</h3>"
        return _html_chart(block)

    def section(self, section: Section) -> str:
        css = " ".join(
            name for name, on in (("new-page", section.new_page), ("gaps", section.boxed)) if on
        )
        attrs = f' id="{section.anchor}"' + (f' class="{css}"' if css else "")
        blocks = "\n".join(self.block(b) for b in section.blocks)
        heading = _h(section.heading)
        return f"<section{attrs}>\n<h2>{heading}</h2>\n{blocks}\n</section>"


def _h(text: str) -> str:
    return escape(clean(text), quote=True)


def _html_chart(chart: Chart) -> str:
    if not chart.trend:
        return f'<p class="empty">{_h(NO_TREND)}</p>'
    return f'<figure class="chart">{trend_svg(chart.trend)}</figure>'


# Colours carry no meaning on their own (every mark is also a word), and nothing needs a
# background to be read, so the page prints well with "background graphics" off.
_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
  sans-serif; color: #1a1a1a; background: #fff; max-width: 72rem; margin: 2rem auto;
  padding: 0 1.5rem; }
h1 { font-size: 1.7rem; margin: 0 0 .6rem; }
h2 { font-size: 1.3rem; margin: 2rem 0 .6rem; padding-bottom: .2rem;
  border-bottom: 2px solid #1a1a1a; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
dl.meta, dl.fields { display: grid; grid-template-columns: max-content 1fr;
  gap: .15rem 1rem; margin: .4rem 0; }
dt { font-weight: 600; }
dd { margin: 0; }
nav ul { columns: 3; margin: 1rem 0; padding: 0; list-style: none; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 .8rem; font-size: .92rem; }
th, td { border: 1px solid #999; padding: .25rem .45rem; text-align: left;
  vertical-align: top; }
td { overflow-wrap: break-word; }
th { border-bottom: 2px solid #333; }
tr.reassign td { border-top: 2px solid #8a1c7c; border-bottom: 2px solid #8a1c7c; }
tr.reassign td:first-child { border-left: 4px solid #8a1c7c; }
.src { color: #555; font-size: .85em; white-space: nowrap; }
.src a { color: inherit; }
.note, .empty { color: #555; font-style: italic; }
.mark { font-weight: 700; border: 1px solid currentColor; border-radius: 3px;
  padding: 0 .3em; white-space: nowrap; }
.mark-reassign { color: #8a1c7c; text-transform: uppercase; letter-spacing: .04em; }
.mark-warn { color: #a4262c; }
.mark-green { color: #1b7f3b; }
.mark-amber { color: #9a5b00; }
.mark-red { color: #c0262d; }
.mark-unknown { color: #555; }
figure.chart { margin: .5rem 0; }
svg.trend { max-width: 100%; height: auto; font-family: inherit; }
section.gaps { border: 3px double #1a1a1a; padding: .2rem 1rem .8rem; margin-top: 2rem; }
section.gaps h2 { border-bottom: none; margin-top: .8rem; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 9.5pt; }
  nav { display: none; }
  section.new-page { break-before: page; }
  h2, h3 { break-after: avoid; }
  tr, figure.chart, section.gaps { break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
}
"""
