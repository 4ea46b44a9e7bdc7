"""HTML sanitising: customer HTML reduced to an allow-list before anyone sees it.

This module owns the one policy for HTML that came in by mail (reliability.md
§6.2). nh3 (the Rust ammonia sanitiser) keeps only the tags and attributes
listed here; scripts, styles, frames, forms, `<base>`, `<meta>`, SVG and every
event handler go, and so do the contents of the tags that hide code. Links and
images keep only https, mailto and cid URLs: plain http and relative URLs (a
protocol-relative `//tracker/x.gif` included) lose their `src`/`href`. Images
go further and keep only `cid:` sources, the pictures that came inside the
mail: a remote image over https is a tracking pixel too, and showing the mail
must not tell its sender that an agent opened it. Style attributes keep only
text properties, none of which can load a URL. Nothing here does I/O.
"""

from __future__ import annotations

import nh3

# fmt: off
ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "center", "cite", "code", "col",
    "colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small",
    "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "tt", "u", "ul", "var", "wbr",
})
# fmt: on
"""Text structure and formatting only: nothing that runs, submits, embeds or navigates."""

_TABLE_CELL = {"align", "valign", "colspan", "rowspan", "width", "height"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"dir", "lang", "title", "style"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "font": {"color", "size"},
    "table": {"align", "width", "border", "cellpadding", "cellspacing"},
    "td": _TABLE_CELL,
    "th": _TABLE_CELL,
    "tr": {"align", "valign"},
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "ol": {"start", "type"},
    "blockquote": {"cite"},
    "q": {"cite"},
}
"""No `id` or `class` (they could clash with the page that shows the mail), no `on*`."""

# fmt: off
STYLE_PROPERTIES = frozenset({
    "color", "background-color", "font-family", "font-size", "font-style", "font-weight",
    "text-align", "text-decoration", "vertical-align", "white-space",
})
# fmt: on
"""CSS properties kept in `style`: none of them takes a `url()`, so none can fetch."""

URL_SCHEMES = frozenset({"https", "mailto", "cid"})
"""No http: a remote image over plain http is the classic tracking pixel."""

LINK_REL = "noopener noreferrer nofollow"

# Their content is code or invisible, not text: drop the tag and what it holds.
_DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "title", "template", "noscript", "iframe", "object", "svg", "math", "select"}
)


def _only_embedded_images(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not value.lower().startswith("cid:"):
        return None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(_DROPPED_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    url_schemes=set(URL_SCHEMES),
    url_relative="deny",
    link_rel=LINK_REL,
    filter_style_properties=set(STYLE_PROPERTIES),
    strip_comments=True,
    attribute_filter=_only_embedded_images,
)


def clean_html(html: str) -> str:
    """`html` reduced to the allow-list; safe to show inside our own page."""
    if not html:
        return ""
    try:
        return _CLEANER.clean(html)
    except UnicodeEncodeError:
        # Lone surrogates (undecodable bytes smuggled through a str) cannot
        # cross into Rust; they are not text anyone wrote, so they become '?'.
        return _CLEANER.clean(html.encode("utf-8", "replace").decode("utf-8"))
