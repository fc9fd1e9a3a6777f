"""Each verification code, planted alone in an otherwise clean site, with its page and line."""
import json
import os

import pytest
from PIL import Image

from pipeline.plan import output_plan
from pipeline.verify import verify_site
from pipeline.tasks.verify import run_verify
from conftest import page_text, write_frames

PAGE = "muscles/muscle_leg-soleus.md"


def problems_of(folder, **kwargs):
    return verify_site(folder.site(), **kwargs)


def only(problems, code):
    found = [p for p in problems if p.code == code]
    assert len(found) == 1, problems
    return found[0]


def frame_line(folder, url):
    """The line of the gallery entry naming `url` in the soleus page."""
    for number, text in enumerate((folder.pages / PAGE).read_text().splitlines(), 1):
        if text.strip() == f"- image_url: {url}":
            return number
    raise AssertionError(url)


def test_clean_site_has_no_problems(small_site):
    assert problems_of(small_site) == []


def test_missing_frame(small_site):
    url = "muscles/png/Leg-Soleus-5.png"
    (small_site.images / url).unlink()
    problem = only(problems_of(small_site), "missing")
    assert (problem.page, problem.line, problem.reference) == (PAGE, frame_line(small_site, url), url)
    assert problem.severity == "error"
    assert str(problem) == f"{PAGE}:{problem.line}: missing: gallery frame '{url}' does not exist under the image root"


def test_a_frame_that_is_a_folder_is_missing_and_said_to_be_a_folder(small_site):
    url = "muscles/png/Leg-Soleus-5.png"
    (small_site.images / url).unlink()
    (small_site.images / url).mkdir()
    problem = only(problems_of(small_site), "missing")
    assert (problem.line, problem.reference) == (frame_line(small_site, url), url)
    assert problem.message == (f"gallery frame '{url}' does not exist under the image root; "
                               "it is a folder: name an image file in it")


def test_a_frame_named_in_another_unicode_normal_form_is_missing_and_named(small_site):
    # the page says 'Leg-Sóleus' with one code point for 'ó' (NFC), the file has 'o' and a
    # combining accent (NFD), as macOS wrote names: they look the same
    nfc, nfd = "muscles/png/Leg-S\u00f3leus-5.png", "muscles/png/Leg-So\u0301leus-5.png"
    page = small_site.pages / PAGE
    page.write_text(page.read_text(encoding="utf-8").replace("muscles/png/Leg-Soleus-5.png", nfc), encoding="utf-8")
    (small_site.images / "muscles/png/Leg-Soleus-5.png").rename(small_site.images / nfd)
    problem = only(problems_of(small_site), "missing")
    assert (problem.line, problem.reference) == (frame_line(small_site, nfc), nfc)
    assert problem.message == (
        f"gallery frame '{nfc}' does not exist under the image root; '{nfd}' looks the same but "
        "writes its accented letters another way (Unicode NFC against NFD), and web servers tell "
        "them apart: rename the file or retype the name in the page")


def test_a_frame_whose_thumbnail_name_would_be_too_long_is_named_at_its_line(small_site):
    # 'Leg-S...-5.png' is 249 bytes and 'Leg-S...-5-thumb.png' 255, which fit; '...-thumb.webp' would be 256
    url, long = "muscles/png/Leg-Soleus-5.png", "muscles/png/Leg-" + "S" * 234 + "oleus-5.png"
    page = small_site.pages / PAGE
    line = frame_line(small_site, url)
    page.write_text(page.read_text().replace(f"image_url: {url}", f"image_url: {long}"))
    (small_site.images / url).rename(small_site.images / long)
    problems = [p for p in problems_of(small_site) if p.code == "name-too-long"]
    thumb = long[:-4] + "-thumb.webp"
    assert [(p.page, p.line, p.reference) for p in problems] == [(PAGE, line, thumb)]
    assert problems[0].message == (
        f"'{thumb.rpartition('/')[2]}' would be made for the gallery image '{long}', and its name is "
        "256 bytes long, over the 255 a file name may have: shorten the name, in the page and on disk")
    assert problems[0].severity == "error"


def test_a_frame_whose_name_differs_only_in_case_is_missing_and_named(small_site):
    # a Mac finds it, the web server does not
    url = "muscles/png/Leg-Soleus-5.png"
    (small_site.images / url).rename(small_site.images / "muscles/png/leg-soleus-5.png")
    problem = only(problems_of(small_site), "missing")
    assert (problem.line, problem.reference) == (frame_line(small_site, url), url)
    assert problem.message == (
        f"gallery frame '{url}' does not exist under the image root; 'muscles/png/leg-soleus-5.png' "
        "differs only in case, and web servers tell them apart: rename the file or correct the page")


