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

from analysis.counts import balance, count_claims, other_risk, pair_mask
from analysis.escape import html_text, markdown_text
from analysis.estimates import Accuracy
from analysis.schema import (
    EVIDENCE_COLUMNS,
    claim_types,
    document_ids,
    fold_claims,
    types_in,
    types_of_role,
)


def _pair(procedure: str, condition: str) -> str:
    """A pair in words, as Markdown text (ids of a claims file are outside text)."""
    what = condition.replace("_", " ") if condition else "no particular condition"
    return markdown_text(f"{procedure.replace('_', ' ')} for {what}")


def _n(count: int, unit: str) -> str:
    return f"{count} {unit if count == 1 else unit + 's'}"


def headline(
    claims: pd.DataFrame,
    documents: pd.DataFrame,
    general: pd.DataFrame | None = None,
    recall: dict[str, float] | None = None,
) -> str:
    """A paragraph (Markdown) that states the main numbers of the claims, in
    the units of :mod:`analysis.counts` (claims and articles). ``general``:
    for one pair, the claims about its procedure with no particular condition,
    so that a pair is never said to have no risk when its articles state
    general risks of the procedure. An absence is said as what the coder did
    not detect, with the share of such claims it finds (``recall`` per type)."""
    n_docs = len(documents)
    if claims.empty:
        return f"The corpus holds {_n(n_docs, 'article')} and no coded claims."
    by_type = count_claims(claims, ["type"]).set_index("type")
    parts = [
        f"{_n(int(by_type.loc[t, 'claims']), markdown_text(t) + ' claim')} in "
        f"{_n(int(by_type.loc[t, 'articles']), 'article')}"
        for t in claim_types(claims)
        if t in by_type.index
    ]
    total = int(by_type["claims"].sum())
    text = f"{_n(n_docs, 'article')}, {_n(total, 'claim')}: " + "; ".join(parts) + "."
    bal = balance(claims if general is None else pd.concat([claims, general]))
    if general is not None:  # one pair: its own risks, and the general ones beside them
        bal = bal[bal["condition"].isin(set(claims["condition"]))]
    if not bal.empty:
        top = bal.sort_values(["harms", "benefits"], ascending=False).iloc[0]
        if top["harms"] > 0:
            text += (
                f" Most risk is claimed for {_pair(top['procedure'], top['condition'])} "
                f"({_n(int(top['harms']), 'risk claim')} against {int(top['benefits'])} "
                "of benefit)."
            )
        silent = bal[(bal["harms"] == 0) & (bal["benefits"] > 0) & (bal["condition"] != "")]
        silent = silent.sort_values("benefits", ascending=False)
        quiet = [r for r in silent.itertuples() if r.general_risk == 0]
        covered = [r for r in silent.itertuples() if r.general_risk > 0]
        harm = next(iter(types_of_role(claims, "harm")), "risk")
        found = (recall or {}).get(harm)
        finds = (
            f" (the coder finds about {found:.0%} of the risk claims trained coders find)"
            if found is not None and found == found
            else ""
        )
        for r in quiet[:3]:
            docs = claims.loc[pair_mask(claims, r), "doc"]
            n_other = other_risk(claims, r.procedure, r.condition, docs)
            text += (
                f" No risk claim was detected for {_pair(r.procedure, r.condition)}, neither "
                "for the condition nor for the procedure in general, in the articles that "
                f"discuss it{finds}"
                + (
                    f"; they state {_n(n_other, 'risk claim')} about "
                    f"{markdown_text(r.procedure.replace('_', ' '))} for other conditions."
                    if n_other
                    else "."
                )
            )
        if covered:
            names = "; ".join(
                f"{_pair(r.procedure, r.condition)}, whose articles state "
                f"{_n(int(r.general_risk), 'general risk claim')} about "
                f"{markdown_text(r.procedure.replace('_', ' '))}"
                for r in covered[:3]
            )
            text += f" No risk specific to the condition was detected for {names}."
    return text


