"""BoundedSqliteDB: doit's sqlite3 records, a bounded number in memory, committed once."""
import sqlite3
import subprocess
import sys

import pytest

from doit.dependency import JSONCodec, SqliteDB

from pipeline.tasks.backend import BoundedSqliteDB


def record(n: int) -> dict:
    return {f"frames/{n}-{k}.png": [1700000000.0 + k, 1000 + n, f"md5-{n}-{k}"] for k in range(16)}


def test_records_leave_memory_and_come_back_unchanged(tmp_path):
    path = str(tmp_path / "deps.db")
    db = BoundedSqliteDB(path, JSONCodec())
    for n in range(500):
        for dep, state in record(n).items():
            db.set(f"task{n}", dep, state)
        assert len(db._cache) <= BoundedSqliteDB.CACHED
    # read back while the run goes on: from memory or from the open transaction
    for n in (0, 137, 499):
        assert {dep: db.get(f"task{n}", dep) for dep in record(n)} == record(n)
    db.set("task0", "result:", "abc")  # a record read back and written again keeps the rest
    assert db.get("task7", "frames/7-0.png") is not None
    db.remove("task7")  # `doit forget`: gone, though it was the record just read
    assert db.get("task7", "frames/7-0.png") is None
    db.dump()
    reopened = SqliteDB(path, JSONCodec())  # doit's own backend reads the same file
    for n in (0, 1, 250, 499):
        assert {dep: reopened.get(f"task{n}", dep) for dep in record(n)} == record(n)
    assert reopened.get("task7", "frames/7-0.png") is None
    assert reopened.get("task0", "result:") == "abc"


def finished_run(path: str) -> None:
    """The dependency file as a finished run leaves it: one record, `old`."""
    first = BoundedSqliteDB(path, JSONCodec())
    first.set("old", "result:", "1")
    first.dump()


def test_nothing_is_committed_before_the_run_ends(tmp_path):
    path = str(tmp_path / "deps.db")
    finished_run(path)
    run = BoundedSqliteDB(path, JSONCodec())
    for n in range(300):  # far more than the cache: many records already written to the transaction
        run.set(f"task{n}", "result:", str(n))
    run.remove("old")
    # what a build killed now would leave: the last finished run's records only
    rows = sqlite3.connect(path, timeout=0.1).execute("select task_id from doit").fetchall()
    assert rows == [("old",)]
    run.dump()
    rows = sqlite3.connect(path).execute("select count(*) from doit").fetchone()
    assert rows == (300,)


class FullDisk:
    """A connection whose writes fail as sqlite3's do when the disk is full."""

    def __init__(self, connection):
        self.connection = connection

    def execute(self, *args):
        if args[0].startswith(("insert", "delete")):
            raise sqlite3.OperationalError("database or disk is full")
        return self.connection.execute(*args)

    def commit(self):
        raise sqlite3.OperationalError("database or disk is full")

    def close(self):
        self.connection.close()


def test_records_that_cannot_be_saved_are_said_not_raised(tmp_path):
    path = str(tmp_path / "deps.db")
    finished_run(path)
    run = BoundedSqliteDB(path, JSONCodec())
    run.set("new", "result:", "2")
    run._conn = FullDisk(run._conn)
    run.dump()  # doit calls it as the run ends: a raise here was a traceback in place of the summary
    assert run.unsaved == (f"{path}: this run's records could not be saved (database or disk is full); every "
                           "file written is whole, and the next run makes again what this one made")
    assert sqlite3.connect(path).execute("select task_id from doit").fetchall() == [("old",)]


def test_writes_that_fail_during_the_run_are_said_at_its_end_not_raised(tmp_path):
    path = str(tmp_path / "deps.db")
    finished_run(path)
    run = BoundedSqliteDB(path, JSONCodec())
    run._conn = FullDisk(run._conn)
    run.remove("old")  # doit forgets a failed task's record: a raise here stopped the build
    for n in range(BoundedSqliteDB.CACHED * 2):  # records leaving memory are written: they fail
        run.set(f"task{n}", "result:", str(n))
    assert run.get("task0", "result:") == "0"  # kept in memory instead, for the rest of the run
    run.dump()
    assert run.unsaved.startswith(f"{path}: this run's records could not be saved (database or disk is full)")
    assert sqlite3.connect(path).execute("select task_id from doit").fetchall() == [("old",)]


@pytest.mark.parametrize("damage", [b"garbage " * 100, None])
def test_a_damaged_dependency_file_is_an_error_line(tmp_path, damage):
    from doit.exceptions import InvalidCommand

    path = tmp_path / "deps.db"
    finished_run(str(path))
    path.write_bytes(damage if damage is not None else path.read_bytes()[:100])  # garbage, or cut short
    with pytest.raises(InvalidCommand, match=rf"^{path} is not a dependency file the pipeline can read \(.+\); "
                                             "delete it: the next build makes every file again$"):
        BoundedSqliteDB(str(path), JSONCodec())


def test_a_dependency_file_that_cannot_be_written_is_not_called_damaged(tmp_path):
    # files may not grow past 1000 bytes here (as on a full disk, the first page of a new
    # database cannot be written): sqlite3 says 'disk I/O error', and the file is not to blame
    path = tmp_path / "deps.db"
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1000, resource.RLIM_INFINITY))\n"
        "from doit.dependency import JSONCodec\n"
        "from pipeline.tasks.backend import BoundedSqliteDB\n"
        "try:\n"
        "    BoundedSqliteDB(sys.argv[1], JSONCodec())\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n")
    said = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True).stdout
    assert said.startswith(f"InvalidCommand {path}: the dependency file cannot be opened or created (")
    assert said.rstrip().endswith("it is kept as it is: make room on the disk, or let this user write the "
                                  "build folder, and run again")
    assert "delete it" not in said
