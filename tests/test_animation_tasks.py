import json
import re

import imageio.v3 as iio
import pytest
from doit.exceptions import TaskFailed
from PIL import Image

from conftest import site_tasks
from pipeline.problems import PipelineError
from pipeline.tasks import doit_main, doit_namespace
from pipeline.tasks.animations import run_encode

STEMS = ("muscles/gif/Leg-Soleus", "muscles/gif/Arm-Biceps")
VIDEO = ("webm", "mp4")


def run(site_folder, *args) -> tuple[int, str]:
    """doit's exit code and what it reported (written to a file: doit keeps its own stdout)."""
    log = site_folder.root / "doit.log"
    code = doit_main(doit_namespace(site_folder.config)).run(
        ["--output-file", str(log), *args])
    return code, log.read_text()


def outputs(site_folder, suffixes=("gif", "webp", "webm", "mp4")):
    return [site_folder.build / "images" / f"{stem}.{s}" for stem in STEMS for s in suffixes]


def executed(text: str) -> list[str]:
    """Task names doit's `executed-only` reporter printed as run."""
    return sorted(re.findall(r"^\.  (\S+)$", text, re.MULTILINE))


def test_tasks_are_registered_and_run_by_default(small_site):
    namespace = doit_namespace(small_site.config)
    assert {"task_gif", "task_webp", "task_video", "task_avif"} <= set(namespace)
    default = namespace["DOIT_CONFIG"]["default_tasks"]
    assert default.index("verify") < default.index("gif") < default.index("bundle") < default.index("report")
    assert {"webp", "video", "avif"} <= set(default)
    names = [task["name"] for task in namespace["task_video"]()]
    assert sorted(names) == ["images/muscles/gif/Arm-Biceps.webm+mp4", "images/muscles/gif/Leg-Soleus.webm+mp4"]


def test_one_task_per_file_with_its_frames_and_only_its_settings(small_site):
    small_site.write_settings('[animation]\nformats = ["gif", "webp", "webm", "mp4", "avif"]\n')
    site = small_site.site()
    (video,) = [t for t in site_tasks(site, "video") if "Leg-Soleus" in t["name"]]
    assert video["name"] == "images/muscles/gif/Leg-Soleus.webm+mp4"
    assert video["targets"] == [str(small_site.build / f"images/muscles/gif/Leg-Soleus.{ext}") for ext in ("webm", "mp4")]
    assert video["file_dep"] == [str(small_site.images / f"muscles/png/Leg-Soleus-{k}.png") for k in range(1, 17)]
    assert video["clean"] is True
    names = [t["name"] for t in site_tasks(site, "avif")]
    assert sorted(names) == sorted(f"images/{stem}.avif" for stem in STEMS)
    small_site.write_settings("")
    assert list(site_tasks(small_site.site(), "avif")) == []  # opt-in


def test_actions_write_decodable_files(small_site):
    site = small_site.site()
    (animation,) = [a for a in site.catalog.animations if "Arm-Biceps" in a.name]
    gif = small_site.build / "images/muscles/gif/Arm-Biceps.gif"
    mp4 = small_site.build / "images/muscles/gif/Arm-Biceps.mp4"
    assert run_encode(animation, [("gif", gif)], site.settings) is None
    assert run_encode(animation, [("mp4", mp4)], site.settings) is None
    with Image.open(gif) as image:
        assert image.n_frames == 16 and image.info["loop"] == 0
        assert image.convert("RGB").getpixel((0, 0)) == (255, 255, 255)  # alpha source, white matte
    frames = iio.imread(mp4, index=None, plugin="FFMPEG")
    assert frames.shape == (16, 48, 64, 3)
    assert tuple(frames[0, 0, 0]) == (255, 255, 255)


