"""Article pages: each document of a report as a page of its own, so that
an evidence row opens the article at its sentence.

:func:`write_article` takes one document (a row of the documents table with
``text``) and writes ``articles/<id>.html`` beside the report pages: the
title and the text, escaped, a paragraph per block of lines, each paragraph
carrying its character offset. :func:`article_href` is the link to a
claim: ``articles/<id>.html#<start>-<end>`` (the claim's offsets in the
text, as in the claims table); the page's own script (no corpus text is
ever run) marks that span, highlights its paragraph and scrolls to it.
A page is named by the document's content hash, so an unchanged article is
not written again.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from analysis.files import write_text

ARTICLES = "articles"
PARAGRAPH = re.compile(r"[^\n]+(?:\n[^\n]+)*")  # lines up to a blank line

STYLE = """body{font:16px/1.5 Helvetica,Arial,sans-serif;max-width:46em;margin:2em auto;
padding:0 1em;color:#222}p{white-space:pre-wrap}p.here{background:#fff7d6;
outline:4px solid #fff7d6}mark{background:#ffd54f;padding:0 .1em}
nav{font-size:14px;margin-bottom:1em;color:#555}"""

# Marks the claim the address names (#start-end): finds the paragraph that
# holds the span by its data-start offset and wraps the span's text in <mark>.
SCRIPT = """(function(){
var m=/^#(\\d+)-(\\d+)$/.exec(location.hash);if(!m)return;
var s=+m[1],e=+m[2],ps=document.querySelectorAll('p[data-start]');
for(var i=0;i<ps.length;i++){var p=ps[i],a=+p.dataset.start,t=p.firstChild;
if(!t||s<a||s>a+t.length)continue;
var r=document.createRange();r.setStart(t,s-a);r.setEnd(t,Math.min(e-a,t.length));
var k=document.createElement('mark');r.surroundContents(k);p.className='here';
k.scrollIntoView({block:'center'});break;}})();"""


def article_name(sha256: str) -> str:
    """The page of a document, by its content hash."""
    return f"{ARTICLES}/{sha256[:16]}.html"


def article_href(sha256: str, start: int, end: int) -> str:
    """The link that opens the document at the claim's sentence."""
    return f"{article_name(sha256)}#{int(start)}-{int(end)}"


def article_html(doc: str, title: str, text: str) -> str:
    """The page: the document's name and title, its text as paragraphs."""
    paragraphs = "\n".join(
        f'<p data-start="{m.start()}">{html.escape(m.group())}</p>'
        for m in PARAGRAPH.finditer(text)
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
        f"<title>{html.escape(title or doc)} · claimscope</title><style>{STYLE}</style></head>"
        f"<body><nav><a href='../index.html'>index</a> · <a href='../overview.html'>overview</a>"
        f" · {html.escape(doc)}</nav><h1>{html.escape(title or doc)}</h1>\n{paragraphs}"
        f"<script>{SCRIPT}</script></body></html>"
    )


def write_article(document: dict, out: Path) -> None:
    """Write the document's page under ``out`` unless it is there already."""
    path = out / article_name(str(document["sha256"]))
    if not path.exists():
        write_text(
            path, article_html(str(document["doc"]), str(document["title"]), document["text"])
        )
