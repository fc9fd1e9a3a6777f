from pipeline.catalog import build_catalog, frame_base, thumbnail_name, video_names
from pipeline.manifests import parse_page
from conftest import page_text


def catalog_of(*texts):
    return build_catalog(tuple(parse_page(t.encode(), f"p{i}.md") for i, t in enumerate(texts)))


def test_derived_names_follow_the_site_templates():
    assert thumbnail_name("muscles/png/Leg-Soleus-1.png") == "muscles/png/Leg-Soleus-1-thumb.png"
    assert video_names("muscles/gif/Leg-Soleus.gif") == ("muscles/gif/Leg-Soleus.webm", "muscles/gif/Leg-Soleus.mp4")
    assert frame_base("muscles/png/Leg-Soleus-12.png") == "Leg-Soleus"
    assert frame_base("muscles/png/Leg.png") is None


def test_one_animation_takes_the_gallery_in_manifest_order():
    frames = [f"m/png/Leg-{k}.png" for k in (3, 1, 2)]
    catalog = catalog_of(page_text("Leg", ["m/gif/Leg.gif"], frames))
    (animation,) = catalog.animations
    assert [f.image_url for f in animation.frames] == frames
    assert animation.title == "Leg" and animation.line == 6
    kinds = {(r.path, r.kind, r.source) for r in catalog.references}
    assert ("m/png/Leg-3-thumb.png", "thumbnail", "m/png/Leg-3.png") in kinds
    assert ("m/gif/Leg.webm", "video", "m/gif/Leg.gif") in kinds
    assert ("m/gif/Leg.mp4", "video", "m/gif/Leg.gif") in kinds
    assert catalog.problems == ()


def test_several_animations_match_frames_by_base_name_and_report_the_rest():
    frames = ["m/A-1.png", "m/B-1.png", "m/A-2.png", "m/C-1.png"]
    catalog = catalog_of(page_text("Two", ["g/A.gif", "g/B.gif"], frames))
    a, b = catalog.animations
    assert [f.image_url for f in a.frames] == ["m/A-1.png", "m/A-2.png"]
    assert [f.image_url for f in b.frames] == ["m/B-1.png"]
    (problem,) = catalog.problems
    assert (problem.code, problem.reference, problem.line) == ("unmatched-frame", "m/C-1.png", 25)


def test_one_animation_with_other_frame_names_uses_the_gallery_and_says_so():
    catalog = catalog_of(page_text("X", ["g/Thigh.gif"], ["m/Quad-1.png", "m/Quad-2.png"]))
    (animation,) = catalog.animations
    assert len(animation.frames) == 2
    (problem,) = catalog.problems
    assert problem.code == "unmatched-frame" and problem.reference == "g/Thigh.gif"


def test_duplicate_frame_is_a_warning_at_its_second_line():
    catalog = catalog_of(page_text("D", ["g/A.gif"], ["m/A-1.png", "m/A-2.png", "m/A-1.png"]))
    (problem,) = catalog.problems
    assert (problem.code, problem.severity, problem.line) == ("duplicate-reference", "warning", 18)
    assert "first at line 12" in problem.message


def test_non_gif_images_are_plain_references():
    catalog = catalog_of(page_text("S", ["pics/still.png"], []))
    assert catalog.animations == ()
    assert [(r.path, r.kind) for r in catalog.references] == [("pics/still.png", "image")]


def test_animations_of_one_name_in_two_folders_are_both_kept_with_their_own_frames():
    frames = ["a/png/X-1.png", "b/png/X-1.png", "a/png/X-2.png", "b/png/X-2.png"]
    catalog = catalog_of(page_text("Twins", ["a/gif/X.gif", "b/gif/X.gif"], frames))
    a, b = catalog.animations
    assert (a.name, a.line, [f.image_url for f in a.frames]) == ("a/gif/X.gif", 6, ["a/png/X-1.png", "a/png/X-2.png"])
    assert (b.name, b.line, [f.image_url for f in b.frames]) == ("b/gif/X.gif", 10, ["b/png/X-1.png", "b/png/X-2.png"])
    videos = {(r.path, r.source) for r in catalog.references if r.kind == "video"}
    assert videos == {(f"{d}/gif/X.{s}", f"{d}/gif/X.gif") for d in "ab" for s in ("webm", "mp4")}
    assert catalog.problems == ()


def test_a_frame_in_the_folder_of_one_of_two_namesakes_goes_to_that_one():
    catalog = catalog_of(page_text("Flat", ["a/X.gif", "b/X.gif"], ["b/X-1.png", "a/X-1.png"]))
    a, b = catalog.animations
    assert [f.image_url for f in a.frames] == ["a/X-1.png"]
    assert [f.image_url for f in b.frames] == ["b/X-1.png"]
    assert catalog.problems == ()


def test_a_frame_whose_folder_fits_no_namesake_is_reported_at_its_line_and_given_to_neither():
    frames = ["a/png/X-1.png", "png/X-1.png"]
    catalog = catalog_of(page_text("Twins", ["a/gif/X.gif", "b/gif/X.gif"], frames))
    a, b = catalog.animations
    assert [f.image_url for f in a.frames] == ["a/png/X-1.png"] and b.frames == ()
    (problem,) = catalog.problems
    assert str(problem) == (
        "p0.md:19: unmatched-frame: frame is not part of any animation: its name matches "
        "'a/gif/X.gif' (line 6), 'b/gif/X.gif' (line 10) and its folder does not tell which "
        "(a frame goes to the only one in its own folder, else to the only one in a folder "
        "beside it: 'a/png/X-1.png' -> 'a/gif/X.gif'); move the frame or rename it"
    )


def test_other_frames_on_a_second_page_are_a_warning_there_but_not_for_an_unsafe_name():
    frames = [f"m/png/Leg-{k}.png" for k in (1, 2, 3)]
    catalog = catalog_of(page_text("A", ["m/gif/Leg.gif", "../Up.gif"], frames + ["m/png/Up-1.png"]),
                         page_text("B", ["m/gif/Leg.gif", "../Up.gif"], frames[:2] + ["m/png/Up-2.png"]))
    warnings = [(p.page, p.line, p.reference, p.code) for p in catalog.problems]
    assert warnings == [("p1.md", 6, "m/gif/Leg.gif", "duplicate-reference")]
