"""Group comparisons: do clinic pages state risks less often than news pieces?

Takes the claims table (:mod:`analysis.extract`) and the documents table
with a metadata column to group by (:mod:`analysis.metadata`; e.g. ``kind``
or ``outlet``). The unit is the article, as in :mod:`analysis.counts`.

:func:`group_shares` returns one row per group and procedure
(``procedure == ""``: all procedures, every article of the group counted,
those making no claim too): ``group, procedure, articles`` and for each
claim type the articles making such a claim, their share and its 95 %
Wilson interval, and ``small`` when the group has fewer than
``config.MIN_GROUP_ARTICLES`` articles (flagged, never hidden).

:func:`compare_groups` tests, per procedure and claim type, whether the
share of articles making the claim differs between groups: Fisher's exact
test for two groups (effect: the difference in shares, in percentage
points, and the odds ratio), a chi-square test for more (effect: Cramér's
V), both from scipy, with Benjamini-Hochberg adjusted p-values over all the
tests of the table and a plain-words ``finding``.

:func:`quantified_shares` returns, per group of the given columns, the
benefit and risk claims and the share of them that state a number.
:func:`over_time` returns claims per article by year or month of a date
column.
"""

from __future__ import annotations

import math

import pandas as pd

from analysis import config
from analysis.counts import wilson
from analysis.errors import GroupingError
from analysis.schema import claim_key, claim_types, types_in, with_roles

NOT_GIVEN = "(not given)"


def share_columns(types: tuple[str, ...]) -> list[str]:
    """The group shares table's columns for these claim types."""
    return ["group", "procedure", "articles", "small"] + [
        f"{t}_{s}" for t in types for s in ("articles", "share", "low", "high")
    ]


TEST_COLUMNS = [
    "procedure",
    "type",
    "groups",
    "test",
    "statistic",
    "p_value",
    "p_adjusted",
    "effect",
    "effect_name",
    "odds_ratio",
    "small",
    "finding",
]


def groups_of(documents: pd.DataFrame, by: str) -> pd.Series:
    """Each document's group (by doc); an empty value is ``NOT_GIVEN``."""
    if by not in documents.columns:
        from analysis.metadata import metadata_columns

        known = metadata_columns(documents)
        raise GroupingError(
            f"the documents have no column {by!r} to compare groups by; "
            + (
                f"their metadata columns are {', '.join(known)}"
                if known
                else "give the corpus a metadata.csv (doc plus your columns) or --metadata FILE"
            )
        )
    values = documents[by].fillna("").astype(str).str.strip()
    return pd.Series(values.where(values != "", NOT_GIVEN).values, index=documents["doc"])


