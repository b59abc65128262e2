"""Charts of an agreement (:func:`analysis.validation.agreement.agreement`):
the confusion of categories and the F1 per category."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analysis.escape import plot_text
from analysis.figures import _empty, type_colour
from analysis.schema import claim_types


def confusion_matrix(
    confusion: pd.DataFrame, title: str = "Categories: gold against predicted"
) -> go.Figure:
    """Heatmap of the confusion table of :func:`analysis.validation.agreement.agreement`
    (``gold, pred, claims``): the diagonal is agreement."""
    if confusion.empty:
        return _empty(title)
    labels = sorted(set(confusion["gold"]) | set(confusion["pred"]))
    grid = (
        confusion.pivot_table(index="gold", columns="pred", values="claims", aggfunc="sum")
        .reindex(index=labels, columns=labels)
        .fillna(0)
    )
    shown = [plot_text(x) for x in labels]  # categories of a coding file are outside text
    fig = go.Figure(
        go.Heatmap(
            z=grid.values,
            x=shown,
            y=shown,
            colorscale="Blues",
            hovertemplate="gold %{y}<br>predicted %{x}<br>%{z} claims<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title="predicted (or second coder)",
        yaxis_title="gold",
        yaxis_autorange="reversed",
        height=max(420, 24 * len(labels) + 200),
    )
    return fig


def category_scores(scores: pd.DataFrame, title: str = "Agreement per category (F1)") -> go.Figure:
    """Bars of F1 per category from the scores table of
    :func:`analysis.validation.agreement.agreement` (levels ``type:category``)."""
    f1 = scores[(scores["measure"] == "f1") & scores["level"].str.count(":").eq(1)]
    f1 = f1[~f1["level"].str.startswith("category:")]
    if f1.empty:
        return _empty(title)
    kinds = f1["level"].str.split(":").str[0]
    fig = go.Figure(
        [
            go.Bar(
                x=f1.loc[kinds == t, "value"],
                y=f1.loc[kinds == t, "level"].str.split(":").str[1].map(plot_text),
                orientation="h",
                name=plot_text(t),
                marker_color=type_colour(t),
                hovertemplate="%{y}: F1 %{x:.3f}<extra></extra>",
            )
            for t in claim_types(pd.DataFrame({"type": kinds}))
            if (kinds == t).any()
        ]
    )
    fig.update_layout(title=title, xaxis_range=[0, 1], height=max(360, 22 * len(f1) + 160))
    return fig
