"""Figures: plotly charts of the claims.

Each function takes the claims table (and, for the document table, the
profile from :func:`analysis.counts.document_profile`) and returns a plotly
``Figure``; counting goes through :mod:`analysis.counts`, so every number in
a chart is a count of claims or articles as defined there. Hover text shows
both units for every bar and cell.

Call :func:`use_notebook_renderer` at the top of a notebook. Since plotly
6.1, papermill runs default to the ``plotly_mimetype`` renderer, which
nbconvert drops without a word. The renderer set here gives each chart both
the plotly mimetype (JupyterLab draws it) and an HTML div without plotly.js
or MathJax (the report template inlines plotly.js once, so a report opens
offline). :func:`show` displays a figure and, when the report was asked for
images, also writes it as PNG and SVG through kaleido and the system Chromium.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.io.base_renderers import MimetypeRenderer

from analysis import config
from analysis.counts import balance, count_claims
from analysis.escape import plot_text
from analysis.schema import claim_types, types_in, types_of_role

RENDERER = "plotly_mimetype+claimscope_html"
# Okabe-Ito colours (safe for the common colour-vision deficiencies):
# benefit bluish green, risk vermilion, uncertainty blue.
TYPE_COLOURS = {"benefit": "#009E73", "risk": "#D55E00", "uncertainty": "#0072B2"}
OTHER_TYPE_COLOURS = ("#E69F00", "#CC79A7", "#56B4E9", "#000000")
FONT = "Helvetica, Arial, sans-serif"
# Journal sizes: a double-column figure is about 174 mm wide; images are
# drawn at that width (in CSS pixels, 96 per inch) and PNGs at 3x for print.
IMAGE_WIDTH = 660
PNG_SCALE = 3
CAPTION_ROOM = 150  # px under a plot for its axis labels and title, before the caption


def template() -> go.layout.Template:
    """The project's plotly template, used by every chart (:func:`styled`):
    white background, light grid, legible sans-serif type, the Okabe-Ito
    colours in order."""
    base = pio.templates["plotly_white"]
    return go.layout.Template(
        layout=go.Layout(base.layout).update(
            font={"family": FONT, "size": 13, "color": "#222222"},
            title={"font": {"size": 16}, "x": 0, "xanchor": "left"},
            colorway=[*TYPE_COLOURS.values(), *OTHER_TYPE_COLOURS],
            paper_bgcolor="#ffffff",
            plot_bgcolor="#ffffff",
            xaxis={"gridcolor": "#e5e5e5", "linecolor": "#444444", "ticks": "outside"},
            yaxis={"gridcolor": "#e5e5e5", "linecolor": "#444444", "ticks": "outside"},
            margin={"t": 70, "l": 10, "r": 10},
        ),
        data=base.data,
    )


def styled(fig: go.Figure, caption: str = "") -> go.Figure:
    """The figure in the project's template, with ``caption`` (what is
    counted, n, the denominator, the error source) at the foot of the
    figure, below the axis and its labels."""
    fig.update_layout(template=template())
    if caption:
        lines = _wrap(caption, 150)
        top = fig.layout.margin.t if fig.layout.margin.t is not None else 70
        bottom = CAPTION_ROOM + 15 * len(lines)
        height = (fig.layout.height or 450) + 15 * len(lines) + CAPTION_ROOM // 2
        plot = max(height - top - bottom, 50)
        fig.add_annotation(
            text="<br>".join(plot_text(line) for line in lines),
            xref="paper",
            yref="paper",
            x=0,
            y=-(bottom - 6) / plot,  # the figure's foot, 6 px above its edge
            xanchor="left",
            yanchor="bottom",
            align="left",
            showarrow=False,
            font={"size": 11, "color": "#444444"},
            name="caption",
        )
        fig.update_layout(margin={"b": bottom}, height=height)
    return fig


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) or [""]


def type_colour(claim_type: str) -> str:
    """A claim type's colour; a type the codebook adds gets one of the others."""
    if claim_type in TYPE_COLOURS:
        return TYPE_COLOURS[claim_type]
    return OTHER_TYPE_COLOURS[sum(map(ord, claim_type)) % len(OTHER_TYPE_COLOURS)]


CERTAINTY_COLOURS = {"asserted": "#4d4d4d", "hedged": "#a6a6a6", "negated": "#e7298a"}
GENERAL = "(no condition)"


