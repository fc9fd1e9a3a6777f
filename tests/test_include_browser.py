"""The Jekyll include in a real browser: rendered by Jekyll itself (Debian's `jekyll`) from a
real build's data file, then played by headless Chromium (see test_report_browser for the
browser fixture). Without Jekyll or Chromium the tests are skipped, except under CI=true.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading

import pytest
import yaml

from conftest import write_frames
from test_report_browser import _QuietHandler, _QuietServer, browser  # noqa: F401 (fixture)

SIZE = (64, 48)
ODD = "Arm Biceps#2"  # a space and a '#': both must reach the server percent-encoded
NOT_BUILT = "muscles/gif/Not built #3.gif"  # named by a page, but not in the data file


def page_with(name: str, frames: list[str]) -> str:
    entries = "".join(f"  - image_url: '{url}'\n    caption: 'x'\n" for url in frames)
    return (f"---\nlayout: page\ntitle: 'The {name} muscle'\nimages:\n"
            f"  - image_id: 'x'\n    image_name: 'muscles/gif/{name}.gif'\n"
            f"    image_title: '{name}'\n    image_alt: 'The {name} turning'\ngallery:\n{entries}---\nText\n")


def jekyll_missing(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must render the include with Jekyll: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A site built by the pipeline (one opaque animation, one transparent with an odd name)
    and a Jekyll page showing both through the include, and a third that the build never saw;
    rendered by `jekyll build` and on a local server: yields the page's URL."""
    jekyll = shutil.which("jekyll")
    if jekyll is None:
        jekyll_missing("Jekyll renders the include: apt-get install jekyll (scripts/setup --test does)")
    root = tmp_path_factory.mktemp("include")
    site, source, www = root / "site", root / "jekyll", root / "www"
    (site / "pages").mkdir(parents=True)
    for name, alpha in (("Leg-Soleus", False), (ODD, True)):
        frames = write_frames(site / "images", name, 6, SIZE, alpha=alpha)
        (site / "pages" / f"{name}.md").write_text(page_with(name, frames))
    (site / "pipeline.toml").write_text('[paths]\npages = "pages"\nimages = "images"\nbuild = "build"\n')
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "--config", str(site / "pipeline.toml")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    # the Jekyll site: the build's _data and _includes copied in as the README says, its
    # images under the site's urlimg, and a page of the real shape naming all three animations
    build = site / "build"
    for folder in ("_data", "_includes"):
        shutil.copytree(build / folder, source / folder)
    shutil.copytree(build / "images", source / "img")
    (source / "img" / NOT_BUILT).write_bytes((build / "images" / "muscles/gif/Leg-Soleus.gif").read_bytes())
    (source / "_config.yml").write_text("urlimg: img/\n")
    images = [yaml.safe_load(path.read_text().split("---")[1])["images"][0]
              for path in sorted((site / "pages").glob("*.md"))]
    images.append({"image_name": NOT_BUILT, "image_alt": "a hand-made GIF"})
    front_matter = yaml.safe_dump({"layout": None, "title": "Three animations", "images": images})
    (source / "index.html").write_text(
        f"---\n{front_matter}---\n"
        '<!doctype html><html><head><meta charset="utf-8"><title>t</title><link rel="icon" href="data:,">'
        "</head><body>\n{% include atlas-animation.html %}\n"
        "{% assign second = page.images[1] %}{% include atlas-animation.html image=second %}\n"
        "{% assign third = page.images[2] %}{% include atlas-animation.html image=third %}\n"
        "</body></html>\n")
    rendered = subprocess.run([jekyll, "build", "--source", str(source), "--destination", str(www)],
                              capture_output=True, text=True, timeout=300)
    said = rendered.stdout + rendered.stderr
    assert rendered.returncode == 0, said
    assert "Liquid" not in said and "Error" not in said, said  # Jekyll warns of template errors and goes on

    server = _QuietServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(www)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/index.html"
    server.shutdown()
    server.server_close()


