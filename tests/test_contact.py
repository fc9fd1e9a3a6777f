"""Contact sheets: grid size from the settings, labels drawn, overview paging, clear failures."""
import math

import numpy as np
import pytest
from PIL import Image

from conftest import site_tasks
from pipeline import contact
from pipeline.settings import ContactSettings
from pipeline.imageroot import ImageRoot
from pipeline.tasks.contact import run_sheet


def run_all(tasks):
    for task in tasks:
        func, args = task["actions"][0]
        assert func(*args) is None, task["name"]


def expected_size(settings, cells, columns, box, title_text=""):
    """The grid's size, widened to `title_text` up to four cells."""
    label = round(settings.font_size * 1.4)
    title = round(settings.font_size * 1.5 * 1.4)
    columns = min(columns, cells)
    rows = -(-cells // columns)
    title_width = contact.ImageFont.truetype(str(contact.FONT), round(settings.font_size * 1.5)).getlength(title_text)
    width = 2 * contact.MARGIN + max(columns * box[0] + (columns - 1) * contact.GAP,
                                     min(4 * settings.cell_width, math.ceil(title_width)))
    height = 2 * contact.MARGIN + title + contact.GAP + rows * (box[1] + label + contact.GAP) - contact.GAP
    return width, height


def test_sheet_per_animation_has_every_frame_in_a_grid_with_title_and_labels(small_site):
    run_all(site_tasks(small_site.site(), "contact"))
    sheet_path = small_site.build / "contact" / "Leg-Soleus.png"
    with Image.open(sheet_path) as sheet:
        size = sheet.size
        pixels = np.asarray(sheet.convert("RGB")).astype(int)
    settings = ContactSettings()
    # 16 frames of 64x48, 4 columns, frames never upscaled
    assert size == expected_size(settings, 16, 4, (64, 48))
    top = contact.MARGIN + round(settings.font_size * 1.5 * 1.4) + contact.GAP
    title_band = pixels[contact.MARGIN:top - contact.GAP]
    label_band = pixels[top + 48: top + 48 + round(settings.font_size * 1.4)]
    assert (title_band.sum(axis=-1) < 300).any(), "the title is drawn"
    assert (label_band.sum(axis=-1) < 300).any(), "frame numbers are drawn"
    assert (small_site.build / "contact" / "Arm-Biceps.png").exists()


def test_columns_and_cell_width_shape_the_sheet(small_site):
    small_site.write_settings("[contact]\ncolumns = 8\ncell_width = 32\n")
    run_all(site_tasks(small_site.site(), "contact"))
    with Image.open(small_site.build / "contact" / "Leg-Soleus.png") as sheet:
        settings = ContactSettings(columns=8, cell_width=32)
        assert sheet.size == expected_size(settings, 16, 8, (32, 24))


def test_titles_are_drawn_on_one_line_with_their_accented_and_greek_letters():
    """Pillow's default font has ASCII only: accents came out as the missing-glyph box, and a
    line break in a title drew a second line over the first row of frames."""
    cells = [contact.Cell(np.full((40, 40, 4), 200, np.uint8), str(k)) for k in (1, 2)]

    def drawn(title):
        return np.asarray(contact.draw_sheet(title, cells, 4, ContactSettings(cell_width=300)))

    missing_glyph = drawn("M\uffffller")
    for letter in "üéßøñç–’βЖ":
        assert not np.array_equal(drawn(f"M{letter}ller"), missing_glyph), letter
    assert np.array_equal(drawn("Vastus\nme\u0301dialis \t (left)"), drawn("Vastus médialis (left)"))


def test_overview_is_paged_with_the_first_frame_and_title_of_each_animation(site_folder):
    for k in range(5):
        site_folder.add_animation(f"M{k}", count=2, size=(40, 40), title=f"Muscle {k}")
    site_folder.write_settings("[contact]\noverview_columns = 2\noverview_rows = 1\ncell_width = 50\n")
    tasks = list(site_tasks(site_folder.site(), "contact"))
    names = [t["name"] for t in tasks]
    assert names[-4:] == ["contact/overview-1.png", "contact/overview-2.png", "contact/overview-3.png", "stale"]
    run_all(tasks)
    settings = ContactSettings(overview_columns=2, overview_rows=1, cell_width=50)
    with Image.open(site_folder.build / "contact" / "overview-1.png") as page:
        assert page.size == expected_size(settings, 2, 2, (40, 40), "Animations (1/3)")
    with Image.open(site_folder.build / "contact" / "overview-3.png") as page:
        assert page.size == expected_size(settings, 1, 2, (40, 40), "Animations (3/3)")


def test_missing_frame_fails_the_sheet_with_the_page_line(small_site):
    (small_site.images / "muscles" / "png" / "Leg-Soleus-3.png").unlink()
    site = small_site.site()
    animation = next(a for a in site.catalog.animations if a.name.endswith("Leg-Soleus.gif"))
    result = run_sheet(animation, ImageRoot(small_site.images), small_site.build / "contact" / "x.png",
                       ContactSettings(), "T")
    assert "muscles/muscle_leg-soleus.md:" in str(result)
    assert "missing: gallery frame 'muscles/png/Leg-Soleus-3.png'" in str(result)
    assert not (small_site.build / "contact" / "x.png").exists()


def test_an_unreadable_first_frame_leaves_an_empty_box_in_the_overview_and_fails_it(site_folder):
    for k in range(3):
        site_folder.add_animation(f"M{k}", count=2, size=(40, 40), title=f"Muscle {k}")
    (site_folder.images / "muscles/png/M1-1.png").write_bytes(b"")
    (task,) = [t for t in site_tasks(site_folder.site(), "contact") if t["name"] == "contact/overview-1.png"]
    func, args = task["actions"][0]

    result = func(*args)

    assert result.message == "muscles/muscle_m1.md:12: unreadable: 'muscles/png/M1-1.png' is empty (0 bytes)"
    with Image.open(site_folder.build / "contact" / "overview-1.png") as page:
        pixels = np.asarray(page.convert("RGB")).astype(int)
    settings = ContactSettings()
    top = contact.MARGIN + round(settings.font_size * 1.5 * 1.4) + contact.GAP
    cells = [pixels[top:top + 40, x:x + 40] for x in (contact.MARGIN + k * (40 + contact.GAP) for k in range(3))]
    drawn = [(cell.sum(axis=-1) < 600).mean() for cell in cells]  # the turntable's dark pixels
    assert drawn[0] > 0.05 and drawn[2] > 0.05
    assert (cells[1][1:-1, 1:-1] == 255).all()  # empty inside
    assert (cells[1][0] == contact.MISSING).all()  # outlined


def test_long_titles_are_cut_to_fit():
    font = contact.ImageFont.load_default(size=16)
    title = "A very long title of a muscle group " * 4
    text = contact._fit(title, font, 120)
    assert text.endswith("...") and font.getlength(text) <= 120
    # the longest start that fits: one character more does not
    kept = text.removesuffix("...")
    longer = title[:len(kept) + 1].rstrip()
    assert font.getlength(longer + "...") > 120 or longer == kept
    assert contact._fit("Soleus", font, 120) == "Soleus"


def test_a_narrow_sheet_widens_to_its_title_up_to_four_cells():
    """Overview pages of narrow frames were all titled "Animation...": the page number was cut."""
    settings = ContactSettings()
    title_font = contact.ImageFont.load_default(size=round(settings.font_size * 1.5))
    cell = contact.Cell(np.zeros((64, 64, 4), np.uint8), "Leg")
    sheet = contact.draw_sheet("Animations (2/3)", [cell, cell], 2, settings)
    assert sheet.width - 2 * contact.MARGIN >= title_font.getlength("Animations (2/3)")
    long = contact.draw_sheet("The muscles of the leg, deep posterior compartment " * 3, [cell], 1, settings)
    assert long.width == 2 * contact.MARGIN + 4 * settings.cell_width  # longer titles are cut, as before
    wide = contact.draw_sheet("Leg", [contact.Cell(np.zeros((64, 300, 4), np.uint8), "1")] * 4, 4, settings)
    assert wide.width == 2 * contact.MARGIN + 4 * settings.cell_width + 3 * contact.GAP  # the grid decides


def test_a_title_of_a_million_characters_is_cut_not_refused():
    font = contact.ImageFont.load_default(size=16)
    text = contact._fit("Soleus " * 150_000, font, 300)  # Pillow refuses to measure that many
    assert text.startswith("Soleus Soleus") and text.endswith("...") and font.getlength(text) <= 300


@pytest.mark.parametrize("key", ["columns", "font_size"])
def test_settings_refuse_zero(site_folder, key):
    from pipeline.problems import PipelineError

    site_folder.write_settings(f"[contact]\n{key} = 0\n")
    with pytest.raises(PipelineError, match=rf"\[contact\] {key} must be at least 1, got 0"):
        site_folder.settings()


def test_an_animation_named_on_two_pages_gets_one_sheet(small_site):
    page = small_site.pages / "muscles" / "muscle_leg-soleus.md"
    (small_site.pages / "muscles" / "again.md").write_text(page.read_text().replace("The Leg-Soleus", "Again"))
    names = [t["name"] for t in site_tasks(small_site.site(), "contact")]
    assert len(names) == len(set(names))
    assert names.count("contact/Leg-Soleus.png") == 1


def test_a_reordered_gallery_draws_the_sheet_again(small_site):
    from tests.test_animation_tasks import executed, run

    assert run(small_site, "contact")[0] == 0
    sheet = small_site.build / "contact" / "Leg-Soleus.png"
    before = np.asarray(Image.open(sheet).convert("RGB"))
    page = small_site.pages / "muscles" / "muscle_leg-soleus.md"
    text = page.read_text()
    page.write_text(text.replace("Leg-Soleus-1.png", "FIRST").replace("Leg-Soleus-2.png", "Leg-Soleus-1.png")
                    .replace("FIRST", "Leg-Soleus-2.png"))  # same frames, first two swapped

    code, log = run(small_site, "--reporter", "executed-only", "contact")

    assert code == 0
    assert "contact:contact/Leg-Soleus.png" in executed(log)
    assert "contact:contact/Arm-Biceps.png" not in executed(log)
    after = np.asarray(Image.open(sheet).convert("RGB"))
    assert before.shape == after.shape and not np.array_equal(before, after)


def test_sheets_no_longer_made_are_removed_and_overview_settings_redraw_only_the_overview(small_site):
    from tests.test_animation_tasks import executed, run
    from pipeline.tasks import doit_main, doit_namespace

    assert run(small_site, "contact")[0] == 0
    folder = small_site.build / "contact"
    assert sorted(p.name for p in folder.iterdir()) == ["Arm-Biceps.png", "Leg-Soleus.png", "overview-1.png"]
    small_site.write_settings("[contact]\noverview_columns = 1\noverview_rows = 1\n")
    code, log = run(small_site, "--reporter", "executed-only", "contact")
    assert code == 0
    assert executed(log) == ["contact:contact/overview-1.png", "contact:contact/overview-2.png"]
    # a page gone, and fewer overview pages: their sheets go too, and `clean` finds none left
    (small_site.pages / "muscles" / "muscle_leg-soleus.md").unlink()
    small_site.write_settings("")
    assert run(small_site, "contact")[0] == 0
    assert sorted(p.name for p in folder.iterdir()) == ["Arm-Biceps.png", "overview-1.png"]
    assert executed(run(small_site, "--reporter", "executed-only", "contact")[1]) == []
    (folder / "Gone.png").write_bytes(b"left by an earlier build")
    assert not doit_main(doit_namespace(small_site.config)).run(["clean", "contact"])  # doit: None or 0
    assert not folder.exists() or list(folder.iterdir()) == []