def evidence_filter(**columns: str) -> str:
    """What a click on a chart's bar or cell carries: the evidence table's
    columns and values that select the claims behind it (read by the page's
    click-through script; "" selects claims with no condition)."""
    return "filter:" + json.dumps(columns, ensure_ascii=False)


class OfflineHtmlRenderer(MimetypeRenderer):
    """A chart as an HTML div and script, without plotly.js or MathJax."""

    def to_mimebundle(self, fig_dict: dict) -> dict:
        html = pio.to_html(
            fig_dict,
            include_plotlyjs=False,
            include_mathjax=False,
            full_html=False,
            default_width="100%",
            default_height=525,
        )
        return {"text/html": html}


def layers(fig: go.Figure) -> list[tuple[str, go.Figure]]:
    """The figure as printed or exported: one figure per button of its first
    menu (traces shown and layout set as that button sets them, no buttons
    drawn), or [("", fig)] for a figure with no layers."""
    menus = fig.layout.updatemenus
    if not menus or not menus[0].buttons:
        return [("", fig)]
    out = []
    for button in menus[0].buttons:
        one = go.Figure(fig)
        one.layout.updatemenus = ()
        args = list(button.args or [])
        visible = (args[0] if args else {}).get("visible", [])
        for trace, shown in zip(one.data, visible, strict=False):
            trace.visible = shown
        for key, value in (args[1] if len(args) > 1 else {}).items():
            one.layout[key] = value
        out.append((str(button.label), one))
    return out


def use_notebook_renderer() -> None:
    """Render charts so that both JupyterLab and the offline HTML show them."""
    pio.renderers["claimscope_html"] = OfflineHtmlRenderer()
    pio.renderers.default = RENDERER