def test_a_file_two_makers_would_write_is_a_clash_at_the_later_page_line(small_site):
    Image.new("RGB", (8, 8)).save(small_site.images / "muscles/png/Arm-Biceps-1.jpg")
    (small_site.pages / "zz.md").write_text(page_text("Twins", [], ["muscles/png/Arm-Biceps-1.jpg"]))
    problem = only(problems_of(small_site), "output-clash")
    first = next(n for n, text in enumerate((small_site.pages / "muscles/muscle_arm-biceps.md").read_text().splitlines(), 1)
                 if text.endswith("Arm-Biceps-1.png"))
    assert str(problem) == (
        "zz.md:8: output-clash: 'muscles/png/Arm-Biceps-1-thumb.webp' would be written for the gallery "
        "image 'muscles/png/Arm-Biceps-1.jpg' and for the gallery image 'muscles/png/Arm-Biceps-1.png' "
        f"(muscles/muscle_arm-biceps.md:{first}): it is built for the latter only; rename one of them")
    assert problem.severity == "error"


def test_one_clash_of_two_makers_is_one_problem_naming_every_file(small_site):
    small_site.write_settings("[thumbnails]\nwidths = [32, 48]\n")
    Image.new("RGB", (8, 8)).save(small_site.images / "muscles/png/Arm-Biceps-1.jpg")
    (small_site.pages / "zz.md").write_text(page_text("Twins", [], ["muscles/png/Arm-Biceps-1.jpg"]))
    problem = only(problems_of(small_site), "output-clash")
    assert problem.message.startswith(
        "'muscles/png/Arm-Biceps-1-thumb.webp', 'muscles/png/Arm-Biceps-1-32w.webp', "
        "'muscles/png/Arm-Biceps-1-48w.webp' would be written for the gallery image")
    assert "they are built for the latter only" in problem.message


def test_missing_derived_files_are_fine_when_their_sources_exist(small_site):
    # nothing under muscles/gif exists and no -thumb.png either: all can be made
    assert not (small_site.images / "muscles/gif").exists()
    assert problems_of(small_site) == []


def test_animation_without_frames_and_without_file_is_missing(site_folder):
    page = site_folder.pages / "p.md"
    page.write_text(page_text("P", ["muscles/gif/Lonely.gif"], []))
    problems = problems_of(site_folder)
    assert {(p.code, p.reference, p.line) for p in problems} == {
        ("missing", "muscles/gif/Lonely.gif", 6),
        ("missing", "muscles/gif/Lonely.webm", 6),
        ("missing", "muscles/gif/Lonely.mp4", 6),
    }


@pytest.mark.parametrize("damage, text", [
    (lambda p: p.write_bytes(b""), "is empty (0 bytes)"),
    (lambda p: p.write_bytes(p.read_bytes()[:-30]), "is truncated: the PNG end marker (IEND) is missing"),
    (lambda p: Image.new("RGB", (64, 48)).save(p, format="JPEG"), "is not a PNG file (it looks like JPEG)"),
    (lambda p: p.write_text("not an image"), "is not a PNG file"),
])
def test_unreadable_frame(small_site, damage, text):
    url = "muscles/png/Leg-Soleus-3.png"
    damage(small_site.images / url)
    problem = only(problems_of(small_site), "unreadable")
    assert (problem.page, problem.line, problem.reference) == (PAGE, frame_line(small_site, url), url)
    assert problem.message == f"'{url}' {text}"


def test_deep_decode_finds_what_headers_miss(small_site):
    url = "muscles/png/Leg-Soleus-2.png"
    path = small_site.images / url
    data = bytearray(path.read_bytes())
    start = data.index(b"IDAT") + 8
    data[start:start + 40] = b"\x00" * 40
    path.write_bytes(bytes(data))
    assert problems_of(small_site) == []
    problem = only(problems_of(small_site, deep=True), "unreadable")
    assert problem.line == frame_line(small_site, url)


def test_frames_of_another_size(small_site):
    url = "muscles/png/Leg-Soleus-7.png"
    Image.new("RGB", (80, 48), "white").save(small_site.images / url)
    problem = only(problems_of(small_site), "inconsistent-frames")
    assert (problem.page, problem.line) == (PAGE, frame_line(small_site, url))
    assert "is 80x48 but 'muscles/png/Leg-Soleus-1.png'" in problem.message