def test_second_run_builds_nothing_and_webp_quality_rebuilds_only_webp(small_site):
    assert run(small_site, "-n", "2", "gif", "webp", "video")[0] == 0  # actions pickle into workers
    files = outputs(small_site)
    for path in files:
        assert path.stat().st_size > 0
    with Image.open(files[1]) as webp:
        assert webp.n_frames == 16 and webp.info["loop"] == 0
    built = {p: p.stat().st_mtime_ns for p in files}

    code, text = run(small_site, "--reporter", "executed-only", "gif", "webp", "video")
    assert code == 0 and executed(text) == []
    assert {p: p.stat().st_mtime_ns for p in files} == built

    small_site.write_settings("[webp]\nquality = 50\n")
    code, text = run(small_site, "--reporter", "executed-only", "gif", "webp", "video")
    assert code == 0 and executed(text) == [f"webp:images/{stem}.webp" for stem in sorted(STEMS)]
    changed = sorted(p.name for p in files if p.stat().st_mtime_ns != built[p])
    assert changed == ["Arm-Biceps.webp", "Leg-Soleus.webp"]

    # WebM and MP4 share one sub-task: a setting of either redoes both, and nothing else
    built = {p: p.stat().st_mtime_ns for p in files}
    small_site.write_settings("[webp]\nquality = 50\n[mp4]\ncrf = 30\n")
    code, text = run(small_site, "--reporter", "executed-only", "gif", "webp", "video")
    assert code == 0 and executed(text) == [f"video:images/{stem}.webm+mp4" for stem in sorted(STEMS)]
    changed = sorted(p.name for p in files if p.stat().st_mtime_ns != built[p])
    assert changed == ["Arm-Biceps.mp4", "Arm-Biceps.webm", "Leg-Soleus.mp4", "Leg-Soleus.webm"]


def test_every_mp4_setting_is_in_the_video_check(small_site):
    def checks(extra):
        small_site.write_settings(extra)
        site = small_site.site()
        return {t["name"]: t["uptodate"][0].config for t in site_tasks(site, "video")}

    default, untuned = checks(""), checks('[mp4]\ntune = "none"\n')
    assert all(check["mp4"]["mp4"] == {"crf": 25, "preset": "slow", "tune": "ssim"} for check in default.values())
    assert all(untuned[name] != default[name] for name in default)  # and changing the tune redoes the videos


def test_missing_frame_fails_its_own_tasks_and_the_other_sequence_builds(small_site):
    (small_site.images / "muscles/png/Arm-Biceps-3.png").unlink()
    code, text = run(small_site, "--verbosity", "0", "gif", "webp", "video")
    assert code != 0
    message = re.compile(r"muscles/muscle_arm-biceps\.md:\d+: missing: gallery frame "
                         r"'muscles/png/Arm-Biceps-3\.png' does not exist under the image root")
    assert len(message.findall(text)) == 3  # one per sub-task of that sequence: gif, webp, video
    leg, arm = outputs(small_site)[:4], outputs(small_site)[4:]
    assert all(p.is_file() for p in leg)
    assert not any(p.exists() for p in arm)
    assert not list((small_site.build / "images").rglob(".*.tmp*"))  # nothing half-written


@pytest.mark.parametrize("fmt", ["gif", "webm"])
def test_action_reports_the_verify_message(small_site, fmt):
    (small_site.images / "muscles/png/Leg-Soleus-16.png").write_bytes(b"not a png")
    site = small_site.site()
    (animation,) = [a for a in site.catalog.animations if "Leg-Soleus" in a.name]
    result = run_encode(animation, [(fmt, small_site.build / f"x.{fmt}")], site.settings)
    assert isinstance(result, TaskFailed)
    assert re.match(r"muscles/muscle_leg-soleus\.md:\d+: unreadable: ", str(result.message))
    assert not (small_site.build / f"x.{fmt}").exists()


@pytest.mark.parametrize("toml, message", [
    ('[animation]\nformats = ["gif", "apng"]', "[animation] formats: unknown format 'apng'"),
    ('[animation]\nmatte = "white"', "[animation] matte = 'white': write a colour as '#rrggbb'"),
    ('[gif]\ndither = "atkinson"', "[gif] dither = 'atkinson': use 'none', 'ordered' or 'floyd-steinberg'"),
    ("[webp]\nquality = 101", "[webp] quality = 101: must be from 0 to 100"),
    ('[mp4]\npreset = "fastest"', "[mp4] preset = 'fastest': use one of ultrafast"),
    ('[mp4]\ntune = "zerolatency"', "[mp4] tune = 'zerolatency': use one of none, ssim"),
])
def test_animation_settings_are_checked_when_read(small_site, toml, message):
    small_site.write_settings(toml)
    with pytest.raises(PipelineError) as error:
        small_site.settings()
    assert str(error.value).startswith(f"pipeline.toml: {message}")


