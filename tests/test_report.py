"""What the report shows for a build folder (`report.gather`, and the page written from it), and the report task."""
from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from conftest import page_text
from pipeline import report, reportpage
from pipeline.readable import format_bytes
from pipeline.plan import built_animations, planned_outputs
from pipeline.tasks import doit_main, doit_namespace
from pipeline.tasks.report import run_report

INJECTED = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'


# ---- building outputs the way the encoders would leave them (real files, small) ----------

def build_outputs(folder, *, skip: tuple[str, ...] = ()) -> None:
    """Write every planned output of `folder`'s site (GIF, WebP, WebM, MP4, thumbnails) and
    a contact sheet per animation, except the outputs whose path ends with one of `skip`."""
    site = folder.site()
    images_out = folder.build / "images"
    for animation in built_animations(site.catalog):
        frames = [Image.open(folder.images / f.image_url).convert("RGBA") for f in animation.frames]
        outputs = {o.kind: images_out / o.path for o in planned_outputs(site.catalog, site.settings)
                   if o.path.startswith(animation.stem + ".")}
        for kind, path in outputs.items():
            if path.as_posix().endswith(skip):
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if kind in ("gif", "webp", "avif"):
                first, *rest = [f.convert("RGB") if kind == "gif" else f for f in frames]
                first.save(path, save_all=True, append_images=rest, duration=125, loop=0)
            else:
                write_video(frames, path)
        sheet = folder.build / "contact" / (animation.stem.rsplit("/", 1)[-1] + ".png")
        sheet.parent.mkdir(parents=True, exist_ok=True)
        frames[0].save(sheet)
    for output in planned_outputs(site.catalog, site.settings):
        if output.kind == "thumbnail" and not output.path.endswith(skip):
            with Image.open(folder.images / output.sources[0]) as image:
                image.thumbnail((32, 32))
                (images_out / output.path).parent.mkdir(parents=True, exist_ok=True)
                image.save(images_out / output.path)


def write_video(frames: list[Image.Image], path: Path) -> None:
    """A real WebM (VP9) or MP4 (H.264) of `frames`, piped as raw RGB to ffmpeg."""
    width, height = frames[0].size
    codec = (["-c:v", "libvpx-vp9", "-deadline", "realtime", "-b:v", "0", "-crf", "40"]
             if path.suffix == ".webm" else
             ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"])
    raw = b"".join(np.asarray(f.convert("RGB")).tobytes() for f in frames)
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
         "-s", f"{width}x{height}", "-r", "8", "-i", "-", *codec, "-an", str(path)],
        input=raw, check=True,
    )


def write_verify_json(folder, entries: list[dict]) -> None:
    folder.build.mkdir(parents=True, exist_ok=True)
    (folder.build / "verify.json").write_text(json.dumps(entries))


def problem(page, line, code, severity, message, reference="muscles/png/X.png") -> dict:
    return {"page": page, "line": line, "reference": reference, "code": code,
            "severity": severity, "message": message}


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text, of a page."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag: str) -> list[dict]:
        return [attrs for name, attrs in self.tags if name == tag]


def html_of(folder) -> str:
    path = reportpage.write_report(folder.site(), started=time.time() - 2)
    assert path == folder.build / "report" / "index.html"
    return path.read_text(encoding="utf-8")


# ---- what the page shows -----------------------------------------------------------------

def test_nothing_built_shows_every_output_as_not_built(small_site):
    data = report.gather(small_site.site())
    assert [p.status for p in data.pages] == ["not built", "not built"]
    outputs = [o for p in data.pages for a in p.animations for o in a.outputs]
    assert {o.kind for o in outputs} == {"gif", "webp", "webm", "mp4"}
    assert all(o.bytes is None for o in outputs)
    assert not data.verified
    page = Tags(html_of(small_site))
    assert page.all("img") == [] and page.all("video") == []  # nothing to load, nothing broken
    assert "verify.json was not found" in html_of(small_site)