@pytest.mark.parametrize("stored, orientation, consistent", [
    ((64, 48), 6, False),  # shown 48x64 among 64x48 frames
    ((48, 64), 6, True),  # stored on its side, shown 64x48 like the others
])
def test_frame_sizes_are_compared_as_browsers_show_them(site_folder, stored, orientation, consistent):
    frames = []
    for k in range(1, 5):
        exif = Image.Exif()
        if k == 2:
            exif[0x0112] = orientation
        Image.new("RGB", stored if k == 2 else (64, 48), "white").save(
            site_folder.images / f"P-{k}.jpg", "JPEG", exif=exif)
        frames.append(f"P-{k}.jpg")
    (site_folder.pages / "p.md").write_text(page_text("P", ["P.gif"], frames))
    problems = [p for p in problems_of(site_folder) if p.code == "inconsistent-frames"]
    if consistent:
        assert problems == []
    else:
        (problem,) = problems
        lines = (site_folder.pages / "p.md").read_text().splitlines()
        assert (problem.line, problem.reference) == (lines.index("  - image_url: P-2.jpg") + 1, "P-2.jpg")
        assert "is 48x64 but 'P-1.jpg'" in problem.message


def test_differing_modes_are_not_a_problem(small_site):
    for k, mode in ((2, "L"), (3, "P"), (4, "RGBA"), (5, "LA")):
        path = small_site.images / f"muscles/png/Leg-Soleus-{k}.png"
        Image.open(path).convert(mode).save(path)
    assert problems_of(small_site) == []


def with_frame_4_written(folder, written: str):
    """(its line, the problems) once the soleus page names its frame 4 as `written`."""
    page = folder.pages / PAGE
    url = "muscles/png/Leg-Soleus-4.png"
    line = frame_line(folder, url)
    page.write_text(page.read_text().replace(f"image_url: {url}", f"image_url: {written}"))
    return line, problems_of(folder)


@pytest.mark.parametrize("bad", [
    "../outside/Leg-Soleus-4.png", "/etc/passwd", "https://example.org/a.png",
    "file:///etc/passwd", "muscles/../../x.png",
])
def test_unsafe_references_are_reported_and_never_opened(small_site, bad):
    line, problems = with_frame_4_written(small_site, bad)
    problem = only(problems, "unsafe-path")
    assert (problem.page, problem.line, problem.reference) == (PAGE, line, bad)
    assert "it is not opened" in problem.message


@pytest.mark.parametrize("written, name, shown, code_point", [
    ('"muscles/png/Leg-Soleus-\\n4.png"', "muscles/png/Leg-Soleus-\n4.png", "muscles/png/Leg-Soleus-\\n4.png", "000A"),
    ('"muscles/png/Leg-\\tSoleus-4.png"', "muscles/png/Leg-\tSoleus-4.png", "muscles/png/Leg-\\tSoleus-4.png", "0009"),
])
def test_a_control_character_in_a_name_is_one_problem_on_one_line(small_site, written, name, shown, code_point):
    line, problems = with_frame_4_written(small_site, written)
    problem = only(problems, "unsafe-path")
    assert (problem.page, problem.line, problem.reference) == (PAGE, line, name)
    # not also 'unmatched-frame' (its name fits no animation), nor 'missing' for its thumbnail;
    # the file of the name it should have is there, and not listed
    assert sorted(p.code for p in problems) == ["unlisted-frame", "unsafe-path"]
    assert str(problem) == (f"{PAGE}:{line}: unsafe-path: '{shown}' contains a control character "
                            f"(U+{code_point}); remove it; it is not opened")


def test_symlink_leading_outside_the_image_root(small_site, tmp_path):
    outside = tmp_path / "secret.png"
    Image.new("RGB", (64, 48)).save(outside)
    url = "muscles/png/Leg-Soleus-6.png"
    (small_site.images / url).unlink()
    os.symlink(outside, small_site.images / url)
    problem = only(problems_of(small_site), "unsafe-path")
    assert (problem.line, problem.reference) == (frame_line(small_site, url), url)
    assert "symlink that leads outside" in problem.message


def test_symlink_inside_the_root_is_fine(small_site):
    url = "muscles/png/Leg-Soleus-6.png"
    target = small_site.images / "muscles/png/Leg-Soleus-1.png"
    (small_site.images / url).unlink()
    os.symlink(target, small_site.images / url)
    assert problems_of(small_site) == []


def test_bad_manifest_keeps_its_yaml_line(small_site):
    (small_site.pages / "broken.md").write_text("---\ntitle: x\ngallery:\n  - image_url: [oops\n---\n")
    problem = only(problems_of(small_site), "bad-manifest")
    assert (problem.page, problem.line) == ("broken.md", 4)


