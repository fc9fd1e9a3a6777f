"""The bundle: complete or failing, every manifest entry true to its file, a byte-stable zip,
stale files reported and dropped, the Jekyll data file and include."""
import hashlib
import inspect
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from conftest import site_tasks
from pipeline import bundle, jekyll
from pipeline.treestate import folder_digest
from pipeline.plan import output_plan
from pipeline.tasks.bundle import bundle_tasks, plan_digest, run_bundle
from pipeline.tasks.uptodate import FolderListing, outputs_as_written
from tests.conftest import page_text, write_frames

FPS = 10  # GIF delays are in centiseconds: 8 fps would round to 120 ms


def run_actions(tasks):
    """Run each task's actions as doit does on a first run (`changed`: every file_dep)."""
    for task in tasks:
        for func, args in task["actions"] or ():  # bundle:wait has none
            wants_changed = "changed" in inspect.signature(func).parameters
            extra = {"changed": list(task.get("file_dep", ()))} if wants_changed else {}
            result = func(*args, **extra)
            assert result is None or isinstance(result, dict), (task["name"], result)  # not TaskFailed


def write_animations(site):
    """What the animation tasks write, made here with Pillow and imageio-ffmpeg at 10 fps."""
    images, out = site.settings.images_dir, site.settings.build_dir / "images"
    for animation in site.catalog.animations:
        frames = [Image.open(images / f.image_url).convert("RGB") for f in animation.frames]
        stem = out / animation.stem
        stem.parent.mkdir(parents=True, exist_ok=True)
        for suffix in (".gif", ".webp"):
            frames[0].save(f"{stem}{suffix}", save_all=True, append_images=frames[1:],
                           duration=1000 // FPS, loop=0)
        for suffix, codec in ((".webm", "libvpx-vp9"), (".mp4", "libx264")):
            writer = imageio_ffmpeg.write_frames(f"{stem}{suffix}", frames[0].size, fps=FPS, codec=codec,
                                                 pix_fmt_out="yuv420p", macro_block_size=16,
                                                 # without bitexact, WebM gets a random segment id
                                                 output_params=["-an", "-fflags", "+bitexact"],
                                                 ffmpeg_log_level="error")
            writer.send(None)
            for frame in frames:
                writer.send(np.asarray(frame).tobytes())
            writer.close()


def build_everything(site):
    run_actions(site_tasks(site, "thumbnails"))
    run_actions(site_tasks(site, "frames"))
    write_animations(site)
    run_actions(bundle_tasks(site, after=[], seen={}, outputs=output_plan(site.catalog, site.settings), listing=FolderListing()))


@pytest.fixture
def built(small_site):
    site = small_site.site()
    build_everything(site)
    return small_site


def manifest(folder) -> dict:
    return {e["path"]: e for e in json.loads((folder.build / "asset-manifest.json").read_text())["files"]}


def video_size(path: Path) -> tuple[int, int]:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    reader.close()
    return tuple(meta["size"])


def test_every_manifest_entry_matches_its_file(built):
    entries = manifest(built)
    images = built.build / "images"
    on_disk = sorted(p.relative_to(images).as_posix() for p in images.rglob("*") if p.is_file())
    assert sorted(entries) == on_disk
    # 32 frames x (frame, thumb.png, thumb.webp) + 2 animations x 4 formats
    assert len(entries) == 32 * 3 + 2 * 4
    for path, entry in entries.items():
        file = images / path
        assert entry["bytes"] == file.stat().st_size
        assert entry["sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()
        if path.endswith((".webm", ".mp4")):
            assert (entry["width"], entry["height"]) == video_size(file)
        else:
            with Image.open(file) as image:
                assert (entry["width"], entry["height"]) == image.size
    gif = entries["muscles/gif/Leg-Soleus.gif"]
    assert (gif["mime"], gif["frames"], gif["duration"]) == ("image/gif", 16, 1.6)
    webp = entries["muscles/gif/Arm-Biceps.webp"]
    assert (webp["mime"], webp["frames"], webp["duration"]) == ("image/webp", 16, 1.6)
    for suffix, mime, codecs in ((".webm", "video/webm", r"vp9"), (".mp4", "video/mp4", r"avc1\.64[0-9A-F]{4}")):
        video = entries["muscles/gif/Leg-Soleus" + suffix]
        assert (video["mime"], video["frames"], video["duration"]) == (mime, 16, 1.6)
        assert re.fullmatch(codecs, video["codecs"])  # High profile: yuv420p from x264
    thumb = entries["muscles/png/Leg-Soleus-1-thumb.png"]
    assert (thumb["width"], thumb["height"], thumb["frames"], thumb["duration"]) == (64, 48, 1, None)


def test_zip_holds_the_images_tree_and_is_byte_identical_when_rebuilt(built):
    first = (built.build / "bundle.zip").read_bytes()
    with zipfile.ZipFile(built.build / "bundle.zip") as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == sorted(manifest(built))
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.external_attr >> 16 for i in infos} == {0o100644}
        frame = archive.read("muscles/png/Leg-Soleus-2.png")
    assert frame == (built.build / "images" / "muscles" / "png" / "Leg-Soleus-2.png").read_bytes()

    # everything again from scratch: new files, new timestamps, same bytes
    for path in sorted((built.build / "images").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (built.build / "bundle.zip").unlink()
    build_everything(built.site())
    assert (built.build / "bundle.zip").read_bytes() == first


def test_removed_page_has_its_outputs_reported_and_dropped(built, capsys):
    (built.pages / "muscles" / "muscle_arm-biceps.md").unlink()
    capsys.readouterr()
    site = built.site()
    assert set(run_bundle(site.catalog, site.settings, "digest")) == {"fingerprint", "plan"}

    err = capsys.readouterr().err
    images = built.build / "images"
    assert "bundle: removed stale 'muscles/png/Arm-Biceps-1-thumb.png' (no task produces it any more)" in err
    assert "removed stale 'muscles/gif/Arm-Biceps.webm'" in err
    assert not list(images.rglob("Arm-Biceps*"))
    assert not any(p.startswith("muscles/png/Arm-Biceps") or "Arm-Biceps" in p for p in manifest(built))
    with zipfile.ZipFile(built.build / "bundle.zip") as archive:
        assert not [n for n in archive.namelist() if "Arm-Biceps" in n]
    assert (images / "muscles" / "png" / "Leg-Soleus-1-thumb.png").exists()


def test_a_zip_that_cannot_be_written_leaves_the_manifest_and_data_file_as_they_were(built):
    (built.pages / "muscles" / "muscle_arm-biceps.md").unlink()  # the next bundle differs
    (built.build / "bundle.zip").unlink()
    (built.build / "bundle.zip" / "x").mkdir(parents=True)  # so the new zip cannot take its name
    described = ("asset-manifest.json", "_data/assets.json")
    last = {name: (built.build / name).read_bytes() for name in described}
    site = built.site()

    result = run_bundle(site.catalog, site.settings, "digest")

    assert result.get_msg().startswith("bundle: [Errno 21] a folder is where this file is to be written: remove it")
    assert {name: (built.build / name).read_bytes() for name in described} == last
    assert sorted(p.name for p in built.build.rglob(".*.tmp*")) == []  # no temporaries left


def test_missing_file_fails_the_bundle_naming_the_page_line(built):
    (built.build / "images" / "muscles" / "png" / "Leg-Soleus-3-thumb.png").unlink()
    (built.build / "images" / "muscles" / "gif" / "Arm-Biceps.mp4").unlink()
    last_complete = {name: (built.build / name).read_bytes() for name in ("asset-manifest.json", "bundle.zip")}
    site = built.site()

    result = run_bundle(site.catalog, site.settings, "digest")

    text = str(result)
    page = (built.pages / "muscles" / "muscle_leg-soleus.md").read_text().splitlines()
    line = page.index("  - image_url: muscles/png/Leg-Soleus-3.png") + 1
    assert (f"muscles/muscle_leg-soleus.md:{line}: missing: 'muscles/png/Leg-Soleus-3-thumb.png' "
            f"is not in the bundle ({built.build / 'images'})") in text
    assert "muscles/muscle_arm-biceps.md:6: missing: 'muscles/gif/Arm-Biceps.mp4' is not in the bundle" in text
    # nothing of an incomplete bundle is written: the last complete one stays
    assert {name: (built.build / name).read_bytes() for name in last_complete} == last_complete


def test_the_bundle_waits_for_verify_and_every_producer_as_the_run_wires_it(small_site):
    tasks = {t["name"]: t for t in site_tasks(small_site.site(), "bundle")}
    producers = ["verify", "gif", "webp", "video", "avif", "thumbnails", "frames", "contact"]
    assert tasks["asset-manifest.json"]["task_dep"] == [*producers, "bundle:stale"]
    assert tasks["wait"]["setup"] == producers and tasks["stale"]["task_dep"] == ["bundle:wait"]


def test_referenced_files_the_pipeline_does_not_make_are_copied(site_folder):
    urls = write_frames(site_folder.images, "Deltoid", 2, (40, 30))
    Image.new("RGB", (30, 20), "navy").save(site_folder.images / "muscles" / "diagram.png")
    text = page_text("Deltoid", [], urls).replace("images:\n", "images:\n  - image_name: 'muscles/diagram.png'\n")
    (site_folder.pages / "deltoid.md").write_text(text)
    site = site_folder.site()
    assert bundle.bundle_plan(site.catalog, site.settings).copied == ("muscles/diagram.png",)

    tasks = {t["name"]: t for t in bundle_tasks(site, after=["gif"], seen={},
                                                outputs=output_plan(site.catalog, site.settings), listing=FolderListing())}
    # the bundle's check and action come after the copies that also write into build/images
    assert tasks["asset-manifest.json"]["task_dep"] == ["gif", "bundle:images/muscles/diagram.png", "bundle:stale"]
    assert tasks["wait"]["setup"] == ["gif", "bundle:images/muscles/diagram.png"]

    build_everything(site)

    copied = site_folder.build / "images" / "muscles" / "diagram.png"
    assert copied.read_bytes() == (site_folder.images / "muscles" / "diagram.png").read_bytes()
    assert manifest(site_folder)["muscles/diagram.png"]["width"] == 30


def test_bundle_runs_after_every_producer_and_is_stale_when_any_file_changes(built):
    site = built.site()
    seen = {}
    tasks = {t["name"]: t for t in bundle_tasks(site, after=["verify", "gif", "thumbnails", "frames"], seen=seen,
                                            outputs=output_plan(site.catalog, site.settings), listing=FolderListing())}
    main = tasks["asset-manifest.json"]
    assert main["task_dep"] == ["verify", "gif", "thumbnails", "frames", "bundle:stale"]
    assert main["clean"] is True and main["targets"]
    (check, args), written = main["uptodate"]
    assert isinstance(written, outputs_as_written)  # a killed run's files are not the ones recorded
    func, action_args = main["actions"][0]
    values = func(*action_args)
    task = SimpleNamespace(targets=main["targets"])
    images = str(built.build / "images")
    assert check(task, values, *args)  # nothing changed since it ran ...
    assert seen == {images: folder_digest(images)}  # ... so the report may reuse its walk
    seen.clear()
    webm = built.build / "images" / "muscles/gif/Leg-Soleus.webm"
    webm.write_bytes(webm.read_bytes() + b"\0")
    assert not check(task, values, *args) and seen == {}  # it will run: nothing noted
    values = func(*action_args)
    (built.build / "bundle.zip").unlink()
    assert not check(task, values, *args) and seen == {}  # a target is missing: it runs too
    values = func(*action_args)
    assert check(task, values, *args)
    fewer = plan_digest(sorted(bundle.bundle_plan(site.catalog, site.settings).files)[:-1], site.catalog)
    assert not check(task, values, args[0], fewer, *args[2:])  # a planned file fewer: stale files to remove


def test_a_new_title_on_the_page_is_written_into_the_data_file(small_site):
    from tests.test_animation_tasks import run

    assert run(small_site, "bundle")[0] == 0  # everything the bundle needs is built first
    page = small_site.pages / "muscles" / "muscle_leg-soleus.md"
    text = page.read_text()
    assert "image_title: 'The Leg-Soleus muscle'" in text
    page.write_text(text.replace("image_title: 'The Leg-Soleus muscle'", "image_title: 'Soleus, new'"))
    assert run(small_site, "bundle")[0] == 0  # no file changed: only what the page says
    data = json.loads((small_site.build / "_data" / "assets.json").read_text())
    assert data["animations"]["muscles/gif/Leg-Soleus.gif"]["title"] == "Soleus, new"


def test_data_file_escapes_what_jekylls_yaml_reader_refuses(small_site):
    """Jekyll reads `_data/*.json` as YAML: a DEL or C1 control in a title, written as it is,
    stopped the whole site's build. Escaped, JSON and YAML read the same text."""
    import yaml
    from tests.test_animation_tasks import run

    page = small_site.pages / "muscles" / "muscle_leg-soleus.md"
    text = page.read_text()
    page.write_text(text.replace("image_title: 'The Leg-Soleus muscle'",
                                 'image_title: "Sol\\u00e9us \\u007f \\x9b \\U0001F600"'))
    assert run(small_site, "bundle")[0] == 0
    raw = (small_site.build / "_data" / "assets.json").read_text(encoding="utf-8")
    assert not re.search("[\x7f-\x9f]", raw) and "Soléus" in raw and "\U0001F600" in raw
    title = json.loads(raw)["animations"]["muscles/gif/Leg-Soleus.gif"]["title"]
    assert title == "Soléus \x7f \x9b \U0001F600"
    assert yaml.safe_load(raw) == json.loads(raw)


def test_data_file_gives_templates_sizes_formats_and_poster(built):
    data = json.loads((built.build / "_data" / "assets.json").read_text())
    animation = data["animations"]["muscles/gif/Leg-Soleus.gif"]
    assert animation.pop("webm_type") == "video/webm; codecs=vp9"  # the fixture's WebM is VP9
    assert re.fullmatch(r"video/mp4; codecs=avc1\.[0-9A-F]{6}", animation.pop("mp4_type"))
    assert animation == {
        "title": "The Leg-Soleus muscle", "alt": "The Leg-Soleus muscle", "width": 64, "height": 48,
        "frames": 16, "duration": 1.6, "poster": "muscles/png/Leg-Soleus-1.png",
        "gif": "muscles/gif/Leg-Soleus.gif", "webp": "muscles/gif/Leg-Soleus.webp",
        "webm": "muscles/gif/Leg-Soleus.webm", "mp4": "muscles/gif/Leg-Soleus.mp4",
        # what the include writes into attributes: plain names need no encoding
        "gif_url": "muscles/gif/Leg-Soleus.gif", "webp_url": "muscles/gif/Leg-Soleus.webp",
        "webm_url": "muscles/gif/Leg-Soleus.webm", "mp4_url": "muscles/gif/Leg-Soleus.mp4",
        "poster_url": "muscles/png/Leg-Soleus-1.png",
    }
    thumb = data["files"]["muscles/png/Leg-Soleus-1-thumb.png"]
    assert (thumb["width"], thumb["height"], thumb["mime"]) == (64, 48, "image/png")


def test_descriptions_written_entry_by_entry_read_as_json_dumps_of_the_whole(built, tmp_path):
    site = built.site()
    images = built.build / "images"
    animations = list(site.catalog.animations)
    out = tmp_path / "out"
    out.mkdir()
    for paths in (bundle.bundle_files(images), []):
        manifest_file, data_file = out / "manifest.json", out / "data.json"
        bundle.write_descriptions(images, paths, animations, manifest_file, data_file, tmp_path / "cache")
        entries = list(bundle.describe(images, paths, tmp_path / "cache"))
        files = {e["path"]: {k: v for k, v in e.items() if k != "path"} for e in entries}
        whole_data = {"files": files, "animations": jekyll.animation_entries(animations, files)}
        assert manifest_file.read_text() == json.dumps({"files": entries}, indent=2) + "\n"
        assert data_file.read_text() == json.dumps(whole_data, indent=2) + "\n"
    assert len(json.loads(manifest_file.read_text())["files"]) == 0
    assert sorted(out.iterdir()) == sorted([data_file, manifest_file])  # no temporaries left


def test_a_second_bundle_describes_from_the_cache_the_same_entries(built, monkeypatch):
    from pipeline import assetcache

    monkeypatch.setattr(assetcache, "RACY_SECONDS", 0.0)  # the files were all written just now
    site = built.site()
    bundle.make_bundle(site.catalog, site.settings)
    manifest, data = built.build / "asset-manifest.json", built.build / "_data" / "assets.json"
    first = manifest.read_bytes(), data.read_bytes()

    def not_again(file):
        raise AssertionError(f"{file} described again")
    monkeypatch.setattr(bundle, "describe_file", not_again)
    bundle.make_bundle(site.catalog, site.settings)
    assert (manifest.read_bytes(), data.read_bytes()) == first
    assert len(json.loads(first[0])["files"]) > 40


def test_include_plays_a_muted_looping_video_with_fallbacks_and_reduced_motion(built):
    text = (built.build / "_includes" / "atlas-animation.html").read_text()
    assert text == jekyll.INCLUDE
    assert "<video class=\"atlas-animation-video\" autoplay loop muted playsinline" in text
    webm_source = "type=\"{{ asset.webm_type | default: 'video/webm' }}\""
    mp4_source = "type=\"{{ asset.mp4_type | default: 'video/mp4' }}\""
    assert text.index(webm_source) < text.index(mp4_source) < text.index("<picture>")
    assert 'type="image/webp"' in text and "asset.gif" in text
    assert 'width="{{ asset.width }}" height="{{ asset.height }}"' in text
    assert 'poster="{{ base }}{{ asset.poster_url }}"' in text
    assert 'src="{{ base }}{{ asset.webm_url }}"' in text and 'src="{{ base }}{{ asset.mp4_url }}"' in text
    assert "{{ asset.webm }}" not in text and "{{ asset.poster }}" not in text  # never a raw name in a URL
    # Jekyll's include tag takes no brackets in its parameters: the usage shown must not use them
    assert "image=page.images[" not in text
    # reduced motion hides the video only where there is a still to show instead
    assert ".atlas-animation-with-still .atlas-animation-video { display: none; }" in text
    assert 'title="{{ title | escape }}" aria-label="{{ alt | escape }}"' in text
    assert "@media (prefers-reduced-motion: reduce)" in text and "video.pause()" in text
    tags = re.findall(r"{%-?\s*(\w+)", text)
    for opening in ("if", "unless", "comment"):
        assert tags.count(opening) == tags.count("end" + opening), opening


def test_doit_builds_the_bundle_and_a_second_run_does_nothing(site_folder):
    # a gallery-only page: no animations, so the run needs no encoder
    urls = write_frames(site_folder.images, "Deltoid", 3, (40, 30))
    (site_folder.pages / "deltoid.md").write_text(page_text("Deltoid", [], urls))
    command = [sys.executable, "-m", "pipeline.cli", "--config", str(site_folder.config),
               "--reporter", "json", "thumbnails", "frames", "contact", "bundle"]

    def run():
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr + result.stdout
        return {t["name"]: t["result"] for t in json.loads(result.stdout)["tasks"]}

    first = run()
    assert first["bundle:asset-manifest.json"] == "success"
    assert (site_folder.build / "bundle.zip").exists()
    zipped = (site_folder.build / "bundle.zip").read_bytes()
    second = run()
    # group tasks and bundle:wait have no actions
    executed = {name for name, result in second.items()
                if result != "up-to-date" and ":" in name and not name.endswith(":wait")}
    assert executed == set(), executed
    assert len(second) > 10
    assert (site_folder.build / "bundle.zip").read_bytes() == zipped


def test_names_with_url_characters_reach_the_include_percent_encoded():
    from pipeline.catalog import Animation

    name = "muscles/gif/A&B'q\" #1?%20.gif"
    animation = Animation(name, "page.md", 3, "A title", "An alt text", ())
    files = {name: {"width": 8, "height": 8, "frames": 1, "duration": 0.1, "mime": "image/gif"}}
    entry = jekyll.animation_entries([animation], files)[name]
    assert entry["gif"] == name  # the name itself, for templates that read it
    assert entry["gif_url"] == "muscles/gif/A%26B%27q%22%20%231%3F%2520.gif"
    assert entry["poster_url"] is None


def test_the_bundle_checks_webm_sizes_by_the_codec_the_settings_name(site_folder):
    """4x4 frames: too small for WebM in AV1, fine in VP9. The bundle's own check took AV1
    whatever the settings said, and failed a build that verify and the encoders had passed."""
    site_folder.write_settings('[webm]\ncodec = "vp9"\n')
    site_folder.add_animation("Tiny", count=3, size=(4, 4))
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "--config", str(site_folder.config)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(site_folder.build / "bundle.zip") as bundled:
        assert "muscles/gif/Tiny.webm" in bundled.namelist()


def test_a_full_disk_while_describing_names_the_manifest_not_the_zip(built, monkeypatch):
    """The zip is written after the descriptions: a write names no file, and the innermost
    temporary's target, the zip, was named."""
    site = built.site()

    def full(*args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(bundle, "write_descriptions", full)
    with pytest.raises(OSError) as error:
        bundle.make_bundle(site.catalog, site.settings)
    assert error.value.filename == f"{built.build / 'asset-manifest.json'} and {built.build / '_data/assets.json'}"