def test_a_write_error_names_the_file_being_written(small_site, monkeypatch):
    from pipeline import encode

    def disk_full(*args):
        raise OSError(28, "No space left on device")
    monkeypatch.setitem(encode.ENCODERS, "webp", disk_full)
    site = small_site.site()
    animation = site.catalog.animations[0]
    gif, webp = small_site.build / "x.gif", small_site.build / "x.webp"
    result = run_encode(animation, [("gif", gif), ("webp", webp)], site.settings)
    assert f"\n{webp}: [Errno 28] No space left on device" in str(result)
    assert gif.exists() and not webp.exists()


def test_a_write_error_of_the_videos_names_both(small_site, monkeypatch):
    from pipeline import video

    def no_ffmpeg(*args):
        raise FileNotFoundError(2, "No such file or directory")
    monkeypatch.setattr(video, "write_videos", no_ffmpeg)
    site = small_site.site()
    webm, mp4 = small_site.build / "x.webm", small_site.build / "x.mp4"
    result = run_encode(site.catalog.animations[0], [("webm", webm), ("mp4", mp4)], site.settings)
    assert f"\n{webm}, {mp4}: [Errno 2] No such file or directory" in str(result)


def test_an_animation_named_in_capitals_is_built_under_that_name(site_folder):
    # `Y.GIF` is served as the page names it; the templates derive `Y.webm` and `Y.mp4`
    site_folder.add_animation("Shout", count=3, size=(24, 16))
    page = site_folder.pages / "muscles/muscle_shout.md"
    page.write_text(page.read_text().replace("muscles/gif/Shout.gif", "muscles/gif/Shout.GIF"))

    code, log = run(site_folder, "-n", "1")

    assert code == 0, log
    built = site_folder.build / "images" / "muscles" / "gif"
    assert sorted(p.name for p in built.iterdir()) == ["Shout.GIF", "Shout.mp4", "Shout.webm", "Shout.webp"]
    with Image.open(built / "Shout.GIF") as gif:
        assert (gif.format, gif.n_frames) == ("GIF", 3)


def test_the_same_animation_in_two_cases_is_a_clash_not_a_refusal_to_run(site_folder):
    site_folder.add_animation("Shout", count=3, size=(24, 16))
    page = site_folder.pages / "muscles/muscle_shout.md"
    (site_folder.pages / "zz.md").write_text(page.read_text().replace("muscles/gif/Shout.gif", "muscles/gif/Shout.GIF"))

    code, log = run(site_folder, "-n", "1")

    assert code != 0 and "duplicated definition" not in log and "common target" not in log, log
    verify = json.loads((site_folder.build / "verify.json").read_text())
    assert {p["reference"] for p in verify if p["code"] == "output-clash"} >= {"muscles/gif/Shout.webp"}
    sheets = sorted(p.name for p in (site_folder.build / "contact").iterdir())
    assert sheets == ["muscles_gif_Shout.png", "muscles_gif_Shout_2.png", "overview-1.png"]


def settings_checks(folder) -> dict[str, object]:
    """Each animation sub-task's settings check (its config), by `group:name`."""
    site = folder.site()
    return {f"{group}:{task['name']}": task["uptodate"][0].config
            for group in ("gif", "webp", "video") for task in site_tasks(site, group)}


