"""Figures: plotly charts of the claims.

Each function takes the claims table (and, for the document table, the
profile from :func:`analysis.counts.document_profile`) and returns a plotly
``Figure``; counting goes through :mod:`analysis.counts`, so every number in
a chart is a mention or document count as defined there. Hover text shows
both measures for every bar and cell.

Call :func:`use_notebook_renderer` at the top of a notebook: since plotly
6.1, papermill runs default to the ``plotly_mimetype`` renderer, which
nbconvert drops without a word; ``plotly_mimetype+notebook`` also embeds
the HTML, so the charts show in JupyterLab and in the exported report.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from analysis.counts import TYPES, count_claims

RENDERER = "plotly_mimetype+notebook"
TYPE_COLOURS = {"benefit": "#1b9e77", "risk": "#d95f02", "uncertainty": "#7570b3"}
CERTAINTY_COLOURS = {"asserted": "#4d4d4d", "hedged": "#a6a6a6", "negated": "#e7298a"}
GENERAL = "(no condition)"


def use_notebook_renderer() -> None:
    """Render charts so that both JupyterLab and nbconvert's HTML show them."""
    pio.renderers.default = RENDERER


def pretty(value: str) -> str:
    return GENERAL if value == "" else str(value).replace("_", " ")


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
    """Procedure x condition heatmap of one claim type's mentions."""
    return heatmaps(claims, types=(claim_type,))


def heatmaps(claims: pd.DataFrame, types: tuple[str, ...] = TYPES) -> go.Figure:
    """Procedure x condition heatmaps, one per type, switchable with buttons."""
    title = "Claims per procedure and condition"
    if claims.empty:
        return _empty(title)
    counts = count_claims(claims, ["procedure", "condition", "type"])
    procedures = sorted(claims["procedure"].unique())
    conditions = sorted(claims["condition"].unique(), key=lambda c: (c == "", c))
    fig = go.Figure()
    for i, t in enumerate(types):
        sub = counts[counts["type"] == t]
        m = sub.pivot_table(index="procedure", columns="condition", values="mentions", fill_value=0)
        d = sub.pivot_table(
            index="procedure", columns="condition", values="documents", fill_value=0
        )
        m = m.reindex(index=procedures, columns=conditions, fill_value=0)
        d = d.reindex(index=procedures, columns=conditions, fill_value=0)
        fig.add_trace(
            go.Heatmap(
                z=m.values,
                x=[pretty(c) for c in conditions],
                y=[pretty(p) for p in procedures],
                customdata=d.values,
                text=m.values,
                texttemplate="%{text}",
                colorscale=[[0, "#ffffff"], [1, TYPE_COLOURS.get(t, "#444")]],
                zmin=0,
                name=t,
                visible=i == 0,
                hovertemplate=(
                    f"<b>{t}</b><br>%{{y}} × %{{x}}<br>mentions: %{{z}}"
                    "<br>documents: %{customdata}<extra></extra>"
                ),
            )
        )
    buttons = [
        {
            "label": t,
            "method": "update",
            "args": [{"visible": [j == i for j in range(len(types))]}, {"title": f"{title}: {t}"}],
        }
        for i, t in enumerate(types)
    ]
    fig.update_layout(
        title=f"{title}: {types[0]}",
        xaxis_title="condition",
        yaxis_title="procedure",
        updatemenus=[
            {"buttons": buttons, "direction": "right", "x": 0, "y": 1.15, "type": "buttons"}
        ]
        if len(types) > 1
        else [],
        height=max(320, 80 + 60 * len(procedures)),
    )
    return fig


def category_bars(
    claims: pd.DataFrame, title: str = "Benefits versus risks and caveats"
) -> go.Figure:
    """Diverging bars: benefit categories to the right, risks and caveats to the left."""
    if claims.empty:
        return _empty(title)
    counts = count_claims(claims, ["type", "category"])
    fig = go.Figure()
    for t in TYPES:
        sub = counts[counts["type"] == t].sort_values("mentions")
        if sub.empty:
            continue
        sign = 1 if t == "benefit" else -1
        fig.add_trace(
            go.Bar(
                x=sign * sub["mentions"],
                y=[pretty(c) for c in sub["category"]],
                customdata=sub[["mentions", "documents"]].values,
                orientation="h",
                name=t,
                marker_color=TYPE_COLOURS[t],
                hovertemplate=(
                    f"<b>{t}</b>: %{{y}}<br>mentions: %{{customdata[0]}}"
                    "<br>documents: %{customdata[1]}<extra></extra>"
                ),
            )
        )
    fig.update_layout(
        title=title,
        barmode="relative",
        xaxis_title="← risks and caveats · mentions · benefits →",
        height=max(360, 30 * len(counts) + 120),
    )
    return fig


def certainty_mix(claims: pd.DataFrame, title: str = "How firmly claims are made") -> go.Figure:
    """Stacked bars per claim type: asserted, hedged and negated mentions."""
    if claims.empty:
        return _empty(title)
    counts = count_claims(claims, ["type", "certainty"])
    fig = go.Figure()
    for certainty, colour in CERTAINTY_COLOURS.items():
        sub = counts[counts["certainty"] == certainty].set_index("type").reindex(list(TYPES))
        fig.add_trace(
            go.Bar(
                x=list(TYPES),
                y=sub["mentions"].fillna(0).astype(int),
                customdata=sub["documents"].fillna(0).astype(int),
                name=certainty,
                marker_color=colour,
                hovertemplate=(
                    f"<b>%{{x}}, {certainty}</b><br>mentions: %{{y}}"
                    "<br>documents: %{customdata}<extra></extra>"
                ),
            )
        )
    fig.update_layout(title=title, barmode="stack", yaxis_title="mentions")
    return fig


def document_table(
    profile: pd.DataFrame, title: str = "What each document tells its reader"
) -> go.Figure:
    """One row per document: mentions per type and the DISCERN-style answers."""
    yes = {True: "yes", False: "no"}
    columns = {
        "document": profile["title"].where(profile["title"] != "", profile["doc"]),
        "benefits": profile["benefit"],
        "risks": profile["risk"],
        "uncertainty": profile["uncertainty"],
        "hedged": (profile["hedged_share"] * 100).round().astype(int).astype(str) + " %",
        "describes benefits?": profile["describes_benefits"].map(yes),
        "describes risks?": profile["describes_risks"].map(yes),
        "mentions uncertainty?": profile["mentions_uncertainty"].map(yes),
    }
    fig = go.Figure(
        go.Table(
            header={"values": list(columns), "align": "left", "fill_color": "#eeeeee"},
            cells={"values": [list(v) for v in columns.values()], "align": "left"},
            columnwidth=[4, 1, 1, 1, 1, 1.4, 1.4, 1.6],
        )
    )
    fig.update_layout(title=title, height=max(240, 90 + 32 * len(profile)))
    return fig