def test_duplicate_frame(small_site):
    page = small_site.pages / PAGE
    text = page.read_text().replace("image_url: muscles/png/Leg-Soleus-9.png", "image_url: muscles/png/Leg-Soleus-8.png")
    page.write_text(text)
    problems = problems_of(small_site)
    duplicate = only(problems, "duplicate-reference")
    assert duplicate.severity == "warning"
    assert duplicate.line == frame_line(small_site, "muscles/png/Leg-Soleus-8.png") + 3
    unlisted = only(problems, "unlisted-frame")  # -9 is now on disk but not listed
    assert unlisted.reference == "muscles/png/Leg-Soleus-9.png"


def test_unlisted_frame_and_gap(small_site):
    write_frames(small_site.images, "Leg-Soleus", 18)  # adds -17 and -18
    problems = problems_of(small_site)
    assert [(p.code, p.reference) for p in problems] == [
        ("unlisted-frame", "muscles/png/Leg-Soleus-17.png"),
        ("unlisted-frame", "muscles/png/Leg-Soleus-18.png"),
    ]
    assert {p.line for p in problems} == {frame_line(small_site, "muscles/png/Leg-Soleus-1.png") - 1}


def test_frames_in_a_folder_the_pages_reach_through_a_symlink_are_no_orphans(small_site):
    # muscles/png is a link to the folder where the renders really are, png-v2
    png = small_site.images / "muscles/png"
    png.rename(small_site.images / "muscles/png-v2")
    png.symlink_to("png-v2")
    (small_site.images / "muscles/png-v2/stray.png").write_bytes((small_site.images / "muscles/png-v2/Leg-Soleus-1.png").read_bytes())
    problem = only(problems_of(small_site), "orphan")  # the one file no page names, under either name
    assert problem.reference == "muscles/png-v2/stray.png"


def test_orphan_images_but_not_pipeline_outputs(small_site):
    Image.new("RGB", (4, 4)).save(small_site.images / "stray.png")
    for built in ("muscles/gif/Leg-Soleus.webp", "muscles/png/Leg-Soleus-1-thumb.webp"):
        (small_site.images / built).parent.mkdir(exist_ok=True)
        Image.new("RGB", (4, 4)).save(small_site.images / built)
    problem = only(problems_of(small_site), "orphan")
    assert (problem.page, problem.line, problem.reference, problem.severity) == (None, None, "stray.png", "warning")
    assert str(problem) == "stray.png: orphan: 'stray.png' is not referenced by any page"
    small_site.write_settings("[verify]\norphans = false\n")
    assert problems_of(small_site) == []


def test_max_pixels_is_the_limit_verify_and_the_encoders_refuse_above(small_site):
    from pipeline.tasks.animations import run_encode

    small_site.write_settings("[verify]\nmax_pixels = 3000\n")  # the frames are 64x48: 3,072
    url = "muscles/png/Leg-Soleus-1.png"
    problem = [p for p in problems_of(small_site) if p.reference == url][0]
    assert str(problem) == (f"{PAGE}:{frame_line(small_site, url)}: unreadable: '{url}' claims 64x48 pixels, "
                            "more than the limit of 3,000; refused unread (a decompression bomb or a wrong header)")
    site = small_site.site()
    animation = next(a for a in site.catalog.animations if "Leg-Soleus" in a.name)
    failed = run_encode(animation, [("gif", small_site.build / "x.gif")], site.settings)
    assert str(problem) in failed.message
    small_site.write_settings("[verify]\nmax_pixels = 3072\n")
    assert problems_of(small_site) == []


def test_each_verify_setting_makes_verify_look_again(small_site):
    from pipeline.tasks import generators

    def settings_check(extra):
        small_site.write_settings(extra)
        return generators(small_site.site())["task_verify"]()["uptodate"][0].config

    before = settings_check("")
    for extra in ("[verify]\nstrict = true\n", "[verify]\norphans = false\n", "[verify]\nmax_pixels = 5000\n"):
        assert settings_check(extra) != before, extra



def test_existing_derived_file_that_is_corrupt_is_unreadable(small_site):
    (small_site.images / "muscles/gif").mkdir()
    (small_site.images / "muscles/gif/Leg-Soleus.gif").write_bytes(b"GIF89a\x10\x00")
    problem = only(problems_of(small_site), "unreadable")
    assert problem.reference == "muscles/gif/Leg-Soleus.gif" and "header is cut short" in problem.message