@pytest.mark.parametrize("toml, redone", [
    ("[animation]\nloop = 3\n", {"gif", "webp"}),  # video loops in the page
    ("[animation]\nmatte = '#000000'\n", {"gif", "video"}),  # WebP keeps alpha
    ("[animation]\nfps = 10\n", {"gif", "webp", "video"}),
    ("[animation]\nbounce = true\n", {"gif", "webp", "video"}),
    ("[gif]\ndither = 'ordered'\n", {"gif"}),
    ("[webm]\ncrf = 30\n", {"video"}),
])
def test_each_setting_redoes_exactly_the_formats_it_shapes(small_site, toml, redone):
    before = settings_checks(small_site)
    small_site.write_settings(toml)
    after = settings_checks(small_site)
    changed = {name for name in before if before[name] != after[name]}
    assert {name.split(":")[0] for name in changed} == redone
    assert len(changed) == 2 * len(redone)  # both animations


def test_a_reordered_gallery_or_a_new_encoder_version_redoes_the_animation(small_site, monkeypatch):
    from pipeline import versions

    before = settings_checks(small_site)
    page = small_site.pages / "muscles" / "muscle_leg-soleus.md"
    page.write_text(page.read_text().replace("Leg-Soleus-1.png", "FIRST").replace("Leg-Soleus-2.png", "Leg-Soleus-1.png")
                    .replace("FIRST", "Leg-Soleus-2.png"))  # the same frames: only their order differs
    after = settings_checks(small_site)
    assert {name for name in before if before[name] != after[name]} == {
        "gif:images/muscles/gif/Leg-Soleus.gif", "webp:images/muscles/gif/Leg-Soleus.webp",
        "video:images/muscles/gif/Leg-Soleus.webm+mp4"}
    encoder = versions.encoder
    monkeypatch.setattr(versions, "encoder", lambda fmt, build: encoder(fmt, build) + ("-new" if fmt == "webp" else ""))
    newer = settings_checks(small_site)
    assert {name.split(":")[0] for name in after if after[name] != newer[name]} == {"webp"}


def test_the_matte_setting_is_what_gif_and_video_are_laid_over(small_site):
    small_site.write_settings("[animation]\nmatte = '#0000ff'\nformats = ['gif', 'mp4']\n")
    assert run(small_site, "-n", "1", "gif", "video")[0] == 0
    for suffix in ("gif", "mp4"):  # Arm-Biceps has a transparent background
        target = small_site.build / "images" / f"muscles/gif/Arm-Biceps.{suffix}"
        first = iio.imread(target, index=0, plugin="FFMPEG" if suffix == "mp4" else "pillow")
        red, green, blue = (int(c) for c in first[1, 1, :3])
        assert blue > 220 and red < 30 and green < 30, (suffix, red, green, blue)


def test_without_ffmpeg_the_videos_fail_naming_it_and_the_rest_builds(small_site, monkeypatch):
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(small_site.root / "no-ffmpeg-here"))
    code, log = run(small_site, "gif", "webp", "video")  # the tasks are still wired: no traceback
    assert code != 0 and "Traceback" not in log
    assert f"Leg-Soleus.mp4: [Errno 2] No such file or directory: '{small_site.root / 'no-ffmpeg-here'}'" in log
    assert all(path.stat().st_size > 0 for path in outputs(small_site, ("gif", "webp")))
    assert not any(path.exists() for path in outputs(small_site, VIDEO))
    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE")
    code, _ = run(small_site, "gif", "webp", "video")
    assert code == 0 and all(path.stat().st_size > 0 for path in outputs(small_site, VIDEO))


def test_with_no_ffmpeg_at_all_a_video_fails_with_imageio_ffmpeg_s_words(monkeypatch, tmp_path):
    import imageio_ffmpeg
    import numpy as np

    from pipeline import video
    from pipeline.problems import PipelineError
    from pipeline.settings import Mp4Settings
    from pipeline.timing import Timing

    def none_found():
        raise RuntimeError("No ffmpeg exe could be found.")
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", none_found)
    frames = [np.zeros((4, 4, 4), np.uint8)]
    with pytest.raises(PipelineError, match=r"^x\.mp4: No ffmpeg exe could be found\.$"):
        video.write_mp4(frames, tmp_path / "x.mp4", Mp4Settings(), Timing((0,), 8.0, 0), (255, 255, 255))
    assert list(tmp_path.iterdir()) == []
