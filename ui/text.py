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
    restyle a name or turn it into a link or formula. Line breaks and other
    control characters become spaces, so a name stays on its line."""
    text = "".join(" " if ch.isspace() or ord(ch) < 32 else ch for ch in text)
    # "&" too: Markdown would show "&amp;" typed in a name as "&". URLs, "www."
    # and e-mail addresses are autolinked after escapes: a word joiner breaks them.
    text = _AUTOLINK.sub(lambda m: m.group(1) + _WORD_JOINER, text).replace("@", _WORD_JOINER + "@")
    return "".join("\\" + ch if ch in "\\`*_{}[]()#+-.!|~<>$&" else ch for ch in text)


_WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(?<![a-z0-9])(https?|ftp|mailto|www)(?=[:.])")
