"""Records doit leaves as they were for a sub-task it finds up to date, saved as they are
now; and the sources of a sub-task that is to run, looked at before it runs.

doit saves a sub-task's record (the state of each source, the values of its up-to-date
checks) only when the sub-task runs. Two checks find a sub-task up to date on evidence that
its record does not hold, and would look for it again on every run after:

- a source whose bytes are unchanged under a new time or stamp (a `touch`, a checkout): the
  checker hashes it (`SourceStatCache.unchanged_state`);
- targets found by size and time in a copied or restored build folder, under new inodes
  (`outputs_as_written.refreshed_values`): the listing's inodes no longer match.

doit records a source's state after its sub-task ran, as the file is then: a frame changed
while the sub-task read it was recorded new, with outputs made from the old one. The checker
compares with what it saw before (`SourceStatCache.get_state`), which for a sub-task doit
decides to run without looking at its sources (a target missing, `--always-execute`) is
looked at here.
"""
from __future__ import annotations

from .checker import SourceStatCache


def refresh_records(dep_manager) -> None:
    """Have doit's `dep_manager` save, for each sub-task it finds up to date, what its checks
    found, and look at the sources of each it is to run (see the module's docstring)."""
    checker = dep_manager.checker
    if not isinstance(checker, SourceStatCache):
        return
    backend = dep_manager.backend
    get_status = dep_manager.get_status

    def get_status_refreshing(task, tasks_dict, get_log=False):
        result = get_status(task, tasks_dict, get_log)
        if result.status == "up-to-date":
            for dep in task.file_dep:
                if checker.was_hashed(dep):  # none, on a run with nothing to do
                    state = checker.unchanged_state(dep, backend.get(task.name, dep))
                    if state is not None:
                        backend.set(task.name, dep, state)
            refreshed = {}
            for check, _, _ in task.uptodate:
                refreshed.update(getattr(check, "refreshed_values", None) or {})
            if refreshed:
                backend.set(task.name, "_values_:", {**dep_manager.get_values(task.name), **refreshed})
        elif result.status == "run":
            checker.snapshot(task.file_dep)
        return result
    dep_manager.get_status = get_status_refreshing  # the runner asks the instance