def test_task_action_writes_verify_json_and_fails_only_on_errors(small_site, capsys):
    Image.new("RGB", (4, 4)).save(small_site.images / "stray.png")
    assert set(run_verify(small_site.site())) == {"fingerprint", "deep"}  # a warning alone passes
    small_site.write_settings("[verify]\nstrict = true\n")
    assert "0 errors, 1 warnings" in str(run_verify(small_site.site()))  # TaskFailed under strict
    (small_site.images / "muscles/png/Leg-Soleus-1.png").unlink()
    small_site.write_settings("")
    failed = run_verify(small_site.site())
    assert "1 errors, 1 warnings" in str(failed)
    report = json.loads((small_site.build / "verify.json").read_text())
    assert {tuple(sorted(r)) for r in report} == {("code", "line", "message", "page", "reference", "severity")}
    assert [r["code"] for r in report] == ["missing", "orphan"]
    assert report[1]["page"] is None and report[1]["reference"] == "stray.png"
    assert f"{PAGE}:" in capsys.readouterr().err


def test_gap_in_the_numbering(small_site):
    page = small_site.pages / PAGE
    gallery_line = frame_line(small_site, "muscles/png/Leg-Soleus-1.png") - 1
    lines = page.read_text().splitlines(keepends=True)
    start = frame_line(small_site, "muscles/png/Leg-Soleus-7.png") - 1
    page.write_text("".join(lines[:start] + lines[start + 3:]))  # drop frame 7's entry
    (small_site.images / "muscles/png/Leg-Soleus-7.png").unlink()
    problem = only(problems_of(small_site), "frame-gap")
    assert (problem.page, problem.line, problem.severity) == (PAGE, gallery_line, "warning")
    assert problem.message == ("the frames of 'Leg-Soleus' skip number 7: 'muscles/png/Leg-Soleus-7.png' "
                               "is neither listed nor on disk")


def test_a_run_of_missing_numbers_is_one_gap_however_long(site_folder):
    urls = write_frames(site_folder.images, "Stamp", 3)
    (site_folder.images / urls[1]).rename(site_folder.images / "muscles/png/Stamp-20240101120000.png")
    (site_folder.images / urls[2]).rename(site_folder.images / "muscles/png/Stamp-20240101120004.png")
    (site_folder.pages / "muscle_stamp.md").write_text(page_text("Stamp", ["muscles/gif/Stamp.gif"], [
        urls[0], "muscles/png/Stamp-20240101120000.png", "muscles/png/Stamp-20240101120004.png"]))
    gaps = [p for p in problems_of(site_folder) if p.code == "frame-gap"]  # at once: not a set of 20 trillion
    assert [p.message for p in gaps] == [
        "the frames of 'Stamp' skip numbers 2 to 20240101119999: 'muscles/png/Stamp-2.png' to "
        "'muscles/png/Stamp-20240101119999.png' are neither listed nor on disk",
        "the frames of 'Stamp' skip numbers 20240101120001 to 20240101120003: 'muscles/png/Stamp-20240101120001.png' "
        "to 'muscles/png/Stamp-20240101120003.png' are neither listed nor on disk"]


def test_frames_of_one_sequence_in_several_formats_leave_no_gap(site_folder):
    urls = write_frames(site_folder.images, "Mixed", 4)
    Image.open(site_folder.images / urls[1]).convert("RGB").save(site_folder.images / "muscles/png/Mixed-2.jpg")
    (site_folder.images / urls[1]).unlink()
    (site_folder.pages / "muscle_mixed.md").write_text(page_text("Mixed", ["muscles/gif/Mixed.gif"], [
        urls[0], "muscles/png/Mixed-2.jpg", *urls[2:]]))
    assert [p for p in problems_of(site_folder) if p.code in ("frame-gap", "unlisted-frame")] == []


@pytest.mark.parametrize("name", ["muscles/gif/.Hidden.gif", "muscles/.gif/Hidden.gif"])
def test_an_animation_with_a_hidden_name_is_missing_as_the_site_sees_it_and_not_built(site_folder, name):
    urls = write_frames(site_folder.images, "Hidden", 3)
    (site_folder.pages / "muscle_hidden.md").write_text(page_text("Hidden", [name], urls))
    problems = [p for p in problems_of(site_folder) if p.code != "unmatched-frame"]
    assert [(p.code, p.line, p.reference) for p in problems] == [("missing", 6, name)]  # not its .webm, .mp4
    assert problems[0].message.endswith("a name starting with '.' is hidden: Jekyll does not publish it and the "
                                        "pipeline does not read it, so rename it")
    site = site_folder.site()
    assert not [path for path in output_plan(site.catalog, site.settings).makers if path.startswith(name[:-4])]


