"""The reports in a real browser: Playwright drives Debian's Chromium
(installed by `make test` as root; nothing downloads a browser), offline,
from file:// URLs. Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from pathlib import Path

import pytest

from analysis.execute import export_html
from analysis.report import work_dir
from tests.conftest import REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "test-output" / "screenshots"
LOCAL = ("file:", "data:", "blob:", "about:")

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian's chromium is not installed (make test installs it when run as root)",
)

FIGURES_JS = """
() => [...document.querySelectorAll('.plotly-graph-div')].map(gd => ({
    id: gd.id,
    traces: (gd.data || []).length,
    visible: (gd._fullData || []).filter(t => t.visible === true).length,
    drawn: gd.querySelectorAll('g.trace.bars, g.hm, g.table, g.trace.scatter').length,
    svg: gd.querySelectorAll('svg.main-svg').length,
}))
"""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def open_page(browser, path: Path):
    """Open a file offline; return (page, context, outside requests, errors)."""
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    outside, errors = [], []
    page.on("request", lambda r: None if r.url.startswith(LOCAL) else outside.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri(), wait_until="load")
    return page, context, outside, errors


@contextlib.contextmanager
def tab(browser):
    """One offline tab that visits page after page: ``visit(path)`` gives
    (page, outside requests, errors) of that visit alone. A page opened where
    the last one was is parsed with the renderer's caches warm (0.6 s a
    page of a report against 1.7 s in a fresh context); navigating away
    leaves nothing of the last page's script or document behind."""
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    outside: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(LOCAL) else outside.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))

    def visit(path: Path):
        outside.clear()
        errors.clear()
        page.goto(path.as_uri(), wait_until="load")
        return page, outside, errors

    try:
        yield visit
    finally:
        context.close()


def visit_each(browser, paths: list[Path]):
    """(path, page, outside requests, errors) of each page in turn, opened
    in two tabs of contexts of their own (so renderer processes of their
    own): while one page is checked, the next loads in the other tab, on the
    other core (the dev report's 69 pages in 34 s where one tab took 42-47 s).
    A tab's requests and errors are those of its page alone: they are
    cleared as it opens the next, once its last page has been checked."""
    with contextlib.ExitStack() as stack:
        tabs = []
        for _ in range(min(2, len(paths))):
            context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
            stack.callback(context.close)
            page = context.new_page()
            outside: list[str] = []
            errors: list[str] = []
            page.on(
                "request",
                lambda r, o=outside: None if r.url.startswith(LOCAL) else o.append(r.url),
            )
            page.on("pageerror", lambda e, x=errors: x.append(str(e)))
            tabs.append((page, outside, errors))

        def start(i: int) -> None:
            page, outside, errors = tabs[i % len(tabs)]
            outside.clear()
            errors.clear()
            page.goto(paths[i].as_uri(), wait_until="commit")

        if paths:
            start(0)
        for i, path in enumerate(paths):
            if i + 1 < len(paths):
                start(i + 1)
            page, outside, errors = tabs[i % len(tabs)]
            page.wait_for_load_state("load")
            yield path, page, outside, errors


def check_report(
    browser, path: Path, expected_figures: int, visit=None, wait_ms: int = 10_000
) -> list[dict]:
    """Assert a report renders offline: every chart drawn, no errors, no
    request leaving the file, no code; screenshot it. Returns the charts.
    ``visit`` opens it in a :func:`tab` (a context of its own otherwise);
    the charts are waited for up to ``wait_ms``."""
    if visit is None:
        with tab(browser) as visit:
            return check_report(browser, path, expected_figures, visit, wait_ms)
    page, outside, errors = visit(path)
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):  # the count below says what is missing
        page.wait_for_function(
            "n => document.querySelectorAll('.plotly-graph-div svg.main-svg').length >= n",
            arg=expected_figures,
            timeout=wait_ms,
        )
    figures = page.evaluate(FIGURES_JS)
    assert len(figures) == expected_figures, f"{path.name}: {len(figures)} charts drawn"
    for f in figures:
        assert f["svg"] > 0 and f["traces"] > 0, f
        assert f["drawn"] == f["visible"], f"{path.name}: chart {f}"
    assert not errors, errors
    assert not outside, f"{path.name} requested {outside}"
    assert page.locator(".jp-InputPrompt, .jp-InputArea .highlight").count() == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{path.stem}.png"), full_page=True)
    return figures


