"""The report in a real browser: headless Chromium (Debian's package) driven by Playwright.

Every image and video must load, the filter must hide and show rows, no console error may
appear, and a caption carrying markup must stay text. A screenshot is written to
`build/report-screenshot.png` (git-ignored) for people to look at. Without Chromium the test
is skipped, except under CI=true, where it must run.
"""
from __future__ import annotations

import functools
import os
import shutil
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import page_text, write_frames
from pipeline import reportpage
from test_report import INJECTED, build_outputs, problem, write_verify_json

REPO = Path(__file__).resolve().parent.parent
SCREENSHOT = REPO / "build" / "report-screenshot.png"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        reason = f"Playwright is not installed ({exc}); pip install -e .[test]"
        browser_missing(reason)
    executable = chromium_path()
    if executable is None:
        browser_missing("no Chromium found at /usr/bin/chromium or on PATH (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def browser_missing(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser test: {reason}")
    pytest.skip(reason)


@pytest.fixture
def built_site(site_folder):
    """Three pages: two fully built (one with a hostile caption and problems), one not built;
    every format, AVIF too."""
    site_folder.write_settings('[animation]\nformats = ["gif", "webp", "webm", "mp4", "avif"]\n')
    site_folder.add_animation("Leg-Soleus", 8, (96, 72))
    site_folder.add_animation("Arm-Biceps", 8, (72, 96), alpha=True)
    frames = write_frames(site_folder.images, "Evil", 4, (64, 48))
    text = page_text("Evil page", ["muscles/gif/Evil.gif"], frames)
    (site_folder.pages / "evil.md").write_text(text.replace("caption: 'Evil page 2'", f"caption: '{INJECTED}'"))
    build_outputs(site_folder, skip=("Evil.webm", "Evil.mp4"))
    write_verify_json(site_folder, [
        problem("evil.md", 20, "unlisted-frame", "warning", INJECTED),
        problem("muscles/muscle_arm-biceps.md", 12, "missing", "error", "gallery frame is gone"),
    ])
    return site_folder


@pytest.fixture
def served(built_site):
    """The build folder on a local static server: yields the report's URL."""
    handler = functools.partial(_QuietHandler, directory=str(built_site.build))
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    reportpage.write_report(built_site.site())
    yield f"http://127.0.0.1:{server.server_port}/report/index.html"
    server.shutdown()
    server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)
        # else Chromium dropped a video range request it no longer needed: not a failure


