"""Scans of a rendered handover report for what a manager should never have to decode: event
class names, enum reprs, stored snake_case codes, bare log positions, Markdown references
without a definition, and links a reader of the account cannot open."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from kam_domain.account_plans import AccountPlan
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship

_REFERENCE = re.compile(r"(?<!\\)\[((?:[^\]\\]|\\.)*)\]\[([^\]]+)\]")
_DEFINITION = re.compile(r"^\[([^\]]+)\]: <([^>]+)>(?: \"(?:[^\"\\]|\\.)*\")?$")
_ENUM_REPR = re.compile(r"<?\b[A-Z][A-Za-z]+\.[A-Z][A-Z_]+\b(?::)?")
_DOTTED_EVENT = re.compile(r"\b(?:KeyAccount|AccountPlan|Relationship)\.[A-Z]\w+")
_SNAKE = re.compile(r"\b[a-z]+(?:\\?_[a-z0-9]+)+\b")
_POSITION = re.compile(r"#\d+")
#: Header fields that state a log position in words ("position #52").
_POSITION_FIELDS = ("History complete to", "Ledger verified to")


def event_class_names() -> set[str]:
    """Every event class name of the three aggregates (``InteractionLogged``, ...)."""
    names = set()
    for aggregate in (KeyAccount, AccountPlan, Relationship):
        for name in dir(aggregate):
            value = getattr(aggregate, name)
            if isinstance(value, type) and issubclass(value, aggregate.Event):
                names.add(value.__name__)
    return names


def references(markdown: str) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The reference links (text, label) and the definitions (label -> URL) of a Markdown
    text."""
    definitions = {}
    for line in markdown.splitlines():
        found = _DEFINITION.match(line)
        if found:
            definitions[found[1].casefold()] = found[2]
    return [(m[1], m[2]) for m in _REFERENCE.finditer(markdown)], definitions


def codes_in(text: str) -> list[str]:
    """Internal codes left in text meant for a reader."""
    # One-word names ("Classified") are ordinary words too: the compound ones are codes.
    compound = [n for n in event_class_names() if sum(c.isupper() for c in n) >= 2]
    camel = [name for name in compound if re.search(rf"\b{name}\b", text)]
    return [
        *camel,
        *_DOTTED_EVENT.findall(text),
        *_ENUM_REPR.findall(text),
        *_SNAKE.findall(text),
    ]


def assert_readable_markdown(markdown: str) -> dict[str, str]:
    """Every reference resolves, no internal codes, no position shown as the only text.
    Answers the definitions (label -> URL)."""
    links, definitions = references(markdown)
    unresolved = [label for _, label in links if label.casefold() not in definitions]
    assert not unresolved, f"references without a definition: {unresolved}"
    assert all(text.strip() for text, _ in links), "a link with no text"
    prose = "\n".join(
        line
        for line in markdown.splitlines()
        if not _DEFINITION.match(line) and not line.startswith("| ---")
    )
    without_links = _REFERENCE.sub(lambda m: m[1], prose)
    assert not codes_in(without_links), codes_in(without_links)
    for line in without_links.splitlines():
        if _POSITION.search(line):
            assert any(f"**{field}:**" in line for field in _POSITION_FIELDS), line
    return definitions


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [value or "" for name, value in attrs if name == "href"]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def html_links(page: str) -> tuple[list[str], str]:
    """The page's links (anchors within the page left out) and its visible text."""
    parser = _Links()
    parser.feed(page)
    style = re.compile(r"^\s*:root", re.MULTILINE)
    text = " ".join(t for t in parser.text if not style.search(t))
    return [h for h in parser.hrefs if not h.startswith("#")], text


def assert_readable_html(page: str) -> list[str]:
    """No internal codes in the visible text; answers the links to events."""
    links, text = html_links(page)
    assert not codes_in(text), codes_in(text)
    for link in links:
        assert link.startswith(("http://", "https://")), link
        assert "/history?position=" in link, link
    return links