def test_verify_task_is_up_to_date_until_a_page_or_image_changes(small_site):
    from pipeline.tasks.verify import unchanged_since_last_pass, verify_task

    class Task:  # what doit hands an uptodate callable: only `options` is read
        options = {}

    site = small_site.site()
    check, folders = verify_task(site)["uptodate"][1]
    values = run_verify(site)
    assert check(Task, values, *folders)
    Task.options = {"deep": True}
    assert not check(Task, values, *folders)  # --deep asks for what the last pass did not do
    assert check(Task, run_verify(site, deep=True), *folders)
    Task.options = {}
    frame = small_site.images / "muscles/png/Leg-Soleus-2.png"
    frame.write_bytes(frame.read_bytes()[:-1] + b"\x00")
    assert not check(Task, values, *folders)
    values = run_verify(site)  # the pass now finds the frame truncated: a failure saves nothing
    assert "1 errors" in str(values)


def test_a_page_linked_from_outside_the_pages_folder_is_checked_again_when_edited(small_site, tmp_path):
    """Pages are read through links from anywhere; the check recorded such a link by where it
    points only, so an edit to the page (a frame listed twice) went unseen until a clean build."""
    from pipeline.tasks.verify import verify_task

    class Task:
        options = {}

    page = small_site.pages / "muscles" / "muscle_leg-soleus.md"
    elsewhere = tmp_path / "elsewhere.md"
    elsewhere.write_text(page.read_text())
    page.unlink()
    page.symlink_to(elsewhere)
    site = small_site.site()
    check, folders = verify_task(site)["uptodate"][1]
    values = run_verify(site)
    assert check(Task, values, *folders)
    elsewhere.write_text(elsewhere.read_text().replace(
        "  - image_url: muscles/png/Leg-Soleus-2.png", "  - image_url: muscles/png/Leg-Soleus-1.png", 1))
    assert not check(Task, values, *folders)
    assert "duplicate-reference" in {p.code for p in problems_of(small_site)}


def test_a_video_the_site_plays_but_no_format_builds_is_missing(small_site):
    small_site.write_settings('[animation]\nformats = ["gif", "webp", "mp4"]\n')
    missing = [p for p in problems_of(small_site) if p.code == "missing"]
    assert {p.reference for p in missing} == {"muscles/gif/Leg-Soleus.webm", "muscles/gif/Arm-Biceps.webm"}
    assert all('add "webm" to [animation] formats' in p.message and p.line == 6 for p in missing)


def test_a_broken_frame_named_by_two_pages_is_reported_on_each(small_site):
    url = "muscles/png/Leg-Soleus-5.png"
    (small_site.pages / "overview.md").write_text(page_text("Overview", [], [url]))
    (small_site.images / url).unlink()
    missing = [p for p in problems_of(small_site) if p.code == "missing"]
    assert [(p.page, p.line, p.reference) for p in missing] == [
        (PAGE, frame_line(small_site, url), url),
        ("overview.md", 8, url),  # its gallery's first entry
    ]


def test_an_animation_given_other_frames_by_a_second_page_is_a_warning_there(small_site):
    frames = [f"muscles/png/Leg-Soleus-{k}.png" for k in range(1, 9)]
    (small_site.pages / "overview.md").write_text(page_text("Overview", ["muscles/gif/Leg-Soleus.gif"], frames))
    (small_site.pages / "same.md").write_text(
        page_text("Same", ["muscles/gif/Leg-Soleus.gif"], [f"muscles/png/Leg-Soleus-{k}.png" for k in range(1, 17)]))
    problem = only(problems_of(small_site), "duplicate-reference")
    assert (problem.page, problem.line, problem.severity) == ("overview.md", 6, "warning")
    assert problem.message == ("'muscles/gif/Leg-Soleus.gif' is also made at muscles/muscle_leg-soleus.md:6, "
                               "from other gallery frames; its files are made from that page's frames, not from these")


def test_a_clean_pass_runs_again_when_the_planned_formats_change(small_site):
    from tests.test_animation_tasks import executed, run

    assert run(small_site, "verify")[0] == 0
    code, log = run(small_site, "--reporter", "executed-only", "verify")
    assert (code, executed(log)) == (0, [])  # remembered
    small_site.write_settings('[animation]\nformats = ["gif"]\n')

    code, _ = run(small_site, "verify")

    assert code != 0  # Y.webm and Y.mp4, which the site plays, are built no more
    found = json.loads((small_site.build / "verify.json").read_text())
    assert {(p["code"], p["reference"]) for p in found} >= {("missing", "muscles/gif/Leg-Soleus.webm")}