def accuracy_html(accuracy: Accuracy, types: tuple[str, ...] | None = None) -> str:
    """The box every page shows near its headline: the counts come from an
    automatic coder, how well it codes (precision and recall per claim type)
    and where those figures come from; and, when the corpus holds articles
    the coder was trained on, that its counts on them show fit, not accuracy."""
    parts = ["<div class='accuracy'><p><b>How far to trust these counts.</b> "]
    parts.append(
        "Every count on this page comes from an automatic coder, and a coder makes errors. "
    )
    if accuracy.kind:
        rates = accuracy.rates[accuracy.rates["category"] == ""].set_index("type")
        said = []
        for t in types or tuple(rates.index):
            if t not in rates.index:
                continue
            r = rates.loc[t]
            said.append(
                f"it finds {_percent(r['recall'])} of the {html.escape(str(t))} claims trained "
                f"coders find, and {_percent(r['precision'])} of the {html.escape(str(t))} "
                "claims it reports are theirs"
            )
        parts.append(
            "Measured on "
            + html_text(accuracy.basis)
            + ": "
            + "; ".join(said)
            + ". The counts are what it found (<i>observed</i>); the estimates corrected "
            "for these errors, with 95 % intervals that combine the sampling of articles "
            "and the uncertainty of the error rates, are in "
            "<a href='data/estimates.csv'>data/estimates.csv</a>. A cell with no claim "
            "means none was detected, not that none is there.</p>"
        )
    else:
        parts.append(f"Its error was measured on {html.escape(accuracy.basis)}.</p>")
    if accuracy.in_sample:
        n = len(accuracy.in_sample)
        parts.append(
            "<p class='in-sample'><b>In-sample warning.</b> "
            f"{_n(n, 'article')} of the {accuracy.documents} of this corpus "
            f"{'were' if n != 1 else 'was'} among the coder's training articles: on "
            f"{'them' if n != 1 else 'it'} the coder reproduces its training, so the counts "
            "show how well it fits them, not how well it codes a new page. The error figures "
            "above come from the cross-validation folds that left these articles out.</p>"
        )
    parts.append("</div>")
    return "".join(parts)


def _percent(value: object) -> str:
    v = float(value)
    return "an unknown share" if v != v else f"{v:.0%}"


def pair_estimates_html(estimates: pd.DataFrame) -> str:
    """One pair's claims per type: observed and corrected, with the interval."""
    lines = [
        f"{html.escape(str(r.type))}: {int(r.observed)} found, about {r.estimate:.0f} "
        f"corrected for the coder's error (95 % interval {r.low:.0f} to {r.high:.0f})"
        for r in estimates.itertuples()
    ]
    return "<p class='estimates'>" + "; ".join(lines) + ".</p>" if lines else ""


def rates_html(rates: pd.DataFrame, labels: dict[str, str] | None = None) -> str:
    """The coder's precision and recall per type and category, as a table."""
    if rates.empty:
        return "<p>The coder's error has not been measured.</p>"
    frame = pd.DataFrame(
        {
            "type": rates["type"],
            "category": [
                (labels or {}).get(c, c.replace("_", " ")) if c else "(all)"
                for c in rates["category"]
            ],
            "recall": rates["recall"].map(_percent),
            "precision": rates["precision"].map(_percent),
            "F1": rates["f1"].map(lambda v: "" if v != v else f"{v:.2f}"),
            "coded by trained coders": rates["coded"].astype(int),
            "found by the coder": rates["predicted"].astype(int),
        }
    )
    return table_html(frame)


