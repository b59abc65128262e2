"""One escaping boundary: every string from outside the package becomes
text of a page through here.

Corpus text, file names, metadata values, a fetched page's own tags, front
matter, codebook labels, gold and coding files: none of it is trusted. The
notebooks write Markdown and HTML, nbconvert passes raw HTML in Markdown
through, and plotly reads a little HTML in chart text: so each writer calls
the one function for its kind of output, here, and nothing from outside
reaches a page unescaped (the jinja templates autoescape the same way).

- :func:`html_text`: for HTML (a table cell, a paragraph);
- :func:`markdown_text`: for Markdown (Markdown's own marks made literal
  too, so that a value cannot become a link or a heading);
- :func:`plot_text`: for plotly's labels, legends and hover text;
- :func:`visible`: for a terminal (escape sequences and bidirectional
  overrides shown as escapes, so a message cannot rewrite the screen).
"""

from __future__ import annotations

import html
import re

# Markdown's marks: what could turn a value into emphasis, a link, code, a
# heading, a list or a table.
MARKDOWN_MARKS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>])")


def html_text(value: object) -> str:
    """``value`` as text in HTML: ``<``, ``>``, ``&`` and quotes escaped."""
    return html.escape(str(value), quote=True)


def markdown_text(value: object) -> str:
    """``value`` as text in Markdown that may hold HTML: Markdown's marks
    backslashed, then HTML escaped (a backslash survives HTML escaping; an
    entity written first would not survive the backslashes)."""
    return html_text(MARKDOWN_MARKS.sub(r"\\\1", str(value)))


def plot_text(value: object) -> str:
    """``value`` as plotly chart text: plotly reads tags (``<a href>``,
    ``<br>``) in labels and turns entities back into characters, so escaped
    text shows as written and no tag of the value acts."""
    return html_text(value)


CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """``text`` with control characters (escape sequences, bidirectional
    overrides) shown as escapes; line breaks and tabs kept."""
    return CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