def test_every_report_renders_offline(browser, report_run):
    with tab(browser) as visit:
        for job in report_run.jobs.itertuples():
            expected = 6 if job.name == "overview" else 3
            figures = check_report(browser, report_run.out / job.html, expected, visit)
            if job.name == "overview":
                # heatmaps: 3 types x 3 measures; estimates, bars, balance, mix: 3 types; table
                assert [f["traces"] for f in figures] == [9, 3, 3, 3, 3, 1]


def test_evidence_table_filters(browser, report_run):
    page, context, outside, errors = open_page(browser, report_run.out / "overview.html")
    try:
        container = page.locator("table.evidence").locator(
            "xpath=ancestor::div[contains(@class,'dt-container')]"
        )
        search = container.locator("input[type=search]").first
        search.wait_for(timeout=20_000)
        info = container.locator(".dt-info").first
        before = info.inner_text()
        search.fill("infection")
        page.wait_for_function(
            """b => document.querySelector('table.evidence').closest('.dt-container')
                .querySelector('.dt-info').innerText !== b""",
            arg=before,
            timeout=5_000,
        )
        after = info.inner_text()
        rows = page.locator("table.evidence tbody tr")
        assert 0 < rows.count() <= 10
        assert all("infection" in rows.nth(i).inner_text().lower() for i in range(rows.count()))
        assert "filtered" in after, (before, after)
        assert not errors and not outside
    finally:
        context.close()


def test_index_links_every_report(browser, report_run):
    page, context, outside, errors = open_page(browser, report_run.out / "index.html")
    try:
        links = page.eval_on_selector_all("#reports a", "as => as.map(a => a.getAttribute('href'))")
        assert sorted(links) == sorted(report_run.jobs["html"])
        assert not errors and not outside
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "index.png"), full_page=True)
    finally:
        context.close()


def test_negative_control_bare_mimetype_renderer_fails(browser, report_run, tmp_path):
    """Exported with only the plotly mimetype (plotly's papermill default),
    the charts vanish; the check above must catch it."""
    nb = json.loads((work_dir(report_run.out) / "notebooks" / "overview.ipynb").read_text())
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "application/vnd.plotly.v1+json" in data:
                data.pop("text/html", None)
    bare = tmp_path / "bare.ipynb"
    bare.write_text(json.dumps(nb))
    export_html(bare, tmp_path / "bare.html")
    with pytest.raises(AssertionError, match="bare.html: 0 charts drawn"):  # none to wait for
        check_report(browser, tmp_path / "bare.html", 6, wait_ms=1_000)


CHARTS = {"overview": 6, "compare_kind": 1}


def test_no_corpus_payload_runs_in_the_browser(browser, malicious_run):
    """Every report of the malicious corpus (payloads in its text, file names,
    metadata, front matter and codebook labels, a comparison by a hostile
    metadata column) opens with window.__pwned unset, and the payloads show,
    as text, in the evidence table. None of its articles was a training
    article: every page names its error source and none warns of fit."""
    assert "compare_kind" in set(malicious_run.jobs["name"])
    with tab(browser) as visit:
        for job in malicious_run.jobs.itertuples():
            check_report(browser, malicious_run.out / job.html, CHARTS.get(job.name, 3), visit)
    for name in ["index.html", *malicious_run.jobs["html"]]:
        page, context, outside, errors = open_page(browser, malicious_run.out / name)
        try:
            page.wait_for_timeout(500)
            assert page.evaluate("() => window.__pwned") is None, name
            assert not errors and not outside, (name, errors, outside)
            text = page.inner_text("body")
            # articles the coder never saw: the error source, no in-sample warning
            assert "In-sample warning" not in text, name
            if name != "index.html":
                assert "How far to trust these counts" in text, name
            if name == "overview.html":
                table = page.locator("table.evidence tbody").first
                table.wait_for(timeout=20_000)
                shown = table.inner_text()
                assert 'onerror="window.__pwned=1">' in shown, shown
                assert "<img src=x onerror=window.__pwned=1>.txt" in shown
        finally:
            context.close()