def open_page(browser, url: str, reduced_motion: str):  # noqa: F811 (the fixture)
    page = browser.new_page(reduced_motion=reduced_motion)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.text} ({m.location.get('url')})") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    # Chromium cancels media range requests it no longer needs: those are not failures
    page.on("requestfailed", lambda r: problems.append(f"{r.url}: {r.failure}")
            if "ERR_ABORTED" not in (r.failure or "") else None)
    page.goto(url)
    return page, problems


FIGURES = """() => Array.from(document.querySelectorAll('figure.atlas-animation')).map(f => {
    const video = f.querySelector('video'), still = f.querySelector('.atlas-animation-still');
    return {src: video.currentSrc, ready: video.readyState, time: video.currentTime, paused: video.paused,
            width: video.videoWidth, shown: getComputedStyle(video).display !== 'none',
            still: still && {loaded: still.complete && still.naturalWidth, shown: getComputedStyle(still).display !== 'none'}};
})"""
POSTERS = """async () => Promise.all(Array.from(document.querySelectorAll('video')).map(v => new Promise(done => {
    const image = new Image(); image.onload = () => done(image.naturalWidth); image.onerror = () => done(0);
    image.src = v.poster;
})))"""


def test_the_include_plays_every_built_animation_and_shows_the_others(browser, served):  # noqa: F811
    page, problems = open_page(browser, served, "no-preference")
    page.wait_for_function("() => Array.from(document.querySelectorAll('video')).every(v => v.currentTime > 0)",
                           timeout=20000)
    figures = page.evaluate(FIGURES)
    assert len(figures) == 2
    for figure in figures:
        # AV1 in WebM, which Chromium plays: the first source is taken, and it runs
        assert figure["src"].endswith(".webm") and figure["ready"] >= 2 and not figure["paused"]
        assert figure["width"] == SIZE[0] and figure["shown"] and not figure["still"]["shown"]
    assert any("Arm%20Biceps%232.webm" in figure["src"] for figure in figures)
    assert page.evaluate(POSTERS) == [SIZE[0], SIZE[0]]  # both posters load, odd name included
    fallback = page.locator("body > img")  # the animation with no data: the image the page names
    page.wait_for_function("() => document.querySelector('body > img').complete")
    assert fallback.get_attribute("src") == "img/muscles/gif/Not%20built%20%233.gif"
    assert fallback.evaluate("img => img.naturalWidth") == SIZE[0]
    assert problems == []
    page.close()


def test_with_reduced_motion_the_include_shows_the_first_frame_and_stops(browser, served):  # noqa: F811
    page, problems = open_page(browser, served, "reduce")
    page.wait_for_function("() => Array.from(document.querySelectorAll('.atlas-animation-still'))"
                           ".every(s => s.complete && s.naturalWidth > 0)", timeout=20000)
    for figure in page.evaluate(FIGURES):
        assert figure["paused"] and not figure["shown"]
        assert figure["still"] == {"loaded": SIZE[0], "shown": True}
    assert problems == []
    page.close()


def test_a_page_that_names_no_animation_gets_nothing_from_the_include(tmp_path):
    """No `images` entry: no `<img>` of the image root's folder, which the browser shows broken."""
    from pipeline.jekyll import INCLUDE

    jekyll = shutil.which("jekyll")
    if jekyll is None:
        jekyll_missing("Jekyll renders the include: apt-get install jekyll (scripts/setup --test does)")
    source = tmp_path / "jekyll"
    (source / "_includes").mkdir(parents=True)
    (source / "_data").mkdir()
    (source / "_includes" / "atlas-animation.html").write_text(INCLUDE)
    (source / "_data" / "assets.json").write_text('{"animations": {}, "files": {}}\n')
    (source / "_config.yml").write_text("urlimg: /assets/images/\n")
    (source / "index.html").write_text("---\ntitle: Muscles of the leg\n---\n[{% include atlas-animation.html %}]\n")
    rendered = subprocess.run([jekyll, "build", "--source", str(source), "--destination", str(tmp_path / "www")],
                              capture_output=True, text=True, timeout=300)
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    assert (tmp_path / "www" / "index.html").read_text().strip() == "[]"