def test_built_outputs_are_shown_side_by_side_with_bytes_and_ratio(small_site):
    build_outputs(small_site)
    write_verify_json(small_site, [])
    data = report.gather(small_site.site())
    assert [p.status for p in data.pages] == ["ok", "ok"]
    soleus = next(a for p in data.pages for a in p.animations if a.animation.name.endswith("Leg-Soleus.gif"))
    frames = sorted((small_site.images / "muscles/png").glob("Leg-Soleus-*.png"))
    assert soleus.source_bytes == sum(f.stat().st_size for f in frames)
    assert soleus.source_size == (64, 48)
    gif = next(o for o in soleus.outputs if o.kind == "gif")
    assert gif.bytes == (small_site.build / "images/muscles/gif/Leg-Soleus.gif").stat().st_size
    assert (gif.width, gif.height) == (64, 48)
    assert soleus.contact == "contact/Leg-Soleus.png"

    text = html_of(small_site)
    page = Tags(text)
    imgs = {unquote(i["src"]): i for i in page.all("img")}
    gif_img = imgs["../images/muscles/gif/Leg-Soleus.gif"]
    assert (gif_img["width"], gif_img["height"], gif_img["loading"]) == ("64", "48", "lazy")
    assert "../images/muscles/gif/Leg-Soleus.webp" in imgs
    assert len([s for s in imgs if s.endswith("-thumb.png")]) == 32  # both thumbnail strips
    assert all(i.get("loading") == "lazy" and i["width"] and i["height"] for i in imgs.values())
    videos = page.all("video")
    assert len(videos) == 4
    assert all(v["preload"] == "none" and {"controls", "muted", "loop", "playsinline"} <= set(v)
               for v in videos)
    sources = {unquote(s["src"]): s["type"] for s in page.all("source")}
    assert sources["../images/muscles/gif/Arm-Biceps.webm"] == "video/webm"
    assert sources["../images/muscles/gif/Arm-Biceps.mp4"] == "video/mp4"
    ratio = f"{100 * gif.bytes / soleus.source_bytes:.0f}% of frames"
    assert ratio in text
    assert "contact sheet" in text and "../contact/Leg-Soleus.png" in text


def test_a_missing_output_marks_its_page_not_built(small_site):
    build_outputs(small_site, skip=("Arm-Biceps.webm", "Arm-Biceps-3-thumb.png"))
    write_verify_json(small_site, [])
    data = report.gather(small_site.site())
    status = {p.page.path: p.status for p in data.pages}
    assert status == {"muscles/muscle_arm-biceps.md": "not built", "muscles/muscle_leg-soleus.md": "ok"}
    text = html_of(small_site)
    assert 'title="muscles/gif/Arm-Biceps.webm"><div class="placeholder">not built' in text
    assert 'title="The Arm-Biceps muscle 3">not built</span>' in text


def test_verify_problems_are_listed_with_file_and_line_and_colour_the_page(small_site):
    build_outputs(small_site)
    write_verify_json(small_site, [
        problem("muscles/muscle_leg-soleus.md", 14, "missing", "error", "gallery frame 'X' does not exist"),
        problem("muscles/muscle_arm-biceps.md", 9, "unlisted-frame", "warning", "looks like a frame"),
        problem(None, None, "orphan", "warning", "'old/Thing.png' is not referenced by any page",
                reference="old/Thing.png"),
    ])
    data = report.gather(small_site.site())
    assert {p.page.path: p.status for p in data.pages} == {
        "muscles/muscle_leg-soleus.md": "error", "muscles/muscle_arm-biceps.md": "warning"}
    assert [f.reference for f in data.site_findings] == ["old/Thing.png"]
    text = html_of(small_site)
    assert "<code><bdi>muscles/muscle_leg-soleus.md:14</bdi></code>" in text
    assert "<code><bdi>muscles/muscle_arm-biceps.md:9</bdi></code>" in text
    assert "Other problems" in text and "<code><bdi>old/Thing.png</bdi></code>" in text
    assert 'class="code error">missing <b>1</b>' in text
    assert 'class="code warning">orphan <b>1</b>' in text
    rows = [a for a in Tags(text).all("section") if "data-status" in a]
    assert sorted(r["data-status"] for r in rows) == ["error", "warning"]