def group_shares(claims: pd.DataFrame, documents: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per group and procedure: the articles and the share making each claim type."""
    group = groups_of(documents, by)
    types = claim_types(claims)
    rows = []
    claims = claims[claims["doc"].isin(group.index)]
    for name in sorted(group.unique(), key=lambda g: (g == NOT_GIVEN, g)):
        docs = set(group.index[group == name])
        mine = claims[claims["doc"].isin(docs)]
        rows.append(_share_row(name, "", docs, mine, types))
        for procedure, about in mine.groupby("procedure", sort=True):
            rows.append(_share_row(name, str(procedure), set(about["doc"]), about, types))
    return pd.DataFrame(rows, columns=share_columns(types))


def _share_row(
    group: str, procedure: str, docs: set[str], claims: pd.DataFrame, types: tuple[str, ...]
) -> dict:
    row: dict = {
        "group": group,
        "procedure": procedure,
        "articles": len(docs),
        "small": len(docs) < config.MIN_GROUP_ARTICLES,
    }
    for t in types:
        making = len(set(claims.loc[claims["type"] == t, "doc"]))
        low, high = wilson(making, len(docs))
        row |= {
            f"{t}_articles": making,
            f"{t}_share": making / len(docs) if docs else float("nan"),
            f"{t}_low": low,
            f"{t}_high": high,
        }
    return row


def compare_groups(shares: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """One test per procedure and claim type across the groups of ``shares``
    (:func:`group_shares`); documents with no group value are left out."""
    from scipy.stats import chi2_contingency, false_discovery_control, fisher_exact

    types = types_in(shares)
    shares = shares[(shares["group"] != NOT_GIVEN) & (shares["articles"] > 0)]
    rows = []
    for procedure, table in shares.groupby("procedure", sort=True):
        if len(table) < 2:
            continue
        for t in types:
            making = table[f"{t}_articles"].astype(int)
            counts = [[int(k), int(n - k)] for k, n in zip(making, table["articles"], strict=True)]
            row = {
                "procedure": procedure,
                "type": t,
                "groups": len(table),
                "small": bool(table["small"].any()),
                "odds_ratio": float("nan"),
            }
            if making.sum() == 0 or making.sum() == table["articles"].sum():
                row |= {
                    "test": "none",
                    "statistic": float("nan"),
                    "p_value": float("nan"),
                    "effect": 0.0,
                    "effect_name": "",
                }
            elif len(table) == 2:
                result = fisher_exact(counts)
                a, b = table.iloc[0], table.iloc[1]
                row |= {
                    "test": "Fisher's exact test",
                    "statistic": float("nan"),
                    "p_value": float(result.pvalue),
                    "effect": 100 * (a[f"{t}_share"] - b[f"{t}_share"]),
                    "effect_name": f"difference in percentage points ({a['group']} − {b['group']})",
                    "odds_ratio": float(result.statistic),
                }
            else:
                result = chi2_contingency(counts)
                n = sum(sum(c) for c in counts)
                row |= {
                    "test": "chi-square test",
                    "statistic": float(result.statistic),
                    "p_value": float(result.pvalue),
                    "effect": math.sqrt(result.statistic / n) if n else float("nan"),
                    "effect_name": "Cramér's V",
                }
            row["finding"] = _finding(row, table, t, alpha)
            rows.append(row)
    out = pd.DataFrame(rows, columns=TEST_COLUMNS)
    tested = out["p_value"].notna()
    out["p_adjusted"] = float("nan")
    if tested.any():
        out.loc[tested, "p_adjusted"] = false_discovery_control(out.loc[tested, "p_value"])
    return out


def _pct(share: float) -> str:
    return f"{100 * share:.0f} %"


def _finding(row: dict, table: pd.DataFrame, claim_type: str, alpha: float) -> str:
    """The test's result in plain words, with the numbers it rests on."""
    subject = row["procedure"].replace("_", " ") or "any procedure"
    parts = [
        f"{g}: {int(k)} of {int(n)} articles ({_pct(s)}, 95 % CI {_pct(lo)}–{_pct(hi)})"
        for g, k, n, s, lo, hi in zip(
            table["group"],
            table[f"{claim_type}_articles"],
            table["articles"],
            table[f"{claim_type}_share"],
            table[f"{claim_type}_low"],
            table[f"{claim_type}_high"],
            strict=True,
        )
    ]
    text = f"Articles making {claim_type} claims about {subject}: " + "; ".join(parts) + ". "
    if row["test"] == "none":
        text += "Every group is the same (all or none of the articles): nothing to test."
    else:
        effect = (
            f"a difference of {row['effect']:+.0f} percentage points"
            if row["test"].startswith("Fisher")
            else f"Cramér's V {row['effect']:.2f}"
        )
        verdict = (
            "a difference this large would be unlikely by chance alone"
            if row["p_value"] < alpha
            else "the difference could well be chance"
        )
        text += f"{row['test']}: p = {row['p_value']:.3g}, {effect}; {verdict}."
    if row["small"]:
        text += (
            f" At least one group has fewer than {config.MIN_GROUP_ARTICLES} articles: "
            "read with care."
        )
    return text


# The columns of quantified_shares per role of an effect claim.
QUANTIFIED_PREFIX = {"benefit": "benefit", "harm": "risk"}


def quantified_shares(claims: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group of ``by``: benefit and risk claims (the codebook's benefit
    and harm roles), how many state a number (``quantified``), and that
    share (claims as :mod:`analysis.counts` counts them)."""
    columns = [*by] + [
        f"{t}_{s}" for t in QUANTIFIED_PREFIX.values() for s in ("claims", "quantified", "share")
    ]
    claims = with_roles(claims)
    effect = claims[claims["role"].isin(list(QUANTIFIED_PREFIX))]
    if effect.empty:
        return pd.DataFrame(columns=columns)
    keyed = effect.assign(_claim=claim_key(effect))
    rows = []
    for key, group in keyed.groupby(by, sort=True) if by else [((), keyed)]:
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key, strict=True))
        for role, t in QUANTIFIED_PREFIX.items():
            mine = group[group["role"] == role]
            n = mine["_claim"].nunique()
            q = mine.loc[mine["quantified"].astype(bool), "_claim"].nunique()
            row |= {
                f"{t}_claims": n,
                f"{t}_quantified": q,
                f"{t}_share": q / n if n else float("nan"),
            }
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def over_time(
    claims: pd.DataFrame, documents: pd.DataFrame, column: str = "date", freq: str = "year"
) -> pd.DataFrame:
    """Per year (or month) of ``column``: the dated articles and their claims
    per article of each type. Articles with no date are left out."""
    if column not in documents.columns:
        raise GroupingError(f"the documents have no date column {column!r}")
    from analysis.metadata import is_iso_date

    width = {"year": 4, "month": 7}[freq]
    dates = documents[column].fillna("").astype(str)
    usable = dates.map(is_iso_date) & (dates.str.len() >= width)  # a date kept as written is not
    dated = documents.assign(period=dates.str[:width])[usable]
    period = dated.set_index("doc")["period"]
    mine = claims[claims["doc"].isin(period.index)]
    keyed = mine.assign(period=mine["doc"].map(period), _claim=claim_key(mine))
    rows = []
    types = claim_types(claims)
    for name, docs in dated.groupby("period", sort=True)["doc"]:
        row = {"period": name, "articles": len(docs)}
        here = keyed[keyed["period"] == name]
        for t in types:
            row[f"{t}_per_article"] = here.loc[here["type"] == t, "_claim"].nunique() / len(docs)
        rows.append(row)
    return pd.DataFrame(rows, columns=["period", "articles"] + [f"{t}_per_article" for t in types])


# ------------------------------------------------------- per category


CATEGORY_COLUMNS = [
    "group",
    "type",
    "category",
    "articles",
    "making",
    "share",
    "low",
    "high",
    "claims",
    "words",
    "per_1000_words",
    "test",
    "effect_name",
    "effect",
    "effect_low",
    "effect_high",
    "odds_ratio",
    "p_value",
    "p_adjusted",
    "small",
]


def category_shares(claims: pd.DataFrame, documents: pd.DataFrame, by: str) -> pd.DataFrame:
    """One row per claim category and group (``CATEGORY_COLUMNS``): the
    group's articles, those making a claim of the category (``making``),
    their share with its 95 % Wilson interval, the category's claims and
    claims per 1,000 words of the group's articles; and the category's test
    across the groups (documents with no group value are left out of it):
    Fisher's exact test for two groups, with the difference in percentage
    points (first group minus second) and its 95 % Newcombe interval
    (statsmodels) and the odds ratio; a chi-square test and Cramér's V for
    more; p-values adjusted over every category (Benjamini-Hochberg)."""
    from scipy.stats import chi2_contingency, false_discovery_control, fisher_exact
    from statsmodels.stats.proportion import confint_proportions_2indep

    group = groups_of(documents, by)
    words = documents.set_index("doc")["words"] if "words" in documents else None
    claims = claims[claims["doc"].isin(group.index)]
    keyed = claims.assign(_claim=claim_key(claims), _group=claims["doc"].map(group))
    names = sorted(group.unique(), key=lambda g: (g == NOT_GIVEN, g))
    docs_of = {g: set(group.index[group == g]) for g in names}
    words_of = {
        g: int(words.reindex(list(docs_of[g])).fillna(0).sum()) if words is not None else 0
        for g in names
    }
    rows = []
    pairs = keyed[["type", "category"]].drop_duplicates().sort_values(["type", "category"])
    for t, c in pairs.itertuples(index=False):
        mine = keyed[(keyed["type"] == t) & (keyed["category"] == c)]
        block = []
        for g in names:
            here = mine[mine["_group"] == g]
            n, k = len(docs_of[g]), here["doc"].nunique()
            low, high = wilson(k, n)
            n_claims = here["_claim"].nunique()
            block.append(
                {
                    "group": g,
                    "type": t,
                    "category": c,
                    "articles": n,
                    "making": k,
                    "share": k / n if n else float("nan"),
                    "low": low,
                    "high": high,
                    "claims": n_claims,
                    "words": words_of[g],
                    "per_1000_words": 1000 * n_claims / words_of[g]
                    if words_of[g]
                    else float("nan"),
                    "small": n < config.MIN_GROUP_ARTICLES,
                }
            )
        tested = [r for r in block if r["group"] != NOT_GIVEN and r["articles"]]
        test = {
            "test": "none",
            "effect_name": "",
            "effect": float("nan"),
            "effect_low": float("nan"),
            "effect_high": float("nan"),
            "odds_ratio": float("nan"),
            "p_value": float("nan"),
        }
        made = sum(r["making"] for r in tested)
        if len(tested) >= 2 and 0 < made < sum(r["articles"] for r in tested):
            counts = [[r["making"], r["articles"] - r["making"]] for r in tested]
            if len(tested) == 2:
                a, b = tested
                odds, p = fisher_exact(counts)
                low, high = confint_proportions_2indep(
                    a["making"], a["articles"], b["making"], b["articles"], method="newcomb"
                )
                test |= {
                    "test": "Fisher's exact test",
                    "effect_name": f"difference in percentage points ({a['group']} − {b['group']})",
                    "effect": 100 * (a["share"] - b["share"]),
                    "effect_low": 100 * float(low),
                    "effect_high": 100 * float(high),
                    "odds_ratio": float(odds),
                    "p_value": float(p),
                }
            else:
                result = chi2_contingency(counts)
                n_all = sum(sum(x) for x in counts)
                test |= {
                    "test": "chi-square test",
                    "effect_name": "Cramér's V",
                    "effect": math.sqrt(result.statistic / n_all),
                    "p_value": float(result.pvalue),
                }
        rows.extend(r | test for r in block)
    out = pd.DataFrame(rows, columns=CATEGORY_COLUMNS)
    out["p_adjusted"] = float("nan")
    firsts = out.drop_duplicates(["type", "category"])
    firsts = firsts[firsts["p_value"].notna()]
    if len(firsts):
        adjusted = pd.Series(
            false_discovery_control(firsts["p_value"].to_numpy()),
            index=pd.MultiIndex.from_frame(firsts[["type", "category"]]),
        )
        key = pd.MultiIndex.from_frame(out[["type", "category"]])
        out["p_adjusted"] = adjusted.reindex(key).to_numpy()
    return out


def largest_differences(categories: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    """The categories whose shares differ most between two groups (one row
    each: the category's first group row, which carries the test)."""
    tested = categories[categories["test"] == "Fisher's exact test"]
    firsts = tested.drop_duplicates(["type", "category"])
    return firsts.reindex(firsts["effect"].abs().sort_values(ascending=False).index).head(n)
