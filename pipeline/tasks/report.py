"""The `report` task: `<build>/report/index.html`, written after every other default task.

doit has no "after, whether or not it failed" dependency: a `task_dep` or a `file_dep` on
another task's target skips the report when that task fails, which is exactly when the
report is most needed. Setup tasks are different: doit runs them first and then runs the
task whatever their outcome; but it decides whether the task is up to date *before* running
them, so under `-n 2` the report could be judged current while a producer was still writing.
Hence two sub-tasks: `report:wait` has no actions and every other default task as its setup
tasks (it always "runs", so they always finish first, failed or not), and
`report:index.html` depends on it, so its check comes after all of them. The report is up
to date while the pages, the build folder it shows (by a fingerprint, see treestate.py) and
verify's findings are as they were when it was written.
"""
from __future__ import annotations

import sys
import time

from doit.exceptions import TaskFailed

from .uptodate import FolderListing, outputs_as_written, settings_changed

from .. import reportpage, treestate


def run_report(site, started: float, shown: tuple):
    """doit action: write the report page; reading a half-built folder is fine."""
    try:
        target = reportpage.write_report(site, started=started)
    except OSError as exc:  # a full disk, say: named, not a traceback
        return TaskFailed(f"report: {exc}")
    print(f"report: {target}", file=sys.stderr)
    return {"fingerprint": treestate.fingerprint(*shown, skip=frozenset([str(site.settings.build_dir)]),
                                                 exact_folders=frozenset([str(site.settings.pages_dir)]))}


def report_tasks(site, after: list[str], seen: dict[str, str], listing: FolderListing):
    """The report, checked and written after every task in `after`. `seen` holds the digest of
    `<build>/images` when the bundle found it unchanged in this run (see tasks/bundle.py),
    sparing a second walk; `listing` the build's folders, as `outputs_as_written` reads them
    (a report a killed run wrote, its record not saved, is not taken for the one recorded)."""
    build = site.settings.build_dir
    pages = str(site.settings.pages_dir)
    shown = ([str(build / "images"), str(build / "contact"), pages], [str(build / "verify.json")])
    yield {"name": "wait", "actions": None, "setup": list(after)}
    yield {
        "name": "index.html",
        "actions": [(run_report, [site, time.time(), shown])],
        "task_dep": ["report:wait"],
        "targets": [str(build / "report" / "index.html")],
        "uptodate": [settings_changed({"settings": repr(site.settings)}),
                     # the build folder is shown by its parts: left out where the pages hold it
                     # the pages exactly (a page copied over keeping its size and time is seen)
                     (treestate.unchanged, [*shown, seen, frozenset([str(build)]), False, frozenset([pages])]),
                     outputs_as_written(listing)],
        "clean": True,
    }