def test_validation_report_renders_offline(browser, report_run, tmp_path):
    from analysis.tables import read_table
    from analysis.validation.agreement import to_coding
    from analysis.validation.report import build_validation_report

    claims = read_table(report_run.out / "data" / "claims.parquet")
    gold, pred = to_coding(claims), to_coding(claims.iloc[20:])
    html, error = build_validation_report(gold, pred, None, tmp_path)
    assert not error, error
    check_report(browser, html, 2)


def test_a_hostile_gold_file_runs_nothing_on_the_validation_page(browser, report_run, tmp_path):
    """A gold file's type and category are outside text too."""
    from analysis.tables import read_table
    from analysis.validation.agreement import to_coding
    from analysis.validation.report import build_validation_report
    from tests.conftest import PAYLOAD

    claims = read_table(report_run.out / "data" / "claims.parquet")
    gold = to_coding(claims)
    gold.loc[gold.index[:3], "type"] = f"<img src=x onerror={PAYLOAD}>"
    gold.loc[gold.index[3:6], "category"] = f"```\n<script>{PAYLOAD}</script>"
    html, error = build_validation_report(gold, to_coding(claims), None, tmp_path)
    assert not error, error
    page, context, outside, errors = open_page(browser, html)
    try:
        page.wait_for_timeout(500)
        assert page.evaluate("() => window.__pwned") is None
        assert "<img src=x onerror" in page.inner_text("body")  # shown as text
    finally:
        context.close()


def _evidence_ready(page) -> None:
    page.locator("table.evidence").locator(
        "xpath=ancestor::div[contains(@class,'dt-container')]"
    ).locator("input[type=search]").first.wait_for(timeout=20_000)


def _evidence_rows(page) -> list[list[str]]:
    return page.evaluate(
        """() => [...document.querySelectorAll('table.evidence tbody tr')].map(
            tr => [...tr.querySelectorAll('td')].map(td => td.innerText.trim()))"""
    )


def test_a_chart_click_filters_the_evidence_to_its_claims(browser, report_run):
    page, context, outside, errors = open_page(browser, report_run.out / "overview.html")
    try:
        _evidence_ready(page)
        page.wait_for_function(
            "() => document.querySelector('.js-plotly-plot[data-click-through]')"
        )
        # a real click on the longest risk bar of the category chart
        bars = page.locator(".js-plotly-plot").nth(2)  # heatmaps, estimates, then the bars
        bar = bars.locator("g.trace.bars").nth(1).locator("path").last
        bar.scroll_into_view_if_needed()
        bar.click(force=True)
        page.wait_for_function("() => !document.getElementById('claimscope-filter').hidden")
        said = page.locator("#claimscope-filter span").inner_text()
        assert said.startswith("type: risk, category: ")
        category = said.split("category: ")[1]
        rows = _evidence_rows(page)
        assert rows and all(r[2] == "risk" and r[3] == category for r in rows)
        # the table shows as many claims as the bar counts
        import re

        from analysis.counts import count_claims
        from analysis.tables import read_table

        claims = read_table(report_run.out / "data" / "claims.parquet")
        counted = count_claims(claims, ["type", "category"]).set_index(["type", "category"])
        shown = (
            page.locator("table.evidence")
            .locator("xpath=ancestor::div[contains(@class,'dt-container')]")
            .locator(".dt-info")
            .first.inner_text()
        )
        total = int(re.search(r"of ([\d,]+) entries", shown).group(1).replace(",", ""))
        assert total == counted.loc[("risk", category), "claims"], shown
        page.locator("#claimscope-filter button").click()
        page.wait_for_function("() => document.getElementById('claimscope-filter').hidden")
        assert not errors and not outside
    finally:
        context.close()


