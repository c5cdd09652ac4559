"""The digest as Markdown (the e-mail's text part) and as one self-contained HTML page (its
HTML part): pure, the same digest gives the same text. All user text (account names, what an
action is, people's names) is escaped the way the handover report escapes it; the page has no
script, loads nothing and links nowhere."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from kam_api.report.document import clean, label, plural
from kam_api.report.markdown import _md
from kam_projections.digest import Digest, DigestAction, DigestDue, DigestPerson

NOTHING = "Nothing needs your attention."

#: A cell renderer: the escaped text of a value (Markdown or HTML).
Esc = Callable[[str], str]


def digest_subject(digest: Digest) -> str:
    """The e-mail's subject line."""
    return f"KAM digest for {clean(digest.manager)}, {digest.today}: {plural(digest.items, 'item')}"


def _sections(digest: Digest, esc: Esc) -> list[tuple[str, list[str], list[list[str]]]]:
    """(heading, column headers, rows of escaped cells) of each section with something in it."""

    def action(a: DigestAction, late: bool) -> list[str]:
        when = f"{plural(a.days_late, 'day')} late" if late else _days_left(a.days_left)
        return [
            esc(a.account_name),
            esc(a.what),
            esc(a.owner),
            a.due_on,
            esc(when),
            esc(label(a.status)),
        ]

    def person(p: DigestPerson) -> str:
        who = p.name if p.name is not None else f"stakeholder {p.stakeholder_id}"
        return f"{who} ({label(p.buying_role)})"

    def due(d: DigestDue) -> list[str]:
        return [esc(d.account_name), d.due_on, "overdue" if d.overdue else "due soon"]

    action_cols = ["Account", "Action", "Owner", "Due", "When", "Status"]
    sections = [
        (
            "Overdue actions",
            action_cols,
            [action(a, True) for a in digest.overdue_actions],
        ),
        (
            f"Actions due within {plural(digest.due_within_days, 'day')}",
            action_cols,
            [action(a, False) for a in digest.actions_due_soon],
        ),
        (
            "Key people not contacted within the cadence",
            ["Account", "Person", "Last contact", "Overdue by"],
            [
                [
                    esc(c.account_name),
                    esc(person(p)),
                    p.last_contact_on or "never",
                    "never contacted"
                    if p.days_overdue is None
                    else f"{plural(p.days_overdue, 'day')}",
                ]
                for c in digest.contacts_overdue
                for p in c.people
            ],
        ),
        (
            "Handovers to acknowledge",
            ["Account", "From", "Effective"],
            [
                [esc(h.account_name), esc(h.from_manager or "-"), h.effective_on or "-"]
                for h in digest.handovers_to_acknowledge
            ],
        ),
        ("Plan reviews due", ["Account", "Due", ""], [due(d) for d in digest.reviews_due]),
        (
            "Re-evaluations due",
            ["Account", "Due", ""],
            [due(d) for d in digest.reevaluations_due],
        ),
    ]
    return [s for s in sections if s[2]]


def _days_left(days: int) -> str:
    return "due today" if days == 0 else f"in {plural(days, 'day')}"


def digest_markdown(digest: Digest) -> str:
    """The digest as GitHub-flavoured Markdown."""
    lines = [
        f"# KAM digest for {_md(digest.manager)}",
        "",
        f"As of {digest.today}: {plural(digest.items, 'item')}.",
    ]
    sections = _sections(digest, _md)
    if not sections:
        lines += ["", NOTHING]
    for heading, headers, rows in sections:
        lines += ["", f"## {heading} ({len(rows)})", ""]
        lines += [
            "| " + " | ".join(cell or " " for cell in line) + " |"
            for line in [headers, ["---"] * len(headers), *rows]
        ]
    return "\n".join(lines) + "\n"


def digest_html(digest: Digest) -> str:
    """The digest as one self-contained HTML page (inline styles, no script)."""
    title = f"KAM digest for {_h(digest.manager)}"
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
        f"<h1>{title}</h1>",
        f"<p>As of {digest.today}: {plural(digest.items, 'item')}.</p>",
    ]
    sections = _sections(digest, _h)
    if not sections:
        body.append(f'<p class="empty">{NOTHING}</p>')
    body += [_table(heading, headers, rows) for heading, headers, rows in sections]
    body += ["</body>", "</html>"]
    return "\n".join(body) + "\n"


def _table(heading: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{_h(h)}</th>" for h in headers)
    cells = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f"<section><h2>{_h(heading)} ({len(rows)})</h2>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table></section>"
    )


def _h(text: str) -> str:
    return escape(clean(text), quote=True)


_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
  sans-serif; color: #1a1a1a; background: #fff; max-width: 60rem; margin: 1.5rem auto;
  padding: 0 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 .5rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; border-bottom: 2px solid #1a1a1a; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { border: 1px solid #999; padding: .25rem .45rem; text-align: left;
  vertical-align: top; }
td { overflow-wrap: break-word; }
.empty { color: #555; font-style: italic; }
"""
