"""The `contact` task: a sheet per animation and the overview pages, under `<build>/contact`,
and nothing else there: sheets no longer made (a page removed, an animation renamed, fewer
overview pages) are removed, by the build and by `clean`."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from doit.exceptions import TaskFailed
from .naming import reading, subtask_name
from .uptodate import FolderListing, outputs_as_written, reading_limit, settings_changed

from .. import plan, versions
from ..problems import PipelineError
from ..imageroot import ImageRoot


def run_sheet(animation, images: ImageRoot, target: Path, settings, page_title: str):
    """doit action: draw one animation's contact sheet."""
    from .. import contact  # numpy and Pillow: only where an action runs

    try:
        contact.make_contact_sheet(animation, images, target, settings, page_title)
    except (PipelineError, OSError) as exc:
        return TaskFailed(str(exc))
    return None


def run_overview(animations, images: ImageRoot, target: Path, settings, page: int, pages: int):
    """doit action: draw one page of the overview sheet."""
    from .. import contact

    try:
        contact.make_overview(animations, images, target, settings, page, pages)
    except (PipelineError, OSError) as exc:
        return TaskFailed(str(exc))
    return None


def stale_sheets(folder: Path, made: frozenset[str]) -> list[str]:
    """The files in `folder` no sub-task makes; hidden ones (a sheet being written) aside."""
    try:
        with os.scandir(folder) as listed:
            return sorted(e.name for e in listed if e.name not in made and not e.name.startswith(".") and e.is_file())
    except (FileNotFoundError, NotADirectoryError):  # none yet; a file there fails the sheets' tasks
        return []


def no_stale_sheets(task, values, folder: Path, made: frozenset[str]) -> bool:
    """doit `uptodate` of `contact:stale`: nothing to remove."""
    return not stale_sheets(folder, made)


def remove_stale_sheets(folder: Path, made: frozenset[str], dryrun: bool = False):
    """doit action (and clean action): remove the sheets no sub-task makes any more."""
    for name in stale_sheets(folder, made):
        print(f"contact: {'would remove' if dryrun else 'removed'} stale '{name}' (no sheet is made "
              "under that name any more)", file=sys.stderr)
        if not dryrun:
            (folder / name).unlink()


def contact_tasks(site, sources: ImageRoot, listing: FolderListing):
    """A sheet per animation and the overview pages; `sources` is the image root, listed once
    for every generator, and `listing` the build's folders, as `outputs_as_written` reads them:
    a sheet a killed build wrote (its record not saved) is not taken for the one recorded."""
    settings = site.settings
    options = settings.contact
    folder = settings.build_dir / "contact"
    # what the actions get: not `sources`, whose listing of the whole root would be pickled
    # into every sub-task
    images = ImageRoot(settings.images_dir, max_pixels=settings.verify.max_pixels)
    encoder = versions.encoder("contact", settings.build_dir)
    # what each kind of sheet is drawn with: the overview's size does not redraw every sheet
    looks = {"cell_width": options.cell_width, "font_size": options.font_size, "background": options.background}
    sheet_shaping = {**looks, "columns": options.columns, "encoder": encoder, **reading_limit(settings)}
    overview_shaping = {**looks, "overview_columns": options.overview_columns,
                        "overview_rows": options.overview_rows, "encoder": encoder, **reading_limit(settings)}
    titles = {page.path: page.title for page in site.catalog.pages}
    animations = plan.built_animations(site.catalog)  # one sheet per name, from the page it is built from
    names = plan.sheet_names(animations)
    for animation in animations:
        target = folder / names[animation.name]
        title = titles.get(animation.page) or animation.title
        frames = [f.image_url for f in animation.frames]
        yield {
            "name": subtask_name("contact/", names[animation.name]),
            "actions": [(run_sheet, [animation, images, target, options, title])],
            "file_dep": sources.present(frames),
            "targets": [str(target)],
            # file_dep is a set to doit: a reordered gallery changes the sheet, so the order is here
            "uptodate": [settings_changed({**sheet_shaping, "title": title, "frames": frames}),
                         outputs_as_written(listing)],
            "clean": True,
            "meta": reading(frames[0]),
        }
    per_page = options.overview_columns * options.overview_rows
    pages = plan.overview_page_count(len(animations), options)
    for page in range(1, pages + 1):
        chunk = animations[(page - 1) * per_page: page * per_page]
        target = folder / plan.overview_name(page)
        yield {
            "name": f"contact/{plan.overview_name(page)}",
            "actions": [(run_overview, [chunk, images, target, options, page, pages])],
            "file_dep": sources.present([a.frames[0].image_url for a in chunk]),
            "targets": [str(target)],
            "uptodate": [settings_changed({**overview_shaping, "pages": pages, "titles": [a.title for a in chunk],
                                         "first_frames": [a.frames[0].image_url for a in chunk]}),
                         outputs_as_written(listing)],
            "clean": True,
        }
    made = frozenset([*names.values(), *map(plan.overview_name, range(1, pages + 1))])
    yield {
        "name": "stale",
        "actions": [(remove_stale_sheets, [folder, made])],
        "uptodate": [(no_stale_sheets, [folder, made])],
        "clean": [(remove_stale_sheets, [folder, made])],
    }

