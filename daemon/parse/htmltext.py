"""HTML to readable text, for a mail whose body is HTML only.

This module owns the conversion: scripts, styles and other invisible elements
are skipped, block elements start new lines or paragraphs, list items get a
dash, and preformatted text keeps its spacing. It uses the standard library's
forgiving `html.parser`; markup it cannot read costs the rest of the text,
never the mail. Nothing here does I/O.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "template", "svg"})
# Tags that stand apart as paragraphs (a blank line around them) and tags that
# only start a new line.
_PARAGRAPH_TAG_NAMES = "p h1 h2 h3 h4 h5 h6 blockquote pre table ul ol dl hr form fieldset figure"
_LINE_TAG_NAMES = """div section article header footer main nav aside address center tr
thead tbody tfoot caption li dt dd figcaption"""
_PARAGRAPH_TAGS = frozenset(_PARAGRAPH_TAG_NAMES.split())
_LINE_TAGS = frozenset(_LINE_TAG_NAMES.split())
_HTML_SPACE = re.compile(r"\s+")
_BLANK_RUNS = re.compile(r"\n{3,}")


class _HtmlText(HTMLParser):
    """Collects the readable text of an HTML body.

    Line breaks owed to block tags are held back until the next visible text,
    so nested blocks and the whitespace between tags do not pile up blank lines.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._pending_breaks = 0
        self._skipping = 0
        self._preformatted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag == "body":
            # An unclosed <head> or <title> must not hide the whole body.
            self._skipping = 0
        elif tag == "br":
            self._pending_breaks += 1
        elif tag in ("td", "th"):
            self._space()
        else:
            self._block_edge(tag)
            if tag == "li":
                self._emit("- ")
        if tag == "pre":
            self._preformatted += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        else:
            self._block_edge(tag)
        if tag == "pre":
            self._preformatted = max(0, self._preformatted - 1)

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if self._preformatted:
            self._emit(data)
            return
        text = _HTML_SPACE.sub(" ", data)
        if text.strip():
            self._emit(text)
        else:
            self._space()

    def _block_edge(self, tag: str) -> None:
        if tag in _PARAGRAPH_TAGS:
            self._pending_breaks = max(self._pending_breaks, 2)
        elif tag in _LINE_TAGS:
            self._pending_breaks = max(self._pending_breaks, 1)

    def _space(self) -> None:
        if not self._pending_breaks and self.chunks:
            self.chunks.append(" ")

    def _emit(self, text: str) -> None:
        if self._pending_breaks and self.chunks:
            self.chunks.append("\n" * self._pending_breaks)
        self._pending_breaks = 0
        self.chunks.append(text)


def html_to_text(html: str) -> str:
    """Readable text of an HTML body: no scripts or styles, blocks on their own lines."""
    converter = _HtmlText()
    try:
        converter.feed(html)
        converter.close()
    except Exception:
        # html.parser has raised assorted errors on broken markup across
        # Python versions; the text read so far beats losing the mail.
        pass
    lines = (line.strip() for line in "".join(converter.chunks).splitlines())
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()