def estimates_html(estimates: pd.DataFrame, labels: dict[str, str] | None = None) -> str:
    """Per procedure (all conditions) and type: observed claims, the estimate
    corrected for the coder's error and its 95 % interval."""
    totals = estimates[estimates["condition"] == "all"] if len(estimates) else estimates
    if totals.empty:
        return "<p>No corrected estimates: the coder's error has not been measured.</p>"
    frame = pd.DataFrame(
        {
            "procedure": [(labels or {}).get(p, p.replace("_", " ")) for p in totals["procedure"]],
            "type": totals["type"],
            "observed": totals["observed"].astype(int),
            "estimate": totals["estimate"].round().astype(int),
            "95 % interval": [
                f"{lo:.0f} to {hi:.0f}"
                for lo, hi in zip(totals["low"], totals["high"], strict=True)
            ],
        }
    )
    return table_html(frame)


def evidence(claims: pd.DataFrame) -> pd.DataFrame:
    """One row per claim (:func:`analysis.schema.fold_claims`: a sentence
    repeated word for word in one document is one claim, shown where it
    first stands), attributions joined, and the cue's spans in the sentence."""
    for column in ("start", "end"):  # offsets, where the claims table has them
        if column not in claims.columns:
            claims = claims.assign(**{column: 0})
    folded = fold_claims(
        claims.sort_values(["doc", "start"]), extra=["start", "end", "quantity", "cue"]
    )
    if folded.empty:
        return pd.DataFrame(columns=[*EVIDENCE_COLUMNS, "cue_spans", "start", "end"])
    for column in ("procedures", "conditions"):
        folded[column] = folded[column].map(", ".join)
    folded["cue_spans"] = [
        _spans(str(sentence), str(cue))
        for sentence, cue in zip(folded["sentence"], folded["cue"], strict=True)
    ]
    ordered = folded.sort_values(["doc", "start", "type", "category"], kind="stable")
    return ordered[[*EVIDENCE_COLUMNS, "cue_spans", "start", "end"]]


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


def shares_html(shares: pd.DataFrame) -> str:
    """The article shares of :func:`analysis.counts.article_shares` as an HTML
    table: for each type, "k of n (share, 95 % interval)"."""
    if shares.empty:
        return "<p>No claims to count.</p>"
    keys = [c for c in ("group", "procedure", "condition") if c in shares.columns]
    frame = pd.DataFrame(
        {k: shares[k].map(lambda v: str(v).replace("_", " ") or "(all)") for k in keys}
    )
    frame["articles"] = shares["articles"].astype(int)
    if "small" in shares.columns:
        frame["articles"] = [
            f"{n} (small group)" if small else str(n)
            for n, small in zip(frame["articles"], shares["small"], strict=True)
        ]
    for t in types_in(shares):
        frame[f"making {t} claims"] = [
            f"{int(k)} ({share:.0%}, {low:.0%}–{high:.0%})"
            for k, share, low, high in zip(
                shares[f"{t}_articles"],
                shares[f"{t}_share"],
                shares[f"{t}_low"],
                shares[f"{t}_high"],
                strict=True,
            )
        ]
    return table_html(frame)


def groups_headline(shares: pd.DataFrame, by: str) -> str:
    """Markdown: the groups compared and their sizes, small ones named."""
    from analysis import config
    from analysis.compare import NOT_GIVEN

    whole = shares[shares["procedure"] == ""]
    given = whole[whole["group"] != NOT_GIVEN]
    sizes = ", ".join(
        f"**{markdown_text(g)}** ({int(n)})"
        for g, n in zip(given["group"], given["articles"], strict=True)
    )
    column = markdown_text(by)
    text = (
        f"The corpus's {int(whole['articles'].sum())} articles in {len(given)} groups by "
        f"*{column}*: {sizes}."
    )
    missing = whole.loc[whole["group"] == NOT_GIVEN, "articles"].sum()
    if missing:
        text += f" {int(missing)} articles have no *{column}* and are left out of the tests."
    small = given[given["small"].astype(bool)]
    if len(small):
        text += (
            f" Groups of fewer than {config.MIN_GROUP_ARTICLES} articles are small: "
            + ", ".join(markdown_text(g) for g in small["group"])
            + " (hollow markers; their intervals are wide)."
        )
    return text