def test_a_clean_pass_runs_again_when_the_webm_codec_changes(site_folder):
    """8 px frames fit VP9 but not AV1: the codec changes the verdict (`unencodable`)."""
    from tests.test_animation_tasks import run

    site_folder.add_animation("Tiny", count=4, size=(8, 8))
    site_folder.write_settings('[webm]\ncodec = "vp9"\n')
    assert run(site_folder, "verify")[0] == 0
    site_folder.write_settings('[webm]\ncodec = "av1"\n')

    assert run(site_folder, "verify")[0] != 0
    found = json.loads((site_folder.build / "verify.json").read_text())
    assert [(p["code"], p["line"]) for p in found] == [("unencodable", 6)]


def test_a_clean_pass_runs_again_when_a_linked_frame_s_file_changes(small_site):
    """The link is the same, its file is not, even kept in a folder verify does not walk."""
    from tests.test_animation_tasks import run

    frame = small_site.images / "muscles/png/Leg-Soleus-2.png"
    (small_site.images / ".renders").mkdir()
    kept = small_site.images / ".renders/Leg-Soleus-2.png"
    frame.rename(kept)
    frame.symlink_to("../../.renders/Leg-Soleus-2.png")
    assert run(small_site, "verify")[0] == 0
    Image.new("RGB", (40, 32), "red").save(kept)  # another size than the other frames

    assert run(small_site, "verify")[0] != 0
    found = json.loads((small_site.build / "verify.json").read_text())
    assert [(p["code"], p["line"]) for p in found] == [("inconsistent-frames", frame_line(small_site, "muscles/png/Leg-Soleus-2.png"))]


def test_an_svg_the_page_names_is_fine_and_a_cut_one_is_unreadable(small_site):
    page = small_site.pages / "diagram.md"
    page.write_text(page_text("Diagram", ["diagrams/leg.svg"], []))
    (small_site.images / "diagrams").mkdir()
    svg = small_site.images / "diagrams/leg.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle r="4"/></svg>\n')
    assert problems_of(small_site) == []
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle r="4"/>')
    problem = only(problems_of(small_site), "unreadable")
    assert (problem.page, problem.line) == ("diagram.md", 6)
    assert problem.message == "'diagrams/leg.svg' is truncated: the closing </svg> tag is missing"


def test_a_gallery_frame_must_be_a_still_image_the_pipeline_decodes(small_site):
    url = "muscles/png/Leg-Soleus-5.png"
    svg = url.replace(".png", ".svg")
    (small_site.images / svg).write_text('<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>\n')
    page = small_site.pages / PAGE
    page.write_text(page.read_text().replace(url, svg))
    errors = [p for p in problems_of(small_site) if p.is_error]  # no inconsistent-frames besides
    assert [(p.page, p.line, p.reference, p.code) for p in errors] == [
        (PAGE, frame_line(small_site, svg), svg, "unreadable")]
    assert errors[0].message == (f"'{svg}' is not named as a gallery image can be: PNG, JPEG, WebP or GIF, "
                                 "as .png, .jpg, .jpeg, .webp, .gif")
    jfif = url.replace(".png", ".jfif")  # a JPEG under a name its thumbnail cannot be written by
    Image.open(small_site.images / url).convert("RGB").save(small_site.images / jfif, "JPEG")
    page.write_text(page.read_text().replace(svg, jfif))
    errors = [p for p in problems_of(small_site) if p.is_error]
    assert [(p.reference, p.code) for p in errors] == [(jfif, "unreadable")]


def test_an_animation_a_page_names_without_frames_is_fine_when_another_page_gives_it_frames(small_site):
    (small_site.pages / "a_first.md").write_text(page_text("Overview", ["muscles/gif/Leg-Soleus.gif"], []))
    assert problems_of(small_site) == []
    (small_site.pages / "a_first.md").write_text(page_text("Overview", ["muscles/gif/Lonely.gif"], []))
    assert {(p.code, p.page, p.reference) for p in problems_of(small_site)} == {
        ("missing", "a_first.md", f"muscles/gif/Lonely.{suffix}") for suffix in ("gif", "webm", "mp4")}


