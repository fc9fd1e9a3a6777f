"""The `verify` task: manifest–file consistency, run before anything is built.

It is up to date while the pages, the image root (by a fingerprint of names, sizes and
modification times: see treestate.py) and the settings are as they were at its last clean
pass, so a run with nothing to do does not re-read thousands of image headers. A pass that
found errors is never up to date. `pipeline -a verify` looks again regardless.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from doit.exceptions import TaskFailed
from .uptodate import settings_changed

from .. import treestate
from .. import verify as verification
from ..atomic import write_text_atomic
from ..problems import Problem, problems_failed


def run_verify(site, deep: bool = False):
    """doit action: verify `site`; the task fails on errors (or on warnings when strict)."""
    watched = _watched(site)
    # taken first: a change during the pass is seen next time
    before = treestate.fingerprint(watched, skip=_not_watched(site), exact=True)
    problems = verification.verify_site(site, deep=deep)
    try:
        summary = _print_and_save(site, problems)
    except OSError as exc:  # a full disk, or a folder where verify.json goes
        return TaskFailed(f"verify: {exc}")
    if problems_failed(problems, site.settings.verify.strict):
        return TaskFailed(summary)
    print(summary, file=sys.stderr)
    return {"fingerprint": before, "deep": deep}


def unchanged_since_last_pass(task, values, folders: list[str], skip: frozenset[str] = frozenset()) -> bool:
    """doit `uptodate`: nothing watched changed, and `--deep` is not asked for anew."""
    wants_deep = bool((task.options or {}).get("deep"))
    return (values.get("deep") or not wants_deep) and treestate.unchanged(task, values, folders, skip=skip, exact=True)


def verify_task(site) -> dict:
    settings = site.settings
    return {
        "actions": [(run_verify, [site])],
        "targets": [str(settings.build_dir / "verify.json")],
        "params": [{"name": "deep", "long": "deep", "type": bool, "default": False,
                    "help": "decode every image fully instead of reading headers"}],
        "uptodate": [settings_changed({"verify": repr(settings.verify), "paths": repr(settings.paths),
                                     "version": verification.VERSION, **_verdict_settings(settings)}),
                     (unchanged_since_last_pass, [_watched(site), _not_watched(site)])],
        "clean": True,
        "verbosity": 2,
    }


def _verdict_settings(settings) -> dict:
    """The settings besides `[verify]` and `[paths]` that change the verdict: those that decide
    which outputs are planned (a derived name, `Y.webm`, is fine when it is, and a planned file
    in the image root is no orphan), and the WebM codec (AV1 and VP9 take different frame
    sizes: `unencodable`)."""
    return {"formats": list(settings.animation.formats), "srcset_widths": list(settings.thumbnails.widths),
            "webm_codec": settings.webm.codec}


def _watched(site) -> list[str]:
    return [str(site.settings.pages_dir), str(site.settings.images_dir)]


def _not_watched(site) -> frozenset[str]:
    """The build folder, which may lie inside the pages folder: verify writes into it."""
    return frozenset([str(site.settings.build_dir)])


def _print_and_save(site, problems: list[Problem]) -> str:
    """Print `problems` on stderr, write `<build>/verify.json`, and return a one-line summary."""
    for problem in problems:
        print(problem, file=sys.stderr)
    _write_verify_json(problems, site.settings.build_dir / "verify.json")
    errors = sum(p.is_error for p in problems)
    frames = sum(len(p.gallery) for p in site.catalog.pages)
    unpublished = f" (and {len(site.catalog.unpublished)} unpublished, left out)" if site.catalog.unpublished else ""
    return (f"verify: {len(site.catalog.pages)} pages{unpublished}, {frames} gallery frames: "
            f"{errors} errors, {len(problems) - errors} warnings")


def _write_verify_json(problems: list[Problem], path: Path) -> None:
    """Write `verify.json`: a list of problem objects, atomically."""
    text = json.dumps([p.as_json() for p in problems], indent=2, ensure_ascii=False)
    write_text_atomic(path, text + "\n")