def show(fig: go.Figure, name: str, images_dir: str = "", caption: str = "") -> go.Figure:
    """Return ``fig`` for display in the project's template with its
    ``caption`` (:func:`styled`); with ``images_dir``, also write it there
    as PNG (3x, for print), SVG and PDF (kaleido, system Chromium) at a
    journal's double-column width: ``<name>.png``, or for a chart with
    layers behind buttons (the heatmaps) one image per layer,
    ``<name>_<layer>.png``, each as its button shows it and without buttons."""
    fig = styled(fig, caption)
    if images_dir:
        import warnings

        import kaleido

        # One Chromium for every image of the process (kaleido's own server,
        # closed when the process ends): starting one per image took 2 s.
        kaleido.start_sync_server(silence_warnings=True)
        folder = Path(images_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for layer, one in layers(fig):
            stem = f"{name}_{re.sub(r'[^a-z0-9]+', '-', layer.lower())}" if layer else name
            for suffix in (".png", ".svg", ".pdf"):
                with warnings.catch_warnings():  # plotly passes no options the server lacks
                    warnings.filterwarnings("ignore", message="The kopts argument is ignored")
                    one.write_image(
                        folder / f"{stem}{suffix}",
                        width=IMAGE_WIDTH,
                        height=one.layout.height or 520,
                        scale=PNG_SCALE if suffix == ".png" else 1,
                    )
    return fig


def label(value: str, labels: dict[str, str] | None = None) -> str:
    """How an id reads: its codebook label when ``labels`` has one (raw text:
    escape it for the page it goes to, :mod:`analysis.escape`)."""
    if value == "":
        return GENERAL
    return (labels or {}).get(value) or str(value).replace("_", " ")


def pretty(value: str, labels: dict[str, str] | None = None) -> str:
    """How an id is shown in a chart: its label as plotly text (escaped)."""
    return plot_text(label(value, labels))


def codebook_labels(codebook_path: str = "") -> dict[str, str]:
    """id -> label of the codebook's procedures, conditions and categories,
    for the charts ("atopic_dermatitis" is shown as "Eczema (atopic dermatitis)")."""
    from analysis import config
    from analysis.codebook import load_labels

    names = load_labels(codebook_path or config.CODEBOOK)
    return {**names.procedures.labels, **names.conditions.labels, **names.categories}


def _empty(title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        title=title,
        annotations=[{"text": "No claims to show", "showarrow": False, "font": {"size": 16}}],
        xaxis={"visible": False},
        yaxis={"visible": False},
    )
    return fig


def heatmap(claims: pd.DataFrame, claim_type: str) -> go.Figure:
    """Procedure x condition heatmap of one claim type's claims."""
    return heatmaps(claims, types=(claim_type,))


HEATMAP_MEASURES = {
    "claims": "claims",
    "per article": "claims per article discussing the pair",
    "share of articles": "share of the articles discussing the pair that make the claim",
}


def heatmaps(
    claims: pd.DataFrame,
    types: tuple[str, ...] | None = None,
    labels: dict[str, str] | None = None,
    recall: dict[str, float] | None = None,
) -> go.Figure:
    """Procedure x condition heatmaps, one per type (default: every type
    coded) and measure (:data:`HEATMAP_MEASURES`: claims; claims per article
    discussing the pair; the share of those articles making the claim, so
    that one long article cannot dominate), switchable in a menu. The
    first traces are the claims of each type (``trace.name`` the type;
    ``trace.meta`` names type and measure). A cell with no claim reads
    "none detected", with the share of such claims the coder finds
    (``recall``, per type) when it is known: an empty cell is not a proven
    absence."""
    title = "Claims per procedure and condition"
    if claims.empty:
        return _empty(title)
    types = types or claim_types(claims)
    counts = count_claims(claims, ["procedure", "condition", "type"])
    discussing = count_claims(claims, ["procedure", "condition"]).pivot_table(
        index="procedure", columns="condition", values="articles", fill_value=0
    )
    procedures = sorted(claims["procedure"].unique())
    conditions = sorted(claims["condition"].unique(), key=lambda c: (c == "", c))
    discussing = discussing.reindex(index=procedures, columns=conditions, fill_value=0)
    fig = go.Figure()
    layers_: list[tuple[str, str]] = []
    for measure in HEATMAP_MEASURES:
        for t in types:
            sub = counts[counts["type"] == t]
            m = sub.pivot_table(
                index="procedure", columns="condition", values="claims", fill_value=0
            )
            d = sub.pivot_table(
                index="procedure", columns="condition", values="articles", fill_value=0
            )
            m = m.reindex(index=procedures, columns=conditions, fill_value=0)
            d = d.reindex(index=procedures, columns=conditions, fill_value=0)
            base = discussing.to_numpy().clip(min=1)
            z = {
                "claims": m.to_numpy(),
                "per article": m.to_numpy() / base,
                "share of articles": 100 * d.to_numpy() / base,
            }[measure]
            shown = {
                "claims": "%{z:d}",
                "per article": "%{z:.1f}",
                "share of articles": "%{z:.0f} %",
            }[measure]
            fig.add_trace(
                go.Heatmap(
                    z=z,
                    x=[pretty(c, labels) for c in conditions],
                    y=[pretty(p, labels) for p in procedures],
                    customdata=[
                        [
                            [
                                int(n),
                                evidence_filter(type=t, procedures=p, conditions=c),
                                f"claims: {int(k)}<br>articles making them: {int(n)}"
                                f"<br>articles discussing the pair: {int(a)}"
                                if k
                                else none_detected(plot_text(t), (recall or {}).get(t)),
                            ]
                            for c, n, k, a in zip(conditions, row, krow, arow, strict=True)
                        ]
                        for p, row, krow, arow in zip(
                            procedures, d.values, m.values, discussing.values, strict=True
                        )
                    ],
                    texttemplate=shown,
                    colorscale=[[0, "#ffffff"], [1, type_colour(t)]],
                    zmin=0,
                    name=plot_text(t) if measure == "claims" else plot_text(f"{t}, {measure}"),
                    meta={"type": t, "measure": measure},
                    visible=not layers_,
                    hovertemplate=(
                        f"<b>{plot_text(t)}</b><br>%{{y}} × %{{x}}<br>%{{customdata[2]}}"
                        "<extra></extra>"
                    ),
                )
            )
            layers_.append((t, measure))
    buttons = [
        {
            "label": plot_text(t if measure == "claims" else f"{t}, {measure}"),
            "method": "update",
            "args": [
                {"visible": [j == i for j in range(len(layers_))]},
                {"title.text": plot_text(f"{title}: {t}, {HEATMAP_MEASURES[measure]}")},
            ],
        }
        for i, (t, measure) in enumerate(layers_)
    ]
    fig.update_layout(
        title=plot_text(f"{title}: {types[0]}, claims"),
        xaxis_title="condition",
        yaxis_title="procedure",
        updatemenus=[
            {
                "buttons": buttons,
                "direction": "down",
                "type": "dropdown",
                "x": 1,
                "xanchor": "right",
                "y": 1.12,
                "yanchor": "bottom",
            }
        ],
        height=max(320, 80 + 60 * len(procedures)),
    )
    return fig


def category_bars(
    claims: pd.DataFrame,
    title: str = "Benefits versus risks and caveats",
    labels: dict[str, str] | None = None,
) -> go.Figure:
    """Diverging bars: benefit categories to the right, risks and caveats to the left."""
    if claims.empty:
        return _empty(title)
    counts = count_claims(claims, ["type", "category"])
    benefits = set(types_of_role(claims, "benefit"))
    fig = go.Figure()
    for t in claim_types(claims):
        sub = counts[counts["type"] == t].sort_values("claims")
        if sub.empty:
            continue
        sign = 1 if t in benefits else -1
        fig.add_trace(
            go.Bar(
                x=sign * sub["claims"],
                y=[pretty(c, labels) for c in sub["category"]],
                customdata=[
                    [int(n), int(a), evidence_filter(type=t, category=c)]
                    for n, a, c in zip(sub["claims"], sub["articles"], sub["category"], strict=True)
                ],
                orientation="h",
                name=plot_text(t),
                marker_color=type_colour(t),
                hovertemplate=(
                    f"<b>{plot_text(t)}</b>: %{{y}}<br>claims: %{{customdata[0]}}"
                    "<br>articles: %{customdata[1]}<extra></extra>"
                ),
            )
        )
    fig.update_layout(
        title=title,
        barmode="relative",
        xaxis_title="← risks and caveats · claims · benefits →",
        xaxis_tickformat=",d",
        height=max(360, 30 * len(counts) + 120),
    )
    return fig


def none_detected(claim_type: str, recall: float | None) -> str:
    """What an empty cell says: nothing was detected, and how much the coder
    finds of what is there (an absence it cannot prove)."""
    if recall is None or recall != recall:
        return f"none detected (no {claim_type} claim found by the coder)"
    return (
        f"none detected: the coder finds about {recall:.0%} of the {claim_type} "
        "claims trained coders find"
    )


def estimates_chart(
    estimates: pd.DataFrame,
    title: str = "Claims per procedure, corrected for the coder's error",
    labels: dict[str, str] | None = None,
) -> go.Figure:
    """Per procedure (all conditions) and type: the estimate corrected for
    the coder's measured error with its 95 % interval; the observed count on
    hover (:func:`analysis.estimates.cell_estimates`)."""
    totals = estimates[estimates["condition"] == "all"] if len(estimates) else estimates
    if totals.empty:
        return _empty(title)
    procedures = sorted(totals["procedure"].unique())
    fig = go.Figure()
    for t in [t for t in claim_types(totals) if t in set(totals["type"])]:
        sub = (
            totals[totals["type"] == t]
            .set_index("procedure")
            .reindex(procedures)
            .dropna(subset=["estimate"])
        )
        fig.add_trace(
            go.Scatter(
                x=sub["estimate"],
                y=[pretty(p, labels) for p in sub.index],
                mode="markers",
                name=plot_text(t),
                marker={"color": type_colour(t), "size": 10},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": (sub["high"] - sub["estimate"]).clip(lower=0),
                    "arrayminus": (sub["estimate"] - sub["low"]).clip(lower=0),
                    "color": type_colour(t),
                },
                customdata=sub[["observed", "low", "high"]].to_numpy(),
                hovertemplate=(
                    f"<b>{plot_text(t)}</b>: %{{y}}<br>estimate %{{x:.0f}} "
                    "(95 % interval %{customdata[1]:.0f} to %{customdata[2]:.0f})"
                    "<br>observed (found by the coder): %{customdata[0]}<extra></extra>"
                ),
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title="claims (estimate and 95 % interval)",
        xaxis_rangemode="tozero",
        height=max(320, 80 + 40 * len(procedures)),
    )
    return fig


def balance_chart(
    claims: pd.DataFrame,
    title: str = "Benefit and risk balance per pair",
    labels: dict[str, str] | None = None,
    min_claims: int = 1,
) -> go.Figure:
    """Per procedure x condition: benefit, risk and uncertainty claims side
    by side; hover gives the risk share and the hedged share. Pairs with
    fewer than ``min_claims`` claims are left out, and the title says how
    many."""
    if claims.empty:
        return _empty(title)
    bal = balance(claims).sort_values(["benefits", "harms"])
    types = claim_types(claims)
    small = bal[list(types)].sum(axis=1) < min_claims
    if small.any():
        title = (
            f"{title} ({int(small.sum())} pair{'s' if small.sum() != 1 else ''} with fewer "
            f"than {min_claims} claims not shown; "
            "the tables list them)"
        )
        bal = bal[~small]
    if bal.empty:
        return _empty(title)
    labels = [
        f"{pretty(p, labels)} × {pretty(c, labels)}"
        for p, c in zip(bal["procedure"], bal["condition"], strict=True)
    ]
    fig = go.Figure()
    for t in types:
        fig.add_trace(
            go.Bar(
                y=labels,
                x=bal[t],
                orientation="h",
                name=plot_text(t),
                marker_color=type_colour(t),
                customdata=bal[["risk_share", "hedged_share"]].values,
                hovertemplate=(
                    f"<b>%{{y}}</b><br>{plot_text(t)} claims: %{{x}}"
                    "<br>risk share: %{customdata[0]:.0%}<br>hedged: %{customdata[1]:.0%}<extra></extra>"
                ),
            )
        )
    fig.update_layout(
        title=title,
        barmode="group",
        xaxis_title="claims",
        xaxis_tickformat=",d",
        xaxis_side="top",  # the scale stays in sight at the top of a tall chart
        margin={"t": 120},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        height=max(360, 28 * len(types) * len(bal) + 160),
    )
    return fig


def certainty_mix(claims: pd.DataFrame, title: str = "How firmly claims are made") -> go.Figure:
    """Stacked bars per claim type: asserted, hedged and negated claims."""
    if claims.empty:
        return _empty(title)
    counts = count_claims(claims, ["type", "certainty"])
    types = list(claim_types(claims))
    fig = go.Figure()
    for certainty, colour in CERTAINTY_COLOURS.items():
        sub = counts[counts["certainty"] == certainty].set_index("type").reindex(types)
        fig.add_trace(
            go.Bar(
                x=types,
                y=sub["claims"].fillna(0).astype(int),
                customdata=sub["articles"].fillna(0).astype(int),
                name=plot_text(certainty),
                marker_color=colour,
                hovertemplate=(
                    f"<b>%{{x}}, {certainty}</b><br>claims: %{{y}}"
                    "<br>articles: %{customdata}<extra></extra>"
                ),
            )
        )
    fig.update_layout(title=title, barmode="stack", yaxis_title="claims", yaxis_tickformat=",d")
    return fig


def document_table(
    profile: pd.DataFrame, title: str = "What each document tells its reader"
) -> go.Figure:
    """One row per document: claims per type and the DISCERN-style answers
    (an article that states general risks of the procedure describes risks)."""
    yes = {True: "yes", False: "no"}
    columns = {
        # plotly reads a little HTML in table cells: corpus text is escaped
        "document": (profile["id"] if "id" in profile else profile["doc"]).map(html.escape),
        "title": profile["title"].map(html.escape),
        "benefits": profile["benefits"],
        "risks": profile["harms"],
        "uncertainty": profile["caveats"],
        "hedged": (profile["hedged_share"] * 100).round().astype(int).astype(str) + " %",
        "describes benefits?": profile["describes_benefits"].map(yes),
        "describes risks?": [
            ("yes" if r else "none detected")
            + (
                " ("
                + ", ".join(
                    part
                    for part in (
                        f"{g} general" if g else "",
                        f"{o} for other conditions" if o else "",
                    )
                    if part
                )
                + ")"
                if g or o
                else ""
            )
            for r, g, o in zip(
                profile["describes_risks"],
                profile["general_risk"],
                profile.get("other_risk", pd.Series(0, index=profile.index)),
                strict=True,
            )
        ],
        "mentions uncertainty?": profile["mentions_uncertainty"].map(yes),
    }
    fig = go.Figure(
        go.Table(
            header={"values": list(columns), "align": "left", "fill_color": "#eeeeee"},
            cells={"values": [list(v) for v in columns.values()], "align": "left"},
            columnwidth=[2, 3, 1, 1, 1, 1, 1.4, 1.4, 1.6],
        )
    )
    # a long id or title wraps to two or three lines: room for them, no more
    lines = [
        1 + max(len(str(d)) // 24, len(str(t)) // 36)
        for d, t in zip(columns["document"], columns["title"], strict=True)
    ]
    fig.update_layout(
        title=title, height=110 + sum(22 + 16 * n for n in lines), margin={"t": 60, "b": 10}
    )
    return fig


GROUP_COLOURS = ("#1f78b4", "#e31a1c", "#33a02c", "#ff7f00", "#6a3d9a", "#b15928", "#a6cee3")


def group_shares_chart(
    shares: pd.DataFrame,
    by: str,
    labels: dict[str, str] | None = None,
    title: str = "Share of articles making each kind of claim, per group",
) -> go.Figure:
    """Per procedure (rows) and claim type (panels): each group's share of
    articles with its 95 % interval (``shares`` from
    :func:`analysis.compare.group_shares`). A small group's marker is hollow."""
    from plotly.subplots import make_subplots

    if shares.empty:
        return _empty(title)
    order = sorted(shares["procedure"].unique(), key=lambda p: (p != "", p))
    names = {p: "all procedures" if p == "" else pretty(p, labels) for p in order}
    types = types_in(shares)
    fig = make_subplots(rows=1, cols=len(types), shared_yaxes=True, subplot_titles=list(types))
    groups = list(dict.fromkeys(shares["group"]))
    for g, group in enumerate(groups):
        mine = (
            shares[shares["group"] == group]
            .set_index("procedure")
            .reindex(order)
            .dropna(subset=["articles"])
        )
        colour = GROUP_COLOURS[g % len(GROUP_COLOURS)]
        for col, t in enumerate(types, 1):
            share = mine[f"{t}_share"]
            fig.add_trace(
                go.Scatter(
                    x=share * 100,
                    y=[names[p] for p in mine.index],
                    mode="markers",
                    name=plot_text(f"{by} = {group}"),
                    legendgroup=group,
                    showlegend=col == 1,
                    marker={
                        "color": colour,
                        "size": 10,
                        "symbol": [
                            "circle-open" if s else "circle" for s in mine["small"].astype(bool)
                        ],
                    },
                    error_x={
                        "type": "data",
                        "symmetric": False,
                        "array": (mine[f"{t}_high"] - share) * 100,
                        "arrayminus": (share - mine[f"{t}_low"]) * 100,
                        "color": colour,
                    },
                    customdata=list(
                        zip(
                            mine[f"{t}_articles"].astype(int),
                            mine["articles"].astype(int),
                            strict=True,
                        )
                    ),
                    hovertemplate=f"{plot_text(group)}: %{{customdata[0]}} of "
                    "%{customdata[1]} articles (%{x:.0f} %)<extra>%{y}</extra>",
                ),
                row=1,
                col=col,
            )
            fig.update_xaxes(range=[-2, 102], title_text="% of articles", row=1, col=col)
    if shares["small"].astype(bool).any():  # a legend entry for the hollow marker
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                marker={"symbol": "circle-open", "size": 10, "color": "#444444"},
                name=f"hollow: a group of fewer than {config.MIN_GROUP_ARTICLES} articles",
                hoverinfo="skip",
            ),
            row=1,
            col=1,
        )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(
        title=title,
        height=max(320, 60 + 36 * len(order)),
        legend={"orientation": "h", "y": -0.15},
    )
    return fig


def over_time_chart(table: pd.DataFrame, title: str = "Claims per article over time") -> go.Figure:
    """Claims per article of each type by period (from :func:`analysis.compare.over_time`)."""
    if table.empty:
        return _empty(title)
    fig = go.Figure()
    for t in types_in(table, "_per_article"):
        fig.add_trace(
            go.Scatter(
                x=table["period"],
                y=table[f"{t}_per_article"],
                mode="lines+markers",
                name=plot_text(t),
                line={"color": type_colour(t)},
                customdata=table["articles"],
                hovertemplate="%{x}: %{y:.2f} " + t + " claims per article "
                "(%{customdata} articles)<extra></extra>",
            )
        )
    fig.update_layout(
        title=title, xaxis={"type": "category", "title": "period"}, yaxis_title="claims per article"
    )
    return fig