@pytest.mark.parametrize("value", ["false", "no", "False"])
def test_an_unpublished_page_is_left_out_and_its_files_are_no_orphans(small_site, value, capsys):
    page = small_site.pages / PAGE
    text = page.read_text().replace("layout: page", f"layout: page\npublished: {value}")
    page.write_text(text.replace("Leg-Soleus-5.png", "Leg-Soleus-99.png"))  # missing: not checked
    (small_site.images / "muscles/png/Leg-Soleus-5.png").unlink()
    (small_site.images / "muscles/png/Leg-Soleus-1-thumb.png").write_bytes(b"the site's own thumbnail")
    site = small_site.site()
    assert [p.path for p in site.catalog.unpublished] == [PAGE]
    assert all("Leg-Soleus" not in a.name for a in site.catalog.animations)
    assert problems_of(small_site) == []  # its frames, thumbnail and broken entry: neither errors nor orphans
    assert run_verify(site)["deep"] is False  # passed
    assert "verify: 1 pages (and 1 unpublished, left out), 16 gallery frames: 0 errors" in capsys.readouterr().err


def test_published_as_text_or_true_is_published(small_site):
    page = small_site.pages / PAGE
    for value in ("'false'", "true"):  # Jekyll leaves out a page only for the boolean false
        page.write_text(page.read_text().replace("layout: page\n", f"layout: page\npublished: {value}\n", 1))
        site = small_site.site()
        assert site.catalog.unpublished == ()
        assert any("Leg-Soleus" in a.name for a in site.catalog.animations)
        page.write_text(page.read_text().replace(f"published: {value}\n", ""))


def test_a_name_jekyll_leaves_out_of_the_site_is_a_warning(site_folder):
    """Jekyll does not publish a folder or file whose name starts with '_', '#' or '~',
    or ends with '~' (a backup: `Leg~.gif` is published, a folder `gif~` is not): the files
    are built, and every link to them finds nothing."""
    frames = write_frames(site_folder.images, "_Under", 2)
    (site_folder.images / "_drafts").mkdir()
    Image.new("RGB", (8, 8)).save(site_folder.images / "_drafts" / "Leg-2.png")
    write_frames(site_folder.images, "Leg", 1)
    (site_folder.pages / "under.md").write_text(page_text("Under", ["muscles/gif/#Hash.gif"], frames))
    (site_folder.pages / "leg.md").write_text(page_text(
        "Leg", ["muscles/gif~/Leg.gif"], ["muscles/png/Leg-1.png", "_drafts/Leg-2.png"]))
    problems = [p for p in problems_of(site_folder) if p.code == "skipped-by-jekyll"]
    assert [(p.page, p.line, p.reference, p.severity) for p in problems] == [
        ("leg.md", 6, "muscles/gif~/Leg.gif", "warning"), ("leg.md", 15, "_drafts/Leg-2.png", "warning"),
        ("under.md", 6, "muscles/gif/#Hash.gif", "warning"),
        ("under.md", 12, "muscles/png/_Under-1.png", "warning"), ("under.md", 15, "muscles/png/_Under-2.png", "warning")]
    assert problems[1].message == (
        "Jekyll leaves '_drafts' out of the site it builds (a name that starts with '_', '#' or '~', "
        "or ends with '~'), so links to '_drafts/Leg-2.png' find nothing there: rename it, or list it "
        "under 'include:' in the site's _config.yml")


def test_a_name_with_a_percent_escape_is_a_warning_that_jekyll_renames_it(site_folder):
    """Jekyll copies `a%20b.gif` into the site as `a b.gif`: every link to it finds nothing."""
    frames = write_frames(site_folder.images, "Arm%20Biceps", 4)
    write_frames(site_folder.images, "Leg 100%", 4)  # a lone '%' is kept by Jekyll
    (site_folder.pages / "arm.md").write_text(page_text("Arm", ["muscles/gif/Arm%20Biceps.gif"], frames))
    (site_folder.pages / "leg.md").write_text(page_text(
        "Leg", ["muscles/gif/Leg 100%.gif"], [f"muscles/png/Leg 100%-{k}.png" for k in range(1, 5)]))
    problems = problems_of(site_folder)
    assert {p.code for p in problems} == {"renamed-by-jekyll"}
    assert [(p.page, p.line, p.reference, p.severity) for p in problems] == [
        ("arm.md", line, name, "warning") for line, name in
        [(6, "muscles/gif/Arm%20Biceps.gif"), *((12 + 3 * k, url) for k, url in enumerate(frames))]]
    assert problems[0].message == (
        "Jekyll publishes 'muscles/gif/Arm%20Biceps.gif' as 'muscles/gif/Arm Biceps.gif', so links to it find "
        "nothing on the site: rename the file, and the page's name for it, without '%' before two hex digits")
