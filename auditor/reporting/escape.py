"""One escaping per output format, on top of `auditor.untrusted.clean`.

Facts from servers are already cleaned by the engine; names and messages from user files
pass here too, so no format depends on every upstream path having been careful.
"""

from __future__ import annotations

import re

from auditor.untrusted import clean

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>])")
_XML_INVALID = re.compile("[\ufffe\uffff]")


def terminal(text: str, limit: int = 2048) -> str:
    """Safe to print to a terminal: no control character, no bidi override."""
    return clean(text, limit)


def markdown(text: str) -> str:
    """A table cell of GitHub-flavoured Markdown that renders as the text it is.

    HTML is neutralised with entities (no `<script>`, no `<img onerror>`, no `</details>`
    closing our own block), Markdown syntax with backslashes (no image, link or code span
    from server text), and a line break becomes a space.
    """
    text = clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def xml(text: str) -> str:
    """Text fit for an XML 1.0 attribute or element (ElementTree escapes the markup)."""
    return _XML_INVALID.sub("\ufffd", clean(text, 8192))
