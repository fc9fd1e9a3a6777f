"""The report's HTML page: links that resolve, page text that can never become markup, a
policy that lets only the page's own script run, and a size the browser can take."""
from __future__ import annotations

import time
from urllib.parse import unquote

from PIL import Image

from conftest import page_text, write_frames
from pipeline import report, reportpage
from test_report import INJECTED, Tags, build_outputs, html_of, problem, write_verify_json


def test_every_link_of_the_page_resolves_to_a_file(small_site):
    build_outputs(small_site)
    Image.new("RGB", (8, 8)).save(small_site.build / "contact" / "overview-1.png")
    text = html_of(small_site)
    assert 'href="../contact/overview-1.png"' in text
    folder = small_site.build / "report"
    links = [a.get("src") or a.get("href") or a.get("data-poster")
             for tag, a in Tags(text).tags if tag in ("img", "source", "a", "video")]
    links = [link for link in links if link]
    assert len(links) > 40
    for link in links:
        assert (folder / unquote(link)).resolve().is_file(), link


def test_page_text_is_escaped_everywhere(site_folder):
    frames = write_frames(site_folder.images, "Evil", 3)
    text = page_text("Title " + INJECTED.replace("'", ""), ["muscles/gif/Evil.gif"], frames)
    text = text.replace("caption: 'Title", "caption: 'Caption").replace(
        "image_alt: 'Title", "image_alt: 'Alt")
    (site_folder.pages / "evil.md").write_text(text)
    build_outputs(site_folder)
    write_verify_json(site_folder, [problem("evil.md", 3, "missing", "error", INJECTED, reference=INJECTED)])
    html = html_of(site_folder)
    page = Tags(html)
    # the only script is the page's own filter, and no image points at "x"
    assert len(page.all("script")) == 1
    assert all(i["src"] != "x" for i in page.all("img"))
    assert not any("onerror" in attrs for _, attrs in page.tags)
    # the text is there to read, verbatim
    shown = "".join(page.text)
    assert f"Title {INJECTED}" in shown  # the page title
    assert f"Caption {INJECTED} 1" in shown  # a thumbnail caption
    assert INJECTED in shown.replace(f"Title {INJECTED}", "")  # the problem message
    alts = [i["alt"] for i in page.all("img")]
    assert f"Alt {INJECTED}" in alts  # attribute values come back whole


def test_content_security_policy_admits_only_the_page_s_own_script_and_style(small_site):
    html = html_of(small_site)
    policy = next(m["content"] for m in Tags(html).all("meta") if m.get("http-equiv"))
    assert "'unsafe-inline'" not in policy
    assert reportpage._csp() in html.replace("&#x27;", "'")
    assert "script-src 'sha256-" in policy and "style-src 'sha256-" in policy


def test_three_hundred_animations_render_quickly_and_load_lazily(site_folder):
    for k in range(300):
        frames = write_frames(site_folder.images, f"A{k}", 3, (8, 8))
        (site_folder.pages / f"a{k}.md").write_text(page_text(f"Page {k}", [f"muscles/gif/A{k}.gif"], frames))
    site = site_folder.site()
    began = time.perf_counter()
    html = reportpage.render(report.gather(site))
    assert time.perf_counter() - began < 3.0
    assert html.count('<section class="row') == 300
    assert html.count("not built") > 300