def test_summary_totals_bytes_per_format_and_saving(small_site):
    build_outputs(small_site)
    data = report.gather(small_site.site(), started=time.time() - 75)
    views = [a for p in data.pages for a in p.animations]
    gif_bytes = sum(o.bytes for a in views for o in a.outputs if o.kind == "gif")
    source_bytes = sum(a.source_bytes for a in views)
    text = reportpage.render(data)
    assert "<b>2</b><span>pages</span>" in text
    assert "<b>2</b><span>animations</span>" in text
    assert "<b>32</b><span>gallery frames</span>" in text
    gif_row = next(line for line in text.split("<tr>") if line.startswith("<th>GIF</th>"))
    assert f"<td>2 of 2</td><td>{format_bytes(gif_bytes)}</td><td>{format_bytes(source_bytes)}</td>" in gif_row
    assert format_bytes(source_bytes - gif_bytes) in gif_row
    thumbnail_bytes = sum(p.stat().st_size for p in (small_site.build / "images").rglob("*-thumb.png"))
    assert f"<th>thumbnails</th><td>32 of 32</td><td>{format_bytes(thumbnail_bytes)}</td>" in text
    assert " in 1 min 15 s (this run" in text


def test_unreadable_verify_json_is_shown_not_raised(small_site):
    small_site.build.mkdir(parents=True)
    for text in ("[{not json", '{"page": "a.md"}'):
        (small_site.build / "verify.json").write_text(text)
        data = report.gather(small_site.site())
        assert [f.code for f in data.site_findings] == ["unreadable"]
        assert "verify.json cannot be read" in reportpage.render(data)


# ---- the task ----------------------------------------------------------------------------

def run_doit(folder, *args) -> tuple[int, dict]:
    """Run doit with its json reporter; (exit code, task name -> its json record)."""
    out = folder.root / "doit.json"
    code = doit_main(doit_namespace(folder.config)).run(
        ["--reporter", "json", "--output-file", str(out), *args])
    return code, {t["name"]: t for t in json.loads(out.read_text())["tasks"]}


def ran_last(tasks: dict, name: str) -> bool:
    """Whether `name` started after every other executed task had finished (its own group,
    which finishes with it, aside)."""
    def end(t):
        return datetime.fromisoformat(t["started"]).timestamp() + t["elapsed"]
    others = [t for n, t in tasks.items() if n != name and not name.startswith(f"{n}:") and t["started"]]
    return all(end(t) <= datetime.fromisoformat(tasks[name]["started"]).timestamp() for t in others)


def test_the_action_writes_the_report(small_site):
    build = small_site.build
    shown = ([str(build / "images")], [str(build / "verify.json")])
    assert set(run_report(small_site.site(), time.time(), shown)) == {"fingerprint"}
    assert (build / "report" / "index.html").is_file()


def test_a_report_that_cannot_be_written_fails_its_task_naming_the_file(small_site, monkeypatch):
    import errno

    from pipeline import reportpage

    target = small_site.build / "report" / "index.html"

    def full_disk(site, started):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))
    monkeypatch.setattr(reportpage, "write_report", full_disk)
    failed = run_report(small_site.site(), time.time(), ([], []))
    assert failed.message == f"report: [Errno 28] No space left on device: '{target}'"


@pytest.fixture
def tiny_site(site_folder):
    """One animation of four frames: these tests run every default task."""
    site_folder.add_animation("Leg-Soleus", 4, (32, 24))
    return site_folder


def test_report_task_runs_after_verify_even_when_verify_fails(tiny_site):
    (tiny_site.images / "muscles/png/Leg-Soleus-3.png").unlink()
    code, tasks = run_doit(tiny_site, "report")
    assert code != 0
    assert tasks["verify"]["result"] == "fail"  # verify failed ...
    assert tasks["report:index.html"]["result"] == "success"  # ... and the report was still written, last
    assert ran_last(tasks, "report:index.html")
    html = (tiny_site.build / "report" / "index.html").read_text()
    assert "muscles/muscle_leg-soleus.md:" in html and "Leg-Soleus-3.png" in html
    assert 'data-status="error"' in html


def test_report_is_rewritten_when_what_it_shows_changes_and_cleaned(tiny_site):
    code, tasks = run_doit(tiny_site, "-n", "2")
    assert tasks["report:index.html"]["result"] == "success"
    assert ran_last(tasks, "report:index.html")
    code, tasks = run_doit(tiny_site, "-n", "2")
    assert tasks["report:index.html"]["result"] == "up-to-date"  # nothing changed: a no-op run stays cheap
    page = next(tiny_site.pages.rglob("*.md"))
    page.write_text(page.read_text().replace("title: 'The Leg-Soleus muscle'", "title: 'Soleus, retitled'"))
    code, tasks = run_doit(tiny_site, "-n", "2")
    assert tasks["report:index.html"]["result"] == "success"
    index = tiny_site.build / "report" / "index.html"
    assert "Soleus, retitled" in index.read_text()
    assert index.is_file()
    doit_main(doit_namespace(tiny_site.config)).run(["clean", "report"])
    assert not index.exists()


