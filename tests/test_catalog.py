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