def pair_title(procedure: str, condition: str, labels: dict[str, str] | None = None) -> str:
    """A deep dive's heading (Markdown): the pair's codebook labels."""
    from analysis.figures import label

    return (
        f"## {markdown_text(label(procedure, labels))} × {markdown_text(label(condition, labels))}"
    )


def findings_html(tests: pd.DataFrame, alpha: float = 0.05) -> str:
    """The group tests of :func:`analysis.compare.compare_groups` in plain
    words: the differences unlikely by chance first (adjusted p below
    ``alpha``), then the others."""
    if tests.empty:
        return "<p>Fewer than two groups have articles: there is nothing to compare.</p>"
    tested = tests[tests["test"] != "none"]
    strong = tested[tested["p_adjusted"] < alpha]
    items = []
    for row in pd.concat([strong, tested.drop(strong.index)]).itertuples():
        adjusted = f" (adjusted for {len(tested)} tests: p = {row.p_adjusted:.3g})"
        items.append(f"<li>{html.escape(row.finding)}{html.escape(adjusted)}</li>")
    for row in tests[tests["test"] == "none"].itertuples():  # all or none: nothing to test
        items.append(f"<li>{html.escape(row.finding)}</li>")
    head = (
        f"<p>{len(strong)} of {len(tested)} differences stay below p = {alpha} after the "
        "Benjamini-Hochberg adjustment for testing many procedures and claim types.</p>"
    )
    return head + "<ul class='findings'>" + "".join(items) + "</ul>"


def quantified_html(table: pd.DataFrame) -> str:
    """:func:`analysis.compare.quantified_shares` as an HTML table:
    "k of n (share)" quantified benefit and risk claims."""
    if table.empty:
        return "<p>No benefit or risk claims to count.</p>"
    keys = [c for c in table.columns if not c.startswith(("benefit_", "risk_"))]
    frame = pd.DataFrame(
        {k: table[k].map(lambda v: str(v).replace("_", " ") or "(all)") for k in keys}
    )
    for t in ("benefit", "risk"):
        frame[f"{t} claims stating a number"] = [
            f"{int(q)} of {int(n)} ({q / n:.0%})" if n else "no claims"
            for q, n in zip(table[f"{t}_quantified"], table[f"{t}_claims"], strict=True)
        ]
    return table_html(frame)


def matrix_html(
    table: pd.DataFrame, documents: pd.DataFrame, labels: dict[str, str] | None = None
) -> str:
    """A matrix of :func:`analysis.counts.matrix` as a sortable table: a
    column per article (its short id, :func:`analysis.schema.document_ids`;
    the document table gives its title), each non-zero cell a link that filters
    the evidence table to the claims it counts."""
    import json

    keys = [c for c in ("type", "category", "condition") if c in table.columns]
    if table.empty:
        return "<p>No claims to show.</p>"
    ids = document_ids(documents)
    docs = [c for c in table.columns if c not in keys]
    columns = {
        k: table[k].map(lambda v: html.escape((labels or {}).get(v) or str(v) or "(none)"))
        for k in keys
    }
    # a column per article, gathered and made a frame at once (one inserted
    # at a time, a corpus of a few hundred articles warned of a fragmented frame)
    for doc in docs:
        spec = {"document": doc}
        cells = []
        for i, n in enumerate(table[doc]):
            if not n:
                cells.append("0")
                continue
            where = {**spec, **{k: str(table[k].iloc[i]) for k in keys}}
            where = {("conditions" if k == "condition" else k): v for k, v in where.items()}
            cells.append(  # a button, not a link: it only filters the evidence below
                "<button type='button' class='evidence-link' "
                f"data-evidence-filter='{html.escape(json.dumps(where))}'>{int(n)}</button>"
            )
        columns[html.escape(str(ids.get(doc, doc)))] = cells
    return _datatable(pd.DataFrame(columns, index=table.index), "matrix")