def test_a_page_copied_over_keeping_its_size_and_time_is_shown_anew(tiny_site):
    """`cp -p` of an edited page: the report's check went by sizes and times only."""
    assert run_doit(tiny_site, "-n", "1")[0] == 0
    page = next(tiny_site.pages.rglob("*.md"))
    text, times = page.read_text(), page.stat()
    edited = page.with_name("edited.tmp")
    # a caption: shown by the report alone (no sheet, thumbnail or data file changes with it)
    edited.write_text(text.replace("caption: 'The Leg-Soleus muscle 1'", "caption: 'The LEG-SOLEUS muscle 1'"))
    os.utime(edited, ns=(times.st_atime_ns, times.st_mtime_ns))
    os.replace(edited, page)
    code, tasks = run_doit(tiny_site, "-n", "1", "report")
    assert tasks["report:index.html"]["result"] == "success"
    assert "The LEG-SOLEUS muscle 1" in (tiny_site.build / "report" / "index.html").read_text()


def test_the_report_is_checked_only_after_every_other_task_has_finished(tiny_site):
    """doit checks a task with setup tasks before running them; the report's check must wait."""
    namespace = doit_namespace(tiny_site.config)
    wait, write = namespace["task_report"]()
    others = [t for t in namespace["DOIT_CONFIG"]["default_tasks"] if t != "report"]
    assert wait["name"] == "wait" and not wait["actions"] and wait["setup"] == others
    assert write["name"] == "index.html" and write["task_dep"] == ["report:wait"] and "setup" not in write


def test_an_animation_on_two_pages_is_shown_as_the_one_set_of_files_the_build_makes(small_site):
    frames = [f"muscles/png/Leg-Soleus-{k}.png" for k in range(1, 9)]  # a later page, fewer frames
    (small_site.pages / "overview.md").write_text(page_text("Overview", ["muscles/gif/Leg-Soleus.gif"], frames))
    build_outputs(small_site)
    write_verify_json(small_site, [])
    data = report.gather(small_site.site())
    views = [a for p in data.pages for a in p.animations if a.animation.name.endswith("Leg-Soleus.gif")]
    assert [v.animation.page for v in views] == ["muscles/muscle_leg-soleus.md", "overview.md"]
    assert [v.made_from.page for v in views] == ["muscles/muscle_leg-soleus.md"] * 2  # the first with frames
    assert [v.contact for v in views] == ["contact/Leg-Soleus.png"] * 2
    assert views[0].outputs == views[1].outputs and views[0].source_bytes == views[1].source_bytes
    html = reportpage.render(data)
    assert "16 frames · 64×48" in html and "made from the gallery of muscles/muscle_leg-soleus.md" in html
    assert "<th>GIF</th><td>2 of 2</td>" in html  # Arm-Biceps and Leg-Soleus: each file once
    assert '<div class="fact"><b>2</b><span>animations</span>' in html
    assert views[0].poster == views[1].poster == "muscles/png/Leg-Soleus-1-thumb.png"


def test_a_ready_made_animation_is_not_shown_as_not_built(small_site):
    (small_site.images / "muscles/gif").mkdir(parents=True)
    for suffix in ("gif", "webm", "mp4"):
        (small_site.images / f"muscles/gif/Ready.{suffix}").write_bytes(b"shipped as it is")
    (small_site.pages / "ready.md").write_text(page_text("Ready", ["muscles/gif/Ready.gif"], []))
    build_outputs(small_site)
    write_verify_json(small_site, [])
    data = report.gather(small_site.site())
    (ready,) = [p for p in data.pages if p.page.path == "ready.md"]
    (view,) = ready.animations
    assert (view.built, view.outputs, ready.status) == (False, (), "ok")
    assert "no gallery frames: its own file is shipped as it is" in reportpage.render(data)
