"""Words and evidence for the reports, computed from the claims table.

:func:`headline` writes the opening paragraph of a report from the numbers.
:func:`evidence` turns the claims table into the evidence table, one row per
claim (sentence x type x category) with the procedures and conditions it is
attributed to joined by ", ": ``doc, sentence, type, category, certainty,
procedures, conditions, cue, cue_spans``. :func:`evidence_datatable` renders it
as a searchable table with the cues marked; corpus text is escaped before any
markup is added.
"""

from __future__ import annotations

import html

import pandas as pd

from analysis.counts import TYPES, balance, count_claims

EVIDENCE_COLUMNS = [
    "doc",
    "sentence",
    "type",
    "category",
    "certainty",
    "procedures",
    "conditions",
    "cue",
]


def _pair(procedure: str, condition: str) -> str:
    what = condition.replace("_", " ") if condition else "no particular condition"
    return f"{procedure.replace('_', ' ')} for {what}"


def headline(claims: pd.DataFrame, documents: pd.DataFrame) -> str:
    """A paragraph (Markdown) that states the main numbers of the claims."""
    n_docs = len(documents)
    if claims.empty:
        return f"The corpus holds {n_docs} documents and no coded claims."
    by_type = count_claims(claims, ["type"]).set_index("type")
    parts = [
        f"{int(by_type.loc[t, 'mentions'])} {t} mentions in {int(by_type.loc[t, 'documents'])} documents"
        for t in TYPES
        if t in by_type.index
    ]
    text = f"The corpus holds {n_docs} documents with " + "; ".join(parts) + "."
    bal = balance(claims)
    if not bal.empty:
        top = bal.sort_values(["risk", "benefit"], ascending=False).iloc[0]
        if top["risk"] > 0:
            text += (
                f" Most risk is claimed for {_pair(top['procedure'], top['condition'])} "
                f"({int(top['risk'])} mentions against {int(top['benefit'])} of benefit)."
            )
        silent = bal[(bal["risk"] == 0) & (bal["benefit"] > 0)].sort_values(
            "benefit", ascending=False
        )
        if not silent.empty:
            names = ", ".join(_pair(r.procedure, r.condition) for r in silent.head(3).itertuples())
            text += f" No risk at all is mentioned for {names}."
    return text


def evidence(claims: pd.DataFrame) -> pd.DataFrame:
    """One row per claim (sentence x type x category), attributions joined."""
    if claims.empty:
        return pd.DataFrame(columns=[*EVIDENCE_COLUMNS, "cue_spans"])
    keys = ["doc", "start", "end", "sentence", "type", "category"]
    grouped = claims.groupby(keys, sort=False)
    out = grouped.agg(
        certainty=("certainty", "first"),
        procedures=("procedure", lambda s: ", ".join(dict.fromkeys(s))),
        conditions=("condition", lambda s: ", ".join(c for c in dict.fromkeys(s) if c)),
        cue=("cue", "first"),
    ).reset_index()
    out["cue_spans"] = [
        _spans(sentence, cue) for sentence, cue in zip(out["sentence"], out["cue"], strict=True)
    ]
    return out.sort_values(["doc", "start", "type", "category"])[[*EVIDENCE_COLUMNS, "cue_spans"]]


def _spans(sentence: str, cue: str) -> list[tuple[int, int]]:
    """Where the cue texts stand in the sentence, merged."""
    spans = []
    for part in str(cue).split(" | "):
        at = sentence.find(part) if part else -1
        if at >= 0:
            spans.append((at, at + len(part)))
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def mark_cues(sentence: str, spans: list[tuple[int, int]]) -> str:
    """The sentence as HTML, escaped, with each cue span in <mark>."""
    out, last = [], 0
    for s, e in spans:
        out.append(html.escape(sentence[last:s]))
        out.append(f"<mark>{html.escape(sentence[s:e])}</mark>")
        last = e
    out.append(html.escape(sentence[last:]))
    return "".join(out)


def problems_html(problems: pd.DataFrame) -> str:
    """The skipped or repaired documents as an HTML table (pandas escapes it)."""
    if problems.empty:
        return "<p>Every file of the corpus was read as it was.</p>"
    return table_html(problems.rename(columns={"doc": "document"}))


def init_tables() -> None:
    """Load the table library into the notebook, offline (once per notebook):
    the report then filters and searches its tables without a kernel."""
    import itables

    itables.init_notebook_mode(all_interactive=False, connected=False)


def evidence_datatable(
    table: pd.DataFrame, limit: int | None = None, full: str = "data/claims.csv"
) -> str:
    """The evidence table as a searchable, filterable itables table, cues
    marked; every piece of corpus text is escaped before the markup."""
    shown = table if limit is None else table.head(limit)
    frame = pd.DataFrame(
        {
            "document": shown["doc"].map(html.escape),
            "sentence": [
                mark_cues(str(s), list(spans))
                for s, spans in zip(shown["sentence"], shown["cue_spans"], strict=True)
            ],
            **{c: shown[c].astype(str).map(html.escape) for c in EVIDENCE_COLUMNS[2:-1]},
        }
    )
    note = ""
    if limit is not None and len(table) > limit:
        where = html.escape(full)
        note = f'<p>First {limit} of {len(table)} claims; all are in <a href="{where}">{where}</a>.</p>'
    widths = [{"targets": 0, "width": "12%"}, {"targets": 1, "width": "48%"}]
    return _datatable(frame, "evidence", widths) + note


def datatable(table: pd.DataFrame) -> str:
    """Any table as a searchable, filterable itables table, every cell escaped."""
    frame = table.astype(str).apply(lambda column: column.map(html.escape))
    return _datatable(frame, "datatable")


def table_html(table: pd.DataFrame) -> str:
    """A small table as plain HTML (pandas escapes it), numbers to 3 places."""
    return table.to_html(index=False, escape=True, float_format=lambda x: f"{x:.3f}")


def _datatable(frame: pd.DataFrame, css_class: str, widths: list[dict] | None = None) -> str:
    """An itables table of already escaped HTML cells, offline."""
    from itables import to_html_datatable

    return to_html_datatable(
        frame,
        connected=False,
        allow_html=True,
        column_filters="footer",
        maxBytes=0,
        pageLength=10,
        lengthMenu=[10, 25, 100, -1],
        classes=f"display compact {css_class}",
        showIndex=False,
        style="width:100%",
        columnDefs=[{"targets": "_all", "className": "dt-left"}, *(widths or [])],
    )
