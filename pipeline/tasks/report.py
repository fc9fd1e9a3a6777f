"""The `report` task: `<build>/report/index.html`, written after every other default task.

doit has no "after, whether or not it failed" dependency: a `task_dep` or a `file_dep` on
another task's target skips the report when that task fails, which is exactly when the
report is most needed. Setup tasks are different: doit runs them first and then runs the
task whatever their outcome. So the other default tasks are the report's setup tasks, and
the report is never up to date (it takes well under a second even for hundreds of pages):
it always shows the build folder as this run left it.
"""
from __future__ import annotations

import sys
import time

from .. import report


def run_report(site, started: float):
    """doit action: write the report page; reading a half-built folder is fine."""
    target = report.write_report(site, started=started)
    print(f"report: {target}", file=sys.stderr)


def report_task(site, after: list[str]) -> dict:
    return {
        "actions": [(run_report, [site, time.time()])],
        "targets": [str(site.settings.build_dir / "report" / "index.html")],
        "setup": list(after),
        "uptodate": [False],
        "clean": True,
    }
