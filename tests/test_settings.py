import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.problems import PipelineError
from pipeline.settings import load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline.toml"
    path.write_text(text)
    return path


def test_paths_are_relative_to_the_settings_file(tmp_path):
    settings = load_settings(write(tmp_path, '[paths]\npages = "p"\nimages = "i/img"\nbuild = "out"\n'))
    assert settings.pages_dir == (tmp_path / "p").resolve()
    assert settings.images_dir == (tmp_path / "i/img").resolve()
    assert settings.build_dir == (tmp_path / "out").resolve()


def test_defaults_fill_every_key(tmp_path):
    settings = load_settings(write(tmp_path, ""))
    assert settings.paths.pages == "raw/pages"
    assert settings.verify.strict is False
    assert settings.thumbnails.width == 200
    assert settings.frames.level == 10


@pytest.mark.parametrize("text, message", [
    ("[paths]\npagez = 'x'\n", "pipeline.toml: [paths] pagez: unknown key; known keys: pages, images, build"),
    ("[verify]\nstrict = 'yes'\n", "pipeline.toml: [verify] strict: expected true or false, got 'yes'"),
    ("[thumbnails]\nwidth = 2.5\n", "pipeline.toml: [thumbnails] width: expected an integer, got 2.5"),
    ("[thumbnails]\nwidths = [200, 'x']\n", "pipeline.toml: [thumbnails] widths[1]: expected an integer, got 'x'"),
    ("[paths]\npages = 3\n", "pipeline.toml: [paths] pages: expected a string, got 3"),
    ("paths = 3\n", "pipeline.toml: 'paths' must be a table [paths]"),
    ("[frames]\nlevel = 13\n", "pipeline.toml: [frames] level = 13: must be from 1 to 12"),
    ("[contact]\nbackground = 'white'\n", "pipeline.toml: [contact] background = 'white': write a colour as '#rrggbb'"),
    ("[animation]\nmatte = '#ffff'\n", "pipeline.toml: [animation] matte = '#ffff': write a colour as '#rrggbb'"),
    # two tasks would write one file, and doit would run none
    ("[animation]\nformats = ['gif', 'webp', 'gif']\n", "pipeline.toml: [animation] formats: 'gif' is listed twice"),
    ("[thumbnails]\nwidths = [400, 800, 400]\n", "pipeline.toml: [thumbnails] widths: 400 is listed twice"),
    ("[animation]\nfps = 60\n", "pipeline.toml: [animation] fps = 60.0: a GIF cannot show a frame for less than "
     "20 ms (browsers play shorter delays as 100 ms): at most 50, or take \"gif\" out of formats"),
    # a GIF delay longer than 655.35 s cannot be written
    ("[animation]\nfps = 0.001\n", "pipeline.toml: [animation] fps = 0.001: must be from 0.01 (a frame every 100 s) to 100"),
    # FreeType refuses it, in every sheet's task
    ("[contact]\nfont_size = 100000\n", "pipeline.toml: [contact] font_size must be at most 1000, got 100000"),
])
def test_wrong_keys_and_types_name_the_key(tmp_path, text, message):
    with pytest.raises(PipelineError) as error:
        load_settings(write(tmp_path, text))
    assert str(error.value) == message


def test_unknown_section_is_named(tmp_path):
    with pytest.raises(PipelineError, match=r"unknown section \[thumbs\]"):
        load_settings(write(tmp_path, "[thumbs]\nwidth = 1\n"))


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(PipelineError, match="not valid TOML"):
        load_settings(write(tmp_path, "[paths\n"))
    with pytest.raises(PipelineError, match="settings file not found"):
        load_settings(tmp_path / "nope.toml")


def test_a_settings_file_saved_with_a_bom_is_read_as_pages_are(tmp_path):
    config = tmp_path / "pipeline.toml"
    config.write_bytes(b"\xef\xbb\xbf[gif]\ncolors = 64\n")  # Notepad's UTF-8
    assert load_settings(config).gif.colors == 64


