"""Rendering of the handover report's content (``kam_projections.handover``): GitHub-flavoured
Markdown and one printable HTML page with an inline SVG chart, both from one layout."""

from kam_api.report.html import render_html
from kam_api.report.markdown import render_markdown

__all__ = ["render_html", "render_markdown"]
