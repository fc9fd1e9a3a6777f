"""The `verify` task: manifest–file consistency, run before anything is built."""
from __future__ import annotations

import sys

from doit.exceptions import TaskFailed

from .. import verify as verification
from ..problems import problems_failed


def run_verify(site, deep: bool = False):
    """doit action: verify `site`; the task fails on errors (or on warnings when strict)."""
    problems = verification.verify_site(site, deep=deep)
    summary = verification.report_problems(site, problems)
    if problems_failed(problems, site.settings.verify.strict):
        return TaskFailed(summary)
    print(summary, file=sys.stderr)
    return None


def verify_task(site) -> dict:
    return {
        "actions": [(run_verify, [site])],
        "targets": [str(site.settings.build_dir / "verify.json")],
        "params": [{"name": "deep", "long": "deep", "type": bool, "default": False,
                    "help": "decode every image fully instead of reading headers"}],
        "uptodate": [False],  # files may change without the pages changing: always look again
        "clean": True,
        "verbosity": 2,
    }
