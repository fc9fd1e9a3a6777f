"""Output names: what the site's templates ask for, and the contact sheets' names."""
from conftest import page_text, write_frames
from pipeline import plan
from pipeline.settings import ContactSettings


def test_every_format_of_an_animation_is_named_after_its_gif(small_site):
    small_site.write_settings('[animation]\nformats = ["gif", "webp", "webm", "mp4", "avif"]\n')
    site = small_site.site()
    animation = site.catalog.animations[0]
    outputs = plan.animation_outputs(animation, site.settings)
    stem = animation.name.removesuffix(".gif")
    assert [(o.path, o.kind) for o in outputs] == [
        (f"{stem}.gif", "gif"), (f"{stem}.webp", "webp"), (f"{stem}.webm", "webm"),
        (f"{stem}.mp4", "mp4"), (f"{stem}.avif", "avif")]
    assert all(o.sources == tuple(f.image_url for f in animation.frames) for o in outputs)


def test_thumbnails_png_webp_and_srcset_widths(small_site):
    small_site.write_settings("[thumbnails]\nwidth = 120\nwidths = [320, 640]\n")
    settings = small_site.settings()
    outputs = plan.thumbnail_outputs("muscles/png/Leg-Soleus-3.png", settings)
    assert [(o.path, o.kind, o.width) for o in outputs] == [
        ("muscles/png/Leg-Soleus-3-thumb.png", "thumbnail", 120),
        ("muscles/png/Leg-Soleus-3-thumb.webp", "thumbnail-webp", 120),
        ("muscles/png/Leg-Soleus-3-320w.webp", "srcset", 320),
        ("muscles/png/Leg-Soleus-3-640w.webp", "srcset", 640)]


def test_a_webp_gallery_image_gets_one_webp_thumbnail(small_site):
    outputs = plan.thumbnail_outputs("stills/Arm.webp", small_site.settings())
    assert [o.path for o in outputs] == ["stills/Arm-thumb.webp"]


def test_planned_outputs_leave_out_unsafe_names_and_list_frames_once(small_site):
    frames = ["muscles/png/Bad-1.png", "../outside/Bad-2.png", "/etc/Bad-3.png", "muscles/png/Bad-1.png"]
    (small_site.pages / "bad.md").write_text(page_text("Bad", ["../gif/Bad.gif"], frames))
    site = small_site.site()
    safe = [frame.path for frame in plan.frame_listings(site.catalog)]
    assert len(safe) == len(set(safe)) == 2 * 16 + 1
    assert "muscles/png/Bad-1.png" in safe
    planned = plan.planned_outputs(site.catalog, site.settings)
    assert {o.path for o in planned if o.kind == "frame"} == set(safe)
    assert not any(".." in o.path or o.path.startswith("/") for o in planned)
    assert "muscles/png/Bad-1-thumb.png" in {o.path for o in planned}


def test_a_file_two_makers_would_write_is_made_by_the_first_and_the_other_is_a_clash(small_site):
    # a gallery listing its own animation's GIF; a JPEG twin of a PNG frame (both make X-thumb.webp)
    frames = ["muscles/gif/Leg-Soleus.gif", "muscles/png/Arm-Biceps-1.jpg"]
    (small_site.pages / "zz-odd.md").write_text(page_text("Odd", [], frames))
    site = small_site.site()
    result = plan.output_plan(site.catalog, site.settings)
    assert {(late.output.path, late.maker, late.page, first.maker) for late, first in result.clashes} == {
        ("muscles/gif/Leg-Soleus.gif", ("frame", "muscles/gif/Leg-Soleus.gif"), "zz-odd.md",
         ("animation", "muscles/gif/Leg-Soleus.gif")),
        ("muscles/png/Arm-Biceps-1-thumb.webp", ("frame", "muscles/png/Arm-Biceps-1.jpg"), "zz-odd.md",
         ("frame", "muscles/png/Arm-Biceps-1.png")),
    }
    assert result.makes("muscles/gif/Leg-Soleus.gif", ("animation", "muscles/gif/Leg-Soleus.gif"))
    assert result.makes("muscles/gif/Leg-Soleus-thumb.gif", ("frame", "muscles/gif/Leg-Soleus.gif"))
    assert result.makes("muscles/png/Arm-Biceps-1-thumb.jpg", ("frame", "muscles/png/Arm-Biceps-1.jpg"))
    planned = [o.path for o in plan.planned_outputs(site.catalog, site.settings)]
    assert len(planned) == len(set(planned))


