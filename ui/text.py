"""Text from the database shown inside Markdown, as typed.

Streamlit escapes HTML in Markdown, but Markdown itself would still restyle a
name (``**``, ``_``, ``#``), turn it into a link or a formula (``[x](...)``,
``$x$``), decode entities (``&amp;``) or autolink a URL or e-mail address.
Every element that renders Markdown (markdown, caption, title, subheader,
info/error, table cells) gets data only through :func:`md_escape`.
"""
from __future__ import annotations

import re


def md_escape(text: str) -> str:
    """Text from the database, shown literally inside Markdown.

    Streamlit escapes HTML, but Markdown marks (* _ [ ] ` # $ ...) would still
    restyle a name or turn it into a link or formula, and ``:material/x:`` or
    ``:red[x]`` into an icon or colour. Line breaks and other
    control characters become spaces, so a name stays on its line."""
    text = "".join(" " if ch.isspace() or ord(ch) < 32 else ch for ch in text)
    # "&" too: Markdown would show "&amp;" typed in a name as "&". URLs, "www."
    # and e-mail addresses are autolinked after escapes: a word joiner breaks them.
    text = _AUTOLINK.sub(lambda m: m.group(1) + _WORD_JOINER, text).replace("@", _WORD_JOINER + "@")
    # ":" and "/" too: Streamlit turns ":material/name:" into an icon before it parses
    # the Markdown (an escaped colon alone would still be matched there; an escaped
    # slash is not), and ":red[...]", ":small[...]" and ":smile:" are directives or emoji.
    return "".join("\\" + ch if ch in _MARKS else ch for ch in text)


_MARKS = frozenset("\\`*_{}[]()#+-.!|~<>$&:/")
_WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(?<![a-z0-9])(https?|ftp|mailto|www)(?=[:.])")