def matrix_export(
    table: pd.DataFrame, documents: pd.DataFrame, labels: dict[str, str] | None = None
) -> pd.DataFrame:
    """A matrix of :func:`analysis.counts.matrix` as exported: the row's
    label beside its id, and each article's column named by its short id
    (:func:`analysis.schema.document_ids`; :func:`document_key` gives each
    id's title and path)."""
    keys = [c for c in ("type", "category", "condition") if c in table.columns]
    out = table[keys].copy()
    out["label"] = table[keys[-1]].map(lambda v: (labels or {}).get(v) or str(v) or "(none)")
    ids = document_ids(documents)
    # the articles' columns made a frame at once (see matrix_html)
    columns = {c: out[c] for c in out.columns}
    columns.update(
        (str(ids.get(doc, doc)), table[doc].astype(int)) for doc in table.columns if doc not in keys
    )
    return pd.DataFrame(columns, index=table.index)


def document_key(documents: pd.DataFrame) -> pd.DataFrame:
    """The documents as the matrices and tables name them: ``id``, then
    ``title``, ``doc`` (the path in the corpus), ``words`` and the metadata."""
    key = documents.drop(columns=[c for c in ("text", "sha256") if c in documents.columns])
    key.insert(0, "id", document_ids(documents).reindex(key["doc"]).to_numpy())
    front = ["id", "title", "doc"]
    return key[front + [c for c in key.columns if c not in front]]


def preformatted(text: str) -> str:
    """Text as it was printed (a terminal's figures), escaped, in <pre>."""
    return f"<pre>{html_text(text)}</pre>"


def cooccurrence_html(table: pd.DataFrame) -> str:
    """:func:`analysis.counts.cooccurrence` as an HTML table."""
    return table_html(table)


def problems_html(problems: pd.DataFrame) -> str:
    """The problems table (skipped or repaired documents, text set aside)
    as an HTML table (pandas escapes it)."""
    if problems.empty:
        return "<p>Every file of the corpus was read as it was.</p>"
    return table_html(problems.rename(columns={"doc": "document"}))


def init_tables() -> None:
    """Load the table library into the notebook, offline (once per notebook):
    the report then filters and searches its tables without a kernel."""
    import itables

    itables.init_notebook_mode(all_interactive=False, connected=False)


