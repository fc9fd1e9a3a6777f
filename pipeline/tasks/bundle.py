"""The `bundle` task: copies of referenced files the pipeline does not make, the Jekyll
include, and (after every producing task) the checked, described and zipped bundle."""
from __future__ import annotations

import sys
from pathlib import Path

from doit.exceptions import TaskFailed
from .uptodate import settings_changed

from .. import bundle, jekyll, treestate
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
    write_text_atomic(target, jekyll.INCLUDE)


def run_bundle(catalog, settings):
    """doit action: remove stale files, check, describe and zip `<build>/images`.

    Returns the fingerprint of the bundled folder, which decides whether it is up to date.
    """
    try:
        bundle.make_bundle(catalog, settings)
    except PipelineError as exc:
        return TaskFailed(f"bundle: incomplete; asset manifest, data file and zip not written:\n{exc}")
    except OSError as exc:
        return TaskFailed(f"bundle: {exc}")
    print(f"bundle: {settings.build_dir / 'bundle.zip'}", file=sys.stderr)
    return {"fingerprint": treestate.fingerprint([str(settings.build_dir / "images")])}


def bundle_tasks(site, after: list[str]):
    settings = site.settings
    images = settings.build_dir / "images"
    plan = bundle.bundle_plan(site.catalog, settings)
    for path in plan.copied:
        yield {
            "name": f"images/{path}",
            "actions": [(run_copy, [settings.images_dir / path, images / path])],
            "file_dep": [str(settings.images_dir / path)],
            "targets": [str(images / path)],
            "uptodate": [settings_changed({"copy": bundle.VERSION})],
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
    yield {
        "name": "asset-manifest.json",
        "actions": [(run_bundle, [site.catalog, settings])],
        "task_dep": list(after),
        "targets": [str(t) for t in targets],
        # the list of planned files decides which stale ones go; what is in the folder now,
        # by a fingerprint rather than thousands of file_dep (see treestate.py)
        "uptodate": [settings_changed({"files": sorted(plan.files), "version": bundle.VERSION}),
                     (treestate.unchanged, [[str(images)]])],
        "clean": True,
    }