def test_print_shows_every_evidence_row(browser, report_run):
    page, context, outside, errors = open_page(browser, report_run.out / "overview.html")
    try:
        _evidence_ready(page)
        on_screen = len(_evidence_rows(page))
        page.emulate_media(media="print")
        page.wait_for_function(
            "n => document.querySelectorAll('table.evidence tbody tr').length > n", arg=on_screen
        )
        claims = int(report_run.jobs.set_index("name").loc["overview", "claims"])
        assert len(_evidence_rows(page)) == min(claims, 2000)
        page.emulate_media(media="screen")
        page.wait_for_function(
            "n => document.querySelectorAll('table.evidence tbody tr').length === n", arg=on_screen
        )
        assert not errors
    finally:
        context.close()


def folder_megabytes(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def no_risk_sayings(run) -> dict[str, str]:
    """What a page would say of each pair whose articles state general risks
    of the procedure, were it to call the pair free of risk: a page saying
    one of these is wrong."""
    from analysis.counts import general_risk
    from analysis.summary import _pair
    from analysis.tables import read_table

    claims = read_table(run.out / "data" / "claims.parquet")
    return {
        f"No risk claim was detected for {_pair(procedure, condition)},": f"{procedure} x {condition}"
        for (procedure, condition), pair in claims.groupby(["procedure", "condition"])
        if condition and general_risk(claims, procedure, pair["doc"])
    }


def test_two_tabs_tell_each_page_s_errors_and_requests_apart(browser, tmp_path):
    """The pages :func:`visit_each` loads side by side each report their own
    script errors and outside requests, not the other tab's."""
    pages = {
        "a.html": "<p>plain</p>",
        "b.html": "<script>throw new Error('from b')</script>",
        "c.html": "<img src='http://198.51.100.7/pixel.png'>",
        "d.html": "<p>plain</p>",
    }
    for name, body in pages.items():
        (tmp_path / name).write_text(f"<html><body>{body}</body></html>")
    seen = {}
    with contextlib.closing(visit_each(browser, [tmp_path / n for n in pages])) as visits:
        for path, page, outside, errors in visits:
            page.wait_for_timeout(200)
            seen[path.name] = (len(errors), len(outside))
    assert seen == {"a.html": (0, 0), "b.html": (1, 0), "c.html": (0, 1), "d.html": (0, 0)}


@pytest.mark.parametrize("which", ["sample", "dev"])
def test_every_page_of_a_corpus_report_holds_up(browser, request, which):
    """On the bundled corpus and on the 65 dev articles: every page opens
    offline with every chart drawn, its own title, links to the index and
    the overview, codebook labels on the charts, no false "no risk", its
    error source and the in-sample warning (the coder was trained on both
    corpora); the folder stays small enough to mail; a matrix cell filters
    the evidence."""
    run = request.getfixturevalue("report_run" if which == "sample" else "dev_report_run")
    budget = {"sample": 15, "dev": 25}[which]
    assert folder_megabytes(run.out) < budget, f"{folder_megabytes(run.out):.1f} MB"
    assert not len(run.failed), run.failed[["name", "error"]].to_string()
    wrong_if_said = no_risk_sayings(run)
    jobs = list(run.jobs.itertuples())
    pages = contextlib.closing(visit_each(browser, [run.out / job.html for job in jobs]))
    with pages as visits:
        for job, (_, page, outside, errors) in zip(jobs, visits, strict=True):
            page.wait_for_function(
                """() => [...document.querySelectorAll('.plotly-graph-div')].every(
                    gd => gd.querySelector('svg.main-svg'))""",
                timeout=20_000,
            )
            assert page.title() == f"{job.title} · claimscope"
            links = page.eval_on_selector_all("nav a", "as => as.map(a => a.getAttribute('href'))")
            assert {"index.html", "overview.html"} <= set(links)
            ticks = page.evaluate(
                """() => [...document.querySelectorAll('.plotly-graph-div')].flatMap(
                    gd => (gd.data || []).flatMap(t => [].concat(t.x || [], t.y || [])))
                    .filter(v => typeof v === 'string')"""
            )
            assert not [t for t in ticks if "_" in t], job.name  # labels, not ids
            text = page.inner_text("body")
            assert not [p for said, p in wrong_if_said.items() if said in text], job.name
            # every chart in the project's template (white, not plotly's grey) with a
            # caption giving n and the error source
            charts = page.evaluate(
                """() => [...document.querySelectorAll('.plotly-graph-div')].map(gd => ({
                    background: gd._fullLayout.plot_bgcolor || gd._fullLayout.paper_bgcolor,
                    paper: gd._fullLayout.paper_bgcolor,
                    caption: ((gd.layout.annotations || []).find(a => a.name === 'caption')
                              || {}).text || '',
                    title: (gd._fullLayout.title || {}).text || ''}))"""
            )
            white = ("#ffffff", "white", "rgb(255, 255, 255)")
            assert all(c["background"] in white and c["paper"] in white for c in charts), charts
            assert all("n = " in c["caption"] and "coder" in c["caption"] for c in charts), job.name
            if job.name == "overview" and which == "sample":  # small pairs left out, and said
                assert any("with fewer than 3 claims not shown" in c["title"] for c in charts)
            # every page names its error source; both corpora hold training articles
            assert "How far to trust these counts" in text, job.name
            assert "leave-one-site-out cross-validation" in text, job.name
            assert "In-sample warning" in text, job.name
            assert not errors and not outside, (job.name, errors, outside)
    # a number of the category x article matrix filters the evidence to its claims
    page, context, outside, errors = open_page(browser, run.out / "overview.html")
    try:
        _evidence_ready(page)
        # the matrices name articles by their short ids, not scraped titles
        from analysis.schema import document_ids
        from analysis.tables import read_table

        ids = set(document_ids(read_table(run.out / "data" / "documents.parquet")))
        headers = page.evaluate(
            """() => [...document.querySelectorAll('table.matrix thead tr:first-child th')]
                .map(th => th.innerText.trim()).filter(t => t)"""
        )
        articles = [h for h in headers if h not in ("type", "category", "condition")]
        assert articles and set(articles) <= ids, articles[:5]
        cell = page.locator("button.evidence-link").first
        spec = json.loads(cell.get_attribute("data-evidence-filter"))
        expected = int(cell.inner_text())
        cell.click()
        page.wait_for_function("() => !document.getElementById('claimscope-filter').hidden")
        container = page.locator("table.evidence").locator(
            "xpath=ancestor::div[contains(@class,'dt-container')]"
        )
        shown = container.locator(".dt-info").first.inner_text()
        assert re.search(rf"of {expected} entr(y|ies)", shown), (spec, shown)
        rows = _evidence_rows(page)
        assert all(r[0] == spec["document"] and r[3] == spec["category"] for r in rows)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{which}-overview-matrix-filter.png"))
        assert not errors
    finally:
        context.close()


def test_an_evidence_row_opens_its_article_at_the_sentence(browser, report_run):
    """A document cell of the evidence table links to the article's own page,
    which opens with the claim's sentence marked and its paragraph lit."""
    page, context, outside, errors = open_page(browser, report_run.out / "overview.html")
    try:
        _evidence_ready(page)
        link = page.locator("table.evidence tbody a[href^='articles/']").nth(3)
        href = link.get_attribute("href")
        row = link.locator("xpath=ancestor::tr")
        sentence = row.locator("td").nth(1).inner_text().strip()
    finally:
        context.close()
    name, span = href.split("#")
    article = report_run.out / name
    page, context, outside, errors = open_page(browser, article)
    try:
        page.goto(f"{article.as_uri()}#{span}", wait_until="load")
        page.reload(wait_until="load")  # the script reads the address on load
        marked = page.locator("p.here mark")
        marked.wait_for(timeout=5_000)
        assert " ".join(marked.inner_text().split()) == " ".join(sentence.split())
        assert len(page.locator("p.here").inner_text()) >= len(sentence)  # with its paragraph
        assert page.title().endswith("· claimscope")
        assert not errors and not outside, (errors, outside)
    finally:
        context.close()
