"""The `bundle` task: copies of referenced files the pipeline does not make, the Jekyll
include, and (after every producing task) the checked, described and zipped bundle."""
from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from doit.exceptions import TaskFailed
from .naming import subtask_name
from .uptodate import FolderListing, outputs_as_written, settings_changed

from .. import bundle, jekyll, treestate
from ..plan import OutputPlan, animations_by_name
from ..atomic import write_text_atomic
from ..problems import PipelineError


def run_copy(source: Path, target: Path):
    """doit action: copy one referenced file as it is."""
    try:
        bundle.copy_file(source, target)
    except OSError as exc:
        return TaskFailed(f"{source}: cannot be copied: {exc}")
    return None


def run_include(target: Path):
    """doit action: write the Liquid include that plays an animation."""
    try:
        write_text_atomic(target, jekyll.INCLUDE)
    except OSError as exc:  # a full disk, say
        return TaskFailed(f"include: {exc}")
    return None


def run_bundle(catalog, settings, plan: str):
    """doit action: remove stale files, check, describe and zip `<build>/images`.

    Returns what decides whether it is up to date: the fingerprint of the bundled folder and
    `plan`, the digest of the planned files (see `bundle_unchanged`).
    """
    try:
        bundle.make_bundle(catalog, settings)
    except PipelineError as exc:
        return TaskFailed(f"bundle: incomplete; asset manifest, data file and zip not written:\n{exc}")
    except OSError as exc:
        return TaskFailed(f"bundle: {exc}")
    print(f"bundle: {settings.build_dir / 'bundle.zip'}", file=sys.stderr)
    return {"fingerprint": treestate.fingerprint([str(settings.build_dir / "images")]),
            "plan": plan}


def run_remove_stale(catalog, settings, plan: str):
    """doit action: remove the files in `<build>/images` no task produces any more.

    The bundle does this too, but it runs only when every producer succeeded: with a page
    waiting for its renders, the files of a page removed meanwhile would stay. Returns what
    `bundle_unchanged` checks, as `run_bundle` does. While a page cannot be read (a slip in
    its YAML), nothing is removed: its animations were, and made again from their frames
    once it was fixed, minutes of encoding for a typo.
    """
    images = settings.build_dir / "images"
    unread = sorted({p.page for p in catalog.problems if p.code == "bad-manifest"})
    if unread:  # what those pages name is not known: their files stay until they read again
        print(f"bundle: nothing stale removed while {len(unread)} page(s) cannot be read ({unread[0]}, ...)"
              if len(unread) > 1 else f"bundle: nothing stale removed while {unread[0]} cannot be read",
              file=sys.stderr)
        return {"fingerprint": None, "plan": plan}
    try:
        for path in bundle.remove_stale(images, bundle.bundle_plan(catalog, settings).files):
            print(f"bundle: removed stale '{path}' (no task produces it any more)", file=sys.stderr)
    except OSError as exc:
        return TaskFailed(f"bundle: {exc}")
    return {"fingerprint": treestate.fingerprint([str(images)]), "plan": plan}


def clean_stale(catalog, settings, dryrun: bool = False):
    """doit clean action: the files of `<build>/images` that no task produces, which no
    other sub-task's clean removes (a removed page's, say)."""
    images = settings.build_dir / "images"
    planned = bundle.bundle_plan(catalog, settings).files
    stale = [path for path in bundle.bundle_files(images) if path not in planned] if dryrun \
        else bundle.remove_stale(images, planned)
    for path in stale:
        print(f"bundle: {'would remove' if dryrun else 'removed'} stale '{path}'", file=sys.stderr)


def bundle_unchanged(task, values, images: str, plan: str, seen: dict[str, str]) -> bool:
    """doit `uptodate`: True when the plan (`plan_digest`) and `<build>/images` are as the last
    bundle left them.

    Then the sub-task does not run, and nothing writes there after it (it runs after every
    producer and every copy), so the folder's digest goes into `seen` for the next check in
    this same run (the bundle's after `bundle:stale`'s, the report's): one walk of thousands
    of files instead of three.
    """
    digest = seen.get(images) or treestate.folder_digest(images)
    same = (values.get("plan") == plan
            and values.get("fingerprint") == treestate.fingerprint([images], known={images: digest})
            and all(os.path.exists(target) for target in task.targets))
    if same:
        seen[images] = digest
    return same


def plan_digest(files, catalog) -> str:
    """What the bundle's task and its check carry instead of the thousands of planned names,
    with what `_data/assets.json` takes from the pages: each animation's title, alt text and
    poster frame (`jekyll.animation_entries`)."""
    described = [(a.name, a.title, a.alt, a.frames[0].image_url if a.frames else None)
                 for a in animations_by_name(catalog).values()]
    return hashlib.sha1(json.dumps([bundle.VERSION, *sorted(files), described]).encode()).hexdigest()


def bundle_tasks(site, after: list[str], seen: dict[str, str], outputs: OutputPlan, listing: FolderListing):
    """The copies, the include and the bundle. `seen` is shared with the report's task (see
    `bundle_unchanged`); `outputs` is the site's `plan.output_plan`, `listing` the build's
    folders, as `outputs_as_written` reads them."""
    settings = site.settings
    images = settings.build_dir / "images"
    plan = bundle.bundle_plan(site.catalog, settings, outputs.makers)
    for path in plan.copied:
        yield {
            "name": subtask_name("images/", path),
            "actions": [(run_copy, [settings.images_dir / path, images / path])],
            "file_dep": [str(settings.images_dir / path)],
            "targets": [str(images / path)],
            # a copy whose file an animation wrote over (its frames were listed for a while)
            # is made again; "by inode" retires records from before that check, which would
            # pass it (see outputs_as_written)
            "uptodate": [settings_changed({"copy": bundle.VERSION, "outputs": "by inode"}),
                         outputs_as_written(listing)],
            "clean": True,
        }
    include = settings.build_dir / "_includes" / "atlas-animation.html"
    yield {
        "name": "_includes/atlas-animation.html",
        "actions": [(run_include, [include])],
        "targets": [str(include)],
        "uptodate": [settings_changed({"include": jekyll.INCLUDE})],
        "clean": True,
    }
    targets = bundle.bundle_targets(settings)
    digest = plan_digest(plan.files, site.catalog)
    copies = [subtask_name("bundle:images/", path) for path in plan.copied]
    # after every producer and this group's own copies (they write into build/images too),
    # whether they failed or not: `report:wait` tells why a set-up task does that
    yield {"name": "wait", "actions": None, "setup": [*after, *copies]}
    yield {
        "name": "stale",
        "actions": [(run_remove_stale, [site.catalog, settings, digest])],
        "task_dep": ["bundle:wait"],
        "uptodate": [(bundle_unchanged, [str(images), digest, seen])],
        "clean": [(clean_stale, [site.catalog, settings])],
    }
    yield {
        "name": "asset-manifest.json",
        "actions": [(run_bundle, [site.catalog, settings, digest])],
        # and only when every one of them succeeded: never an incomplete bundle
        "task_dep": [*after, *copies, "bundle:stale"],
        "targets": [str(t) for t in targets],
        # the list of planned files decides which stale ones go; what is in the folder now,
        # by a fingerprint rather than thousands of file_dep (see treestate.py); and the
        # files are the ones recorded: a killed run wrote others, from pages since put back
        "uptodate": [(bundle_unchanged, [str(images), digest, seen]), outputs_as_written(listing)],
        "clean": True,
    }
