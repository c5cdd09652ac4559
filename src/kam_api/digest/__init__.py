"""A manager's digest (``kam_projections.digest``): rendered as Markdown and HTML, named
stakeholders, and sent by e-mail (``kam digest --send``)."""

from kam_api.digest.render import digest_html, digest_markdown, digest_subject

__all__ = ["digest_html", "digest_markdown", "digest_subject"]