def open_report(browser, url: str):
    """A page at `url` with its console errors and page errors collected."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{m.text} ({m.location.get('url')})") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    return page, errors


def load_everything(page) -> dict:
    """Scroll every image into view (they are lazy), load every video; report what loaded."""
    page.evaluate("""async () => {
        for (const el of document.querySelectorAll('img, video')) {
            el.scrollIntoView();
            await new Promise(r => setTimeout(r, 5));
        }
        window.scrollTo(0, 0);
    }""")
    page.evaluate("""async () => {  // a function, not a string: the page's CSP forbids eval
        const until = Date.now() + 10000;
        while (![...document.images].every(i => i.complete) && Date.now() < until) {
            await new Promise(r => setTimeout(r, 20));
        }
    }""")
    page.evaluate("""() => Promise.all([...document.querySelectorAll('video')].map(v =>
        new Promise(resolve => {
            if (v.readyState >= 2) return resolve();
            v.addEventListener('loadeddata', resolve, {once: true});
            v.addEventListener('error', resolve, {once: true});
            v.preload = 'auto';
            v.load();
        })))""")
    return page.evaluate("""() => ({
        images: [...document.images].map(i => [i.getAttribute('src'), i.naturalWidth]),
        videos: [...document.querySelectorAll('video')].map(v =>
            [v.querySelector('source').getAttribute('src'), v.readyState, v.videoWidth, v.poster]),
    })""")


def visible_rows(page) -> list[str]:
    return page.eval_on_selector_all(
        "section.row[data-status]", "rows => rows.filter(r => !r.hidden).map(r => r.querySelector('code.src').textContent)")


def test_report_in_chromium_over_http(browser, served, built_site):
    page, errors = open_report(browser, served)
    loaded = load_everything(page)
    assert len(loaded["images"]) >= 20 and len(loaded["videos"]) == 4
    assert len([src for src, _ in loaded["images"] if src.endswith(".avif")]) == 3
    assert [src for src, width in loaded["images"] if width == 0] == []
    assert [src for src, state, width, _ in loaded["videos"] if state < 2 or width == 0] == []
    assert all(poster.endswith("-1-thumb.png") for *_, poster in loaded["videos"])  # set once seen

    # the hostile caption and problem message are text, and nothing of theirs ran
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert INJECTED in page.inner_text("body")

    statuses = page.eval_on_selector_all("section.row[data-status]", "rs => rs.map(r => r.dataset.status)")
    assert sorted(statuses) == ["error", "not built", "ok"]

    # the filter: by name, by status, and back
    assert len(visible_rows(page)) == 3
    page.fill("#filter", "soleus")
    assert visible_rows(page) == ["muscles/muscle_leg-soleus.md"]
    page.fill("#filter", "")
    page.select_option("#status", "not built")
    assert visible_rows(page) == ["evil.md"]
    assert page.inner_text("#shown") == "1 of 3 pages shown"
    page.select_option("#status", "")
    assert len(visible_rows(page)) == 3

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert errors == []
    page.close()


def test_report_in_chromium_from_disk(browser, served, built_site):
    page, errors = open_report(browser, (built_site.build / "report" / "index.html").as_uri())
    loaded = load_everything(page)
    assert [src for src, width in loaded["images"] if width == 0] == []
    assert [src for src, state, *_ in loaded["videos"] if state < 2] == []
    page.fill("#filter", "biceps")
    assert visible_rows(page) == ["muscles/muscle_arm-biceps.md"]
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert errors == []
    page.close()


def test_page_text_is_isolated_and_found_however_its_accents_are_written(browser, site_folder):
    """A right-to-left override a title never closes must not turn the report's own words
    around, and typing "péroné" finds a title whose accents are written decomposed (NFD)."""
    site_folder.add_animation("Leg-Soleus", 4, (48, 36))
    frames = write_frames(site_folder.images, "Leg-Fibularis", 4, (48, 36))
    title = "Pe\u0301rone\u0301 \u202eoverride"
    (site_folder.pages / "fibularis.md").write_text(page_text(title, ["muscles/gif/Leg-Fibularis.gif"], frames))
    build_outputs(site_folder)
    reportpage.write_report(site_folder.site())
    page, errors = open_report(browser, (site_folder.build / "report" / "index.html").as_uri())
    page.fill("#filter", "p\u00e9ron\u00e9")
    assert visible_rows(page) == ["fibularis.md"]
    # the facts after the title: "line" reads left to right, its "l" left of its "e"
    order = page.evaluate("""() => {
        const span = [...document.querySelectorAll('.anim h3 .muted')].find(s => s.textContent.includes('override'));
        const walker = document.createTreeWalker(span, NodeFilter.SHOW_TEXT);
        let node;
        while ((node = walker.nextNode()) && !node.data.includes(' line ')) {}
        const at = node.data.indexOf(' line ') + 1, range = document.createRange();
        const left = i => { range.setStart(node, i); range.setEnd(node, i + 1); return range.getBoundingClientRect().left; };
        return [left(at), left(at + 3)];
    }""")
    assert order[0] < order[1], order
    assert errors == []
    page.close()


def test_chromium_plays_the_default_webm_by_its_declared_codecs(browser, tmp_path):
    """The pipeline's own WebM (AV1) and MP4, declared as the Jekyll include declares them:
    Chromium must accept the codecs strings and choose and play the WebM."""
    from conftest import turntable_frames
    from pipeline import jekyll
    from pipeline.mediainfo import media_info
    from pipeline.settings import Mp4Settings, WebmSettings
    from pipeline.timing import Timing
    from pipeline.video import write_mp4, write_webm

    frames, timing = turntable_frames(8, (96, 64)), Timing(tuple(range(8)), 8.0, 0)
    write_webm(frames, tmp_path / "x.webm", WebmSettings(), timing, (255, 255, 255))
    write_mp4(frames, tmp_path / "x.mp4", Mp4Settings(), timing, (255, 255, 255))
    types = {}
    for suffix in ("webm", "mp4"):
        info = media_info(tmp_path / f"x.{suffix}")
        types[suffix] = jekyll._source_type({"mime": info.mime, "codecs": info.codecs})
    assert types["webm"].startswith("video/webm; codecs=av01.0.")
    (tmp_path / "page.html").write_text(
        '<video muted playsinline preload="auto">'
        f'<source src="x.webm" type="{types["webm"]}"><source src="x.mp4" type="{types["mp4"]}"></video>')
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = _QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_port}/page.html")
        verdicts = page.evaluate("types => types.map(t => document.createElement('video').canPlayType(t))",
                                 list(types.values()))
        assert verdicts == ["probably", "probably"], types
        page.wait_for_function("document.querySelector('video').readyState >= 2", timeout=10_000)
        played = page.evaluate("(() => { const v = document.querySelector('video'); "
                               "return [v.currentSrc, v.videoWidth, v.videoHeight]; })()")
        assert played[0].endswith("/x.webm") and played[1:] == [96, 64]
        page.close()
    finally:
        server.shutdown()
        server.server_close()