def evidence_datatable(
    table: pd.DataFrame,
    limit: int | None = None,
    full: str = "data/claims.csv",
    articles: dict[str, str] | None = None,
) -> str:
    """The evidence table as a searchable, filterable itables table, cues
    marked; every piece of corpus text is escaped before the markup. With
    ``articles`` (doc -> content hash, where the report wrote article pages),
    each document cell links to its article, opened at the sentence."""
    from analysis.articles import article_href

    shown = table if limit is None else table.head(limit)
    documents = shown["doc"].map(html.escape)
    if articles:
        documents = pd.Series(
            [
                f"<a href='{html.escape(article_href(articles[d], s, e))}' target='_blank'>{shown_doc}</a>"
                if d in articles
                else shown_doc
                for d, s, e, shown_doc in zip(
                    shown["doc"], shown["start"], shown["end"], documents, strict=True
                )
            ],
            index=shown.index,
        )
    frame = pd.DataFrame(
        {
            "document": documents,
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


def categories_html(table: pd.DataFrame, labels: dict[str, str] | None = None) -> str:
    """:func:`analysis.compare.category_shares` as a table ready to paste:
    per category, each group's articles making it (share, 95 % interval) and
    claims per 1,000 words, then the difference with its interval and the
    adjusted p-value."""
    if table.empty:
        return "<p>No claims to compare.</p>"
    table = _numeric(
        table,
        ["share", "low", "high", "per_1000_words", "effect", "effect_low", "effect_high"]
        + ["p_value", "p_adjusted"],
    )
    labels = labels or {}
    rows = []
    for (t, c), block in table.groupby(["type", "category"], sort=False):
        row = {"type": t, "category": labels.get(c, c.replace("_", " "))}
        for r in block.itertuples():
            row[f"{r.group}: articles"] = (
                f"{int(r.making)} of {int(r.articles)} ({r.share:.0%}, {r.low:.0%}–{r.high:.0%})"
            )
            row[f"{r.group}: per 1,000 words"] = (
                f"{r.per_1000_words:.2f}" if r.per_1000_words == r.per_1000_words else ""
            )
        first = block.iloc[0]
        if first["test"] == "Fisher's exact test":
            row["difference (points, 95 % CI)"] = (
                f"{first['effect']:+.0f} ({first['effect_low']:+.0f} to {first['effect_high']:+.0f})"
            )
        elif first["test"] == "chi-square test":
            row["difference (points, 95 % CI)"] = f"Cramér's V {first['effect']:.2f}"
        else:
            row["difference (points, 95 % CI)"] = "nothing to test"
        row["p"] = f"{first['p_value']:.3g}" if first["p_value"] == first["p_value"] else ""
        row["adjusted p"] = (
            f"{first['p_adjusted']:.3g}" if first["p_adjusted"] == first["p_adjusted"] else ""
        )
        rows.append(row)
    frame = pd.DataFrame(rows)
    difference = table["effect_name"].replace("", pd.NA).dropna()
    head = (
        f"<p>Difference: the {html.escape(difference.iloc[0])}, with its 95 % Newcombe "
        "interval; p from Fisher's exact test, adjusted over every category "
        "(Benjamini-Hochberg).</p>"
        if len(difference) and table["test"].eq("Fisher's exact test").any()
        else "<p>p from a chi-square test per category, adjusted over every category "
        "(Benjamini-Hochberg).</p>"
    )
    return head + table_html(frame)


def models_html(table: pd.DataFrame) -> str:
    """:func:`analysis.regression.group_models` as a table ready to paste."""
    if table.empty:
        return "<p>Fewer than two groups have articles: no model to fit.</p>"
    table = _numeric(table, ["estimate", "low", "high", "p_value", "p_adjusted"])
    frame = pd.DataFrame(
        {
            "outcome": table["outcome"],
            "model": table["model"],
            "term": table["term"],
            "n": table["n"].astype(int),
            "estimate (95 % CI)": [
                f"{r.estimate_name} {r.estimate:.2f} ({r.low:.2f}–{r.high:.2f})"
                if r.estimate == r.estimate
                else "—"
                for r in table.itertuples()
            ],
            "p": [f"{p:.3g}" if p == p else "" for p in table["p_value"]],
            "adjusted p": [f"{p:.3g}" if p == p else "" for p in table["p_adjusted"]],
            "note": table["note"],
        }
    )
    return table_html(frame)


def _numeric(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Columns of numbers as numbers (a CSV read back gives "" for a missing one)."""
    return table.assign(**{c: pd.to_numeric(table[c], errors="coerce") for c in columns})


def chart_caption(claims: pd.DataFrame, what: str, accuracy: Accuracy | None = None) -> str:
    """A chart's caption: what it counts and over which denominator
    (``what``), n articles and n claims, and where the coder's error was
    measured. Plain text: :func:`analysis.figures.styled` escapes it."""
    from analysis.schema import claim_key

    n_claims = claim_key(claims).nunique() if len(claims) else 0
    n_articles = claims["doc"].nunique() if len(claims) else 0
    text = (
        f"{what} n = {n_articles:,} articles making claims, {n_claims:,} claims "
        "(a claim: a sentence x claim type x category)."
    )
    if accuracy is not None:
        text += (
            f" Counts are an automatic coder's; its error was measured on {accuracy.basis}"
            if accuracy.kind
            else f" Counts are an automatic coder's; {accuracy.basis}"
        )
        text += "." if not text.endswith(".") else ""
        if accuracy.in_sample:
            text += " The corpus holds articles the coder was trained on (in-sample)."
    return text
