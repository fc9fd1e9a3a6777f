"""doit's sqlite3 dependency database, holding a bounded number of task records in memory.

doit's own sqlite3 backend keeps every task's record it has read or written until the run
ends: at 250 animations that is about 18 MiB of decoded JSON in the process that holds the
tasks, and it grows with the site. This one keeps the `CACHED` most recently used records;
an older one is written to the open transaction (not committed) when it leaves memory and
read back if it is needed again. The whole run is still committed once, at the end, as
doit's backend does, so a killed build leaves the database as the last finished run left it.
"""
from __future__ import annotations

import contextlib
import sqlite3

from doit.dependency import DatabaseException, SqliteDB
from doit.exceptions import InvalidCommand

NAME = "sqlite3-bounded"  # DOIT_CONFIG's "backend"; registered as a doit.BACKEND entry point


# sqlite3's words for a file that is not a database, or a damaged one: only then is deleting
# it the cure; a full disk, an I/O error or a folder that cannot be written are not the file's fault
_DAMAGED = ("file is not a database", "malformed", "corrupt")


def _unopened(name: str, reason: str) -> str:
    """Why the dependency file `name` could not be opened, from sqlite3's `reason`, and what to do."""
    if any(words in reason for words in _DAMAGED):
        return (f"{name} is not a dependency file the pipeline can read ({reason}); "
                "delete it: the next build makes every file again")
    return (f"{name}: the dependency file cannot be opened or created ({reason}); it is kept as it "
            "is: make room on the disk, or let this user write the build folder, and run again")


class ForeignBackend:
    """Stands in for doit's `json` and `dbm` backends, which cannot read the build's sqlite3
    file (a traceback) and on a new build would write one the next run cannot read: named by
    `--backend`, it refuses in one line, before anything runs."""

    desc = "refused: the build's records are kept in sqlite3"

    def __init__(self, name, codec, *, module_name=None):
        raise InvalidCommand(f"--backend: {name} keeps the build's records in sqlite3, which doit's "
                             "json and dbm backends cannot read; leave --backend out")


class BoundedSqliteDB(SqliteDB):
    """SqliteDB with at most `CACHED` task records in memory (see the module's docstring)."""

    desc = "sqlite3, with a bounded cache of task records"
    CACHED = 64

    def __init__(self, name, codec, *, module_name=None):
        try:
            super().__init__(name, codec, module_name=module_name)
        except DatabaseException as exc:  # a traceback under doit's own words, otherwise
            raise InvalidCommand(_unopened(name, str(exc).rpartition("Original error: ")[2])) from None
        except sqlite3.Error as exc:  # connecting, before doit's own check
            raise InvalidCommand(_unopened(name, str(exc))) from None
        self._last = (None, None)  # (task_id, record): doit asks about one task many times in a row
        self.unsaved = None  # why the run's records could not be saved, if they could not (see `dump`)
        self._failed = None  # the first sqlite3 error of a write during the run (a full disk)

    def dump(self):
        """doit's: every record written and committed, once, at the end of the run. When that
        fails (a full disk), `unsaved` says why, for the `run` command to report after the
        run's summary: raised here, it was a traceback in place of the summary."""
        try:
            if self._failed is not None:
                raise self._failed
            super().dump()
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()  # what the transaction wrote is rolled back
            self.unsaved = (f"{self.name}: this run's records could not be saved ({exc}); every file "
                            "written is whole, and the next run makes again what this one made")

    def get(self, task_id, dependency):
        return self._record(task_id).get(dependency, None)

    def set(self, task_id, dependency, value):
        self._record(task_id)[dependency] = value
        self._dirty.add(task_id)

    def remove(self, task_id):
        self._last = (None, None)
        self._cache.pop(task_id, None)
        self._dirty.discard(task_id)
        self._write("delete from doit where task_id=?", (task_id,))

    def remove_all(self):
        self._last = (None, None)
        self._cache.clear()
        self._dirty.clear()
        self._write("delete from doit", ())

    def _write(self, statement: str, values: tuple) -> bool:
        """Run a write of the run's transaction; False when it failed (a full disk), which
        is kept for `dump` to report: raised, it stopped the build with a traceback."""
        if self._failed is None:
            try:
                self._conn.execute(statement, values)
                return True
            except sqlite3.Error as exc:
                self._failed = exc
        return False

    def _record(self, task_id) -> dict:
        """The task's record, most recently used; the least recently used leaves memory."""
        last_id, last = self._last
        if task_id == last_id:
            return last
        cache = self._cache
        record = cache.pop(task_id, None)
        if record is None:
            record = self._get_task_data(task_id)  # the transaction's own writes included
        cache[task_id] = record  # dicts keep insertion order: the last is the newest
        if len(cache) > self.CACHED:
            oldest = next(iter(cache))
            if oldest not in self._dirty:
                del cache[oldest]
            elif self._write("insert or replace into doit values (?,?)", (oldest, self.codec.encode(cache[oldest]))):
                self._dirty.discard(oldest)
                del cache[oldest]
            # else: kept in memory; the run's records are not saved (see `dump`)
        self._last = (task_id, record)
        return record