def test_a_settings_file_that_cannot_be_read_is_named(tmp_path):
    folder = tmp_path / "a-folder.toml"
    folder.mkdir()  # a folder where the file should be: is_file() is False
    with pytest.raises(PipelineError, match="settings file not found"):
        load_settings(folder)
    locked = write(tmp_path, "")
    locked.chmod(0o000)
    # root reads any file: without its overriding capability, not this one (util-linux's setpriv)
    as_root = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    if as_root and shutil.which("setpriv") is None:
        pytest.skip("running as root without util-linux's setpriv")
    done = subprocess.run([*as_root, sys.executable, "-m", "pipeline.cli", "--config", str(locked), "verify"],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (
        3, f"pipeline: {locked}: the settings file cannot be read: Permission denied\n")


@pytest.mark.parametrize("text, message", [
    ('[paths]\npages = "pages\\u0000x"\n', r"\[paths\] pages must name a folder \(not empty, no NUL byte\)"),
    ('[paths]\nbuild = ""\n', r"\[paths\] build must name a folder"),
    ("[verify]\nmax_pixels = 0\n", r"\[verify\] max_pixels must be at least 1, got 0"),
])
def test_settings_that_could_only_fail_later_are_refused_at_once(tmp_path, text, message):
    with pytest.raises(PipelineError, match=message):
        load_settings(write(tmp_path, text))


def test_no_settings_file_in_the_current_folder_is_an_error_not_the_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PipelineError, match="^pipeline.toml: settings file not found"):
        load_settings()
    (tmp_path / "pipeline.toml").write_text("")
    assert load_settings().paths.pages == "raw/pages"  # an empty file takes every default


def test_integer_accepted_where_a_number_is_expected(tmp_path):
    assert load_settings(write(tmp_path, "[animation]\nfps = 12\n")).animation.fps == 12.0
    assert load_settings(write(tmp_path, "[animation]\nfps = 50\n")).animation.fps == 50.0  # 20 ms GIF delays
    assert load_settings(write(tmp_path, "[animation]\nfps = 60\nformats = ['webm']\n")).animation.fps == 60.0


def test_a_gif_palette_needs_room_for_the_matte_and_transparency(tmp_path):
    with pytest.raises(PipelineError, match=r"\[gif\] colors"):
        load_settings(write(tmp_path, "[gif]\ncolors = 3\n"))
    assert load_settings(write(tmp_path, "[gif]\ncolors = 4\n")).gif.colors == 4


def test_mp4_crf_0_lossless_is_refused_browsers_do_not_play_it(tmp_path):
    """x264 refused it in every video sub-task ("high profile doesn't support lossless"), the
    WebM made in the same ffmpeg with it; and the High 4:4:4 profile it needs plays nowhere."""
    with pytest.raises(PipelineError, match=re.escape("[mp4] crf = 0 is lossless H.264, which browsers do not play")):
        load_settings(write(tmp_path, "[mp4]\ncrf = 0\n"))
    assert load_settings(write(tmp_path, "[mp4]\ncrf = 1\n")).mp4.crf == 1


@pytest.mark.parametrize("text, message", [
    ("[webm]\ncodec = 'h265'\n", "codec = 'h265': use 'av1' or 'vp9'"),
    ("[webm]\ncodec = 'vp9'\nspeed = 9\n", "speed"),  # libvpx stops at 8
    ("[webm]\ncrf = 0\n", "crf"),  # ffmpeg's SVT-AV1 would read 0 as 'unset'
])
def test_webm_codec_and_its_ranges(tmp_path, text, message):
    with pytest.raises(PipelineError, match=re.escape(message)):
        load_settings(write(tmp_path, text))
    assert load_settings(write(tmp_path, "[webm]\nspeed = 9\n")).webm.speed == 9  # an SVT-AV1 preset


def test_webm_defaults_follow_the_codec(tmp_path):
    assert (load_settings(write(tmp_path, "")).webm.crf, load_settings(write(tmp_path, "")).webm.speed) == (27, 6)
    vp9 = load_settings(write(tmp_path, "[webm]\ncodec = 'vp9'\n")).webm
    assert (vp9.crf, vp9.speed) == (32, 0)
    mine = load_settings(write(tmp_path, "[webm]\ncodec = 'vp9'\ncrf = 30\n")).webm
    assert (mine.crf, mine.speed) == (30, 0)


def test_an_added_setting_leaves_the_up_to_date_values_only_at_its_default():
    from pipeline.settings import Mp4Settings
    from pipeline.tasks.uptodate import section_values

    assert section_values(Mp4Settings(), added=("tune",)) == {"crf": 25, "preset": "slow"}
    assert section_values(Mp4Settings(tune="none"), added=("tune",))["tune"] == "none"
    assert section_values(Mp4Settings())["tune"] == "ssim"  # only the fields named are left out


def test_a_file_where_the_build_folder_would_be_is_named(tmp_path):
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "a.md").write_text("---\ntitle: a\n---\n")
    for build, blocking in (("pages/a.md", "pages/a.md"), ("pages/a.md/build", "pages/a.md")):
        with pytest.raises(PipelineError) as error:
            load_settings(write(tmp_path, f"[paths]\npages = 'pages'\nbuild = '{build}'\n"))
        assert str(error.value) == (f"pipeline.toml: [paths] build ({tmp_path / build}): "
                                    f"{tmp_path / blocking} exists and is not a folder")