def test_sheet_names_do_not_collide_across_folders(site_folder):
    site_folder.add_animation("Same")
    site = site_folder.site()
    (animation,) = site.catalog.animations
    other = animation._replace(name="other/gif/Same.gif")
    assert plan.sheet_names([animation, other]) == {
        "muscles/gif/Same.gif": "muscles_gif_Same.png", "other/gif/Same.gif": "other_gif_Same.png"}
    assert plan.sheet_names([animation]) == {"muscles/gif/Same.gif": "Same.png"}
    shouted = animation._replace(name="muscles/gif/Same.GIF")  # the same file on a Mac
    assert plan.sheet_names([animation, shouted]) == {
        "muscles/gif/Same.gif": "muscles_gif_Same.png", "muscles/gif/Same.GIF": "muscles_gif_Same_2.png"}
    overview = animation._replace(name="gif/Overview-1.gif")
    assert plan.sheet_names([overview]) == {"gif/Overview-1.gif": "Overview-1_2.png"}  # not the overview's page
    pair = [animation._replace(name="gif/overview.gif"), animation._replace(name="gif/Overview.gif")]
    assert plan.sheet_names(pair) == {"gif/overview.gif": "overview.png", "gif/Overview.gif": "Overview_2.png"}
    assert plan.sheet_names([animation, animation._replace(name="muscles/gif/same.gif")]) == {
        "muscles/gif/Same.gif": "Same.png", "muscles/gif/same.gif": "same_2.png"}
    # folders of 150 characters each: joined, they were a name no file system takes
    deep = [animation._replace(name=f"{'A' * 150}/{'B' * 150}/Same.gif"),
            animation._replace(name=f"{'C' * 150}/{'D' * 150}/Same.gif"),
            animation._replace(name=f"{'C' * 150}/{'D' * 150}/Same.GIF")]
    names = list(plan.sheet_names(deep).values())
    assert len({name.lower() for name in names}) == 3
    assert all(len(name.encode()) <= 255 and name.endswith(".png") for name in names)
    assert names[0].startswith("A" * 150 + "_" + "B" * 50) and names[2].endswith("_2.png")
    accented = animation._replace(name=f"{'é' * 100}/Same.gif")  # two bytes each
    assert len(plan.sheet_names([accented, animation]).get(accented.name).encode()) <= 255


def test_overview_pages_hold_columns_times_rows_sheets():
    settings = ContactSettings(overview_columns=3, overview_rows=2)
    assert [plan.overview_page_count(n, settings) for n in (0, 1, 6, 7, 12, 13)] == [1, 1, 1, 2, 2, 3]
    assert plan.overview_name(2) == "overview-2.png"


def test_one_animation_per_name_the_first_page_with_frames(site_folder):
    frames = write_frames(site_folder.images, "Leg-Soleus", count=4)
    site_folder.pages.joinpath("a.md").write_text(page_text("A", ["muscles/gif/Leg-Soleus.gif"], []))
    site_folder.pages.joinpath("b.md").write_text(page_text("B", ["muscles/gif/Leg-Soleus.gif"], frames[:2]))
    site_folder.pages.joinpath("c.md").write_text(page_text("C", ["muscles/gif/Leg-Soleus.gif", "../Up.gif",
                                                                  "muscles/gif/Ready.gif"], frames))
    catalog = site_folder.site().catalog
    chosen = plan.animations_by_name(catalog)
    assert list(chosen) == ["muscles/gif/Leg-Soleus.gif", "muscles/gif/Ready.gif"]  # the unsafe name is left out
    assert chosen["muscles/gif/Leg-Soleus.gif"].page == "b.md"  # a.md gives it no frames
    assert chosen["muscles/gif/Ready.gif"].frames == ()  # its frames are Leg-Soleus's: shipped as it is
    assert [a.name for a in plan.built_animations(catalog)] == ["muscles/gif/Leg-Soleus.gif"]
    outputs = [o.path for o in plan.planned_outputs(catalog, site_folder.settings()) if o.kind == "gif"]
    assert outputs == ["muscles/gif/Leg-Soleus.gif"]
