"""Contact sheets: every frame of an animation on one PNG grid, and an overview of all animations.

Drawn with Pillow in DejaVu Sans, cut down to Latin, Greek and Cyrillic and shipped in
`assets/` (Pillow's own default font has ASCII only: "médialis" came out as "m□dialis"), so
no system font is needed. Frames are scaled with Pillow's Lanczos (on premultiplied alpha)
after a box reduction to twice the cell size, and laid over the sheet's background colour:
at 800 px that is a fifth of the time of the thumbnails' float Lanczos, at an SSIM of 0.9996
against it (bench/out renders), and a sheet is a proof to look at, not a thumbnail to ship.
"""
from __future__ import annotations

import math
import re
import unicodedata
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .atomic import atomic_path, remove_outputs
from .catalog import Animation
from .frames import load_rgba, load_sequence, parse_colour
from .settings import ContactSettings
from .thumbnails import thumbnail_size
from .problems import PipelineError
from .imageroot import ImageRoot

MARGIN = 12
GAP = 8
TEXT = (34, 34, 34)
MISSING = (200, 40, 40)  # the outline of a picture that could not be read
FONT = Path(__file__).parent / "assets" / "DejaVuSans-subset.ttf"


class Cell(NamedTuple):
    rgba: np.ndarray | None  # the picture, full size; None: a frame that cannot be read
    label: str


def draw_sheet(title: str, cells: list[Cell], columns: int, settings: ContactSettings) -> Image.Image:
    """A titled grid of `cells`, `columns` wide, each picture fitted into a square of
    `cell_width` (or the frames' own aspect when they all share it) with its label below."""
    background = parse_colour(settings.background)
    font = ImageFont.truetype(str(FONT), settings.font_size)
    title_font = ImageFont.truetype(str(FONT), round(settings.font_size * 1.5))
    title = one_line(title)
    box = _box_size(cells, settings.cell_width)
    label_height = round(settings.font_size * 1.4)
    title_height = round(settings.font_size * 1.5 * 1.4)
    columns = max(1, min(columns, len(cells)))
    rows = max(1, math.ceil(len(cells) / columns))
    grid_width = columns * box[0] + (columns - 1) * GAP
    # as wide as the title, up to four cells: on narrow frames an overview page's "(2/3)" was cut off
    longest = 4 * settings.cell_width
    width = 2 * MARGIN + max(grid_width, min(longest, math.ceil(title_font.getlength(title[:longest]))))
    height = 2 * MARGIN + title_height + GAP + rows * (box[1] + label_height + GAP) - GAP
    sheet = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(sheet)
    draw.text((MARGIN, MARGIN), _fit(title, title_font, width - 2 * MARGIN), font=title_font, fill=TEXT)
    top = MARGIN + title_height + GAP
    for index, cell in enumerate(cells):
        row, column = divmod(index, columns)
        x = MARGIN + column * (box[0] + GAP)
        y = top + row * (box[1] + label_height + GAP)
        if cell.rgba is None:  # an empty, outlined box where the picture would be
            draw.rectangle((x, y, x + box[0] - 1, y + box[1] - 1), outline=MISSING)
        else:
            picture = _picture(cell.rgba, box, background)
            sheet.paste(picture, (x + (box[0] - picture.width) // 2, y + (box[1] - picture.height) // 2))
        label = _fit(one_line(cell.label), font, box[0])
        draw.text((x + box[0] / 2, y + box[1] + label_height / 2), label, font=font, fill=TEXT, anchor="mm")
    return sheet


def _box_size(cells: list[Cell], cell_width: int) -> tuple[int, int]:
    shapes = {cell.rgba.shape[:2] for cell in cells if cell.rgba is not None}
    if len(shapes) == 1:
        (height, width), = shapes
        return thumbnail_size(width, height, cell_width)
    return cell_width, cell_width


def _picture(rgba: np.ndarray, box: tuple[int, int], background) -> Image.Image:
    height, width = rgba.shape[:2]
    scale = min(box[0] / width, box[1] / height, 1.0)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    scaled = Image.fromarray(rgba, "RGBA").resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
    picture = Image.new("RGB", size, background)
    picture.paste(scaled, mask=scaled)
    return picture


def one_line(text: str) -> str:
    """`text` as one line: every run of white space (a line break too) one space, accents
    composed (NFC), so that "é" is drawn as its own letter. A title with a line break was drawn
    as two lines, over the first row of frames."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def _fit(text: str, font, width: float) -> str:
    """`text`, cut with '...' so it fits `width` pixels: the longest such start of it, found
    by halving. A text of more characters than `width` has pixels is cut to that many first
    (a page title of a million characters: Pillow refuses to measure it)."""
    limit = max(0, int(width)) + 1
    if len(text) <= limit and font.getlength(text) <= width:
        return text
    text = text[:limit]
    fits, too_long = 0, len(text) + 1  # text[:fits] + '...' fits; text[:too_long] does not
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if font.getlength(text[:middle] + "...") <= width:
            fits = middle
        else:
            too_long = middle
    return text[:fits].rstrip() + "..."


def _first_frame(animation: Animation, images: ImageRoot) -> np.ndarray:
    first = animation.frames[0]
    check, message = images.check(first.image_url)  # never opened when unsafe; bombs refused unread
    if check.problem or not check.exists:
        raise PipelineError(f"{animation.page}:{first.line}: {check.problem or 'missing'}: "
                            f"{message or repr(first.image_url) + ' does not exist'}")
    try:
        return load_rgba(images.root / first.image_url)
    except Exception as exc:  # undecodable: say which page names it
        raise PipelineError(f"{animation.page}:{first.line}: unreadable: '{first.image_url}' "
                            f"cannot be read: {exc}") from None


def write_png(image: Image.Image, target: Path) -> None:
    """zlib level 3: a sheet is a proof, not a deployed file, and at level 6 the sheet of 16
    frames of 800 px took 1.6-2 times as long (55-67 ms against 34) for 11 % fewer bytes;
    at level 9, 3.5 times as long as at 6 for 3 % fewer."""
    with atomic_path(target) as temporary:
        image.save(temporary, "PNG", compress_level=3)


def make_contact_sheet(animation: Animation, images: ImageRoot, target: Path,
                       settings: ContactSettings, page_title: str) -> None:
    """Write the sheet of every frame of `animation`, labelled 1..N, titled `page_title`; when
    the frames cannot be read, the sheet of the earlier ones is removed (`atomic.remove_outputs`)."""
    try:
        frames = load_sequence(animation, images)
    except PipelineError:
        remove_outputs([target])
        raise
    cells = [Cell(rgba, str(number)) for number, rgba in enumerate(frames, 1)]
    write_png(draw_sheet(page_title or animation.title, cells, settings.columns, settings), target)


def make_overview(animations: list[Animation], images: ImageRoot, target: Path,
                  settings: ContactSettings, page: int, pages: int) -> None:
    """Write page `page` of `pages` of the overview: each animation's first frame and title.

    A first frame that cannot be read leaves an outlined empty box, and the others are drawn;
    then PipelineError names every such frame at its page line."""
    cells, failures = [], []
    for animation in animations:
        try:
            cells.append(Cell(_first_frame(animation, images), animation.title))
        except PipelineError as exc:
            failures.append(str(exc))
            cells.append(Cell(None, animation.title))
    title = "Animations" + (f" ({page}/{pages})" if pages > 1 else "")
    write_png(draw_sheet(title, cells, settings.overview_columns, settings), target)
    if failures:
        raise PipelineError("\n".join(failures))
