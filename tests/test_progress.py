"""The progress reporter, run by doit itself: counts, sizes, time left, failures, summary."""
from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import pytest
from doit.cmd_base import ModuleTaskLoader
from doit.doit_cmd import DoitMain
from doit.exceptions import TaskFailed
from doit.loader import load_tasks
from doit.tools import config_changed

from pipeline.readable import format_bytes
from pipeline.progress import CLEAR_LINE, ProgressReporter, failed_line, tasks_to_count
from pipeline.tasks import doit_namespace

SIZES = {"a.bin": 100, "b.bin": 2_500, "c.bin": 3_000_000}
SUMMARY = re.compile(r"^pipeline: (\d+) built, (\d+) up to date, (\d+) failed(?:, (\d+) ignored)?; "
                     r"(.+) written in [\d.]+ s$", re.MULTILINE)


class Terminal(io.StringIO):
    """What doit writes to, pretending to be a terminal."""

    def isatty(self):
        return True


def write_file(path: str, size: int) -> None:
    time.sleep(0.01)  # long enough for a rate, short enough for a test
    Path(path).write_bytes(b"x" * size)


def fail_with(text: str):
    return TaskFailed(text)


def namespace(folder: Path, reporter, *, failing: str | None = None) -> dict:
    """A dodo namespace: one sub-task per file of SIZES, plus one that fails with `failing`."""
    folder.mkdir(parents=True, exist_ok=True)

    def task_out():
        """Files of known sizes."""
        for name, size in SIZES.items():
            target = str(folder / name)
            yield {"name": name, "actions": [(write_file, [target, size])], "targets": [target],
                   "uptodate": [config_changed({"size": size})], "clean": True}
        if failing:
            yield {"name": "broken.bin", "actions": [(fail_with, [failing])],
                   "targets": [str(folder / "broken.bin")]}

    return {"DOIT_CONFIG": {"dep_file": str(folder / ".doit.db"), "backend": "sqlite3",
                            "continue": True, "reporter": reporter, "default_tasks": ["out"]},
            "task_out": task_out}


def run(ns: dict, *args: str) -> int:
    return DoitMain(ModuleTaskLoader(ns)).run(list(args))


def summary(text: str) -> tuple:
    (match,) = SUMMARY.findall(text.replace(CLEAR_LINE, "\n"))
    return match


@pytest.fixture
def terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    return Terminal()


def test_terminal_shows_each_output_with_size_count_and_time_left(tmp_path, terminal):
    reporter = ProgressReporter(terminal, {})
    assert run(namespace(tmp_path, reporter)) == 0
    lines = terminal.getvalue().splitlines()
    built = [line for line in lines if line.startswith("[")]
    assert len(built) == 3
    for k, (line, (name, size)) in enumerate(zip(built, SIZES.items()), 1):
        assert line.startswith(f"[{k}/3] ")
        assert f"{name}  {format_bytes(size)}" in line
    assert re.search(r"~[\d.]+ s left$", built[0])  # a rate is known after the first output ...
    assert "left" not in built[-1]  # ... and nothing is left after the last
    assert summary(terminal.getvalue()) == ("3", "0", "0", "", "3.0 MB")
    assert lines[-1].startswith("pipeline: 3 built")


def test_up_to_date_tasks_share_one_redrawn_status_line(tmp_path, terminal):
    run(namespace(tmp_path, ProgressReporter(io.StringIO(), {})))
    reporter = ProgressReporter(terminal, {})
    assert run(namespace(tmp_path, reporter)) == 0
    text = terminal.getvalue()
    assert summary(text) == ("0", "3", "0", "", "0 B")
    assert "[3/3] up to date: out:c.bin" in text
    # what stays on the terminal: each line as left after its last carriage return
    visible = [line.rsplit("\r", 1)[-1].replace("\x1b[K", "") for line in text.split("\n") if line]
    assert len(visible) == 1 and visible[0].startswith("pipeline: 0 built, 3 up to date")


def test_a_failure_is_shown_with_its_page_and_line_even_when_quiet(tmp_path):
    log = io.StringIO()  # not a terminal: quiet
    message = "pages/muscle_thigh.md:14: missing: gallery frame 'muscles/png/Thigh-3.png' does not exist"
    assert run(namespace(tmp_path, ProgressReporter(log, {}), failing=message)) != 0
    text = log.getvalue()
    assert "FAILED out:broken.bin\n    " + message + "\n" in text
    assert re.search(r"^\[\d/4\] FAILED out:broken.bin$", text, re.MULTILINE)
    assert "a.bin" not in text  # successes are not listed when quiet
    assert "failed: out:broken.bin\n" in text
    assert summary(text) == ("3", "0", "1", "", "3.0 MB")


def delete_source_and_write(source: str, target: str) -> None:
    Path(target).write_bytes(Path(source).read_bytes())
    Path(source).unlink()  # as if someone deleted the frame while the task ran


def test_a_source_deleted_while_its_task_ran_is_named_in_plain_words(tmp_path):
    source, target = tmp_path / "frame.png", tmp_path / "out.bin"
    source.write_bytes(b"frame")
    log = io.StringIO()

    def task_copy():
        return {"actions": [(delete_source_and_write, [str(source), str(target)])],
                "file_dep": [str(source)], "targets": [str(target)]}

    ns = {"DOIT_CONFIG": {"dep_file": str(tmp_path / ".doit.db"), "backend": "sqlite3",
                          "reporter": ProgressReporter(log, {}), "default_tasks": ["copy"]},
          "task_copy": task_copy}
    assert run(ns) != 0
    text = log.getvalue()
    assert re.search(rf"^\[1/1\] FAILED copy\n    {re.escape(str(source))}: deleted while the task ran, so "
                     "what it made is not kept as up to date; run the build again", text, re.MULTILINE), text
    assert "DependencyError" not in text and "saving success" not in text


def test_verbosity_zero_is_quiet_on_a_terminal_too(tmp_path, terminal):
    assert run(namespace(tmp_path, ProgressReporter(terminal, {})), "--verbosity", "0") == 0
    assert terminal.getvalue().splitlines() == [terminal.getvalue().strip()]
    assert summary(terminal.getvalue())[:3] == ("3", "0", "0")


def test_runs_in_parallel_processes(tmp_path):
    log = io.StringIO()
    assert run(namespace(tmp_path, ProgressReporter(log, {}), failing="x.md:3: bad-manifest: no"),
               "-n", "2") != 0
    assert summary(log.getvalue())[:3] == ("3", "0", "1")
    assert "    x.md:3: bad-manifest: no\n" in log.getvalue()


def test_doit_json_reporter_still_replaces_it(tmp_path):
    out = tmp_path / "out.json"
    assert run(namespace(tmp_path, ProgressReporter), "--reporter", "json", "--output-file", str(out)) == 0
    results = json.loads(out.read_text())
    assert sorted(t["result"] for t in results["tasks"]) == ["success"] * 4  # 3 files and their group


def test_the_pipeline_uses_it_and_names_page_and_line_of_a_failed_verify(small_site):
    (small_site.images / "muscles/png/Leg-Soleus-3.png").unlink()
    ns = doit_namespace(small_site.config)
    assert ns["DOIT_CONFIG"]["reporter"] is ProgressReporter
    log = small_site.root / "log.txt"
    assert run(ns, "--verbosity", "0", "--output-file", str(log), "verify") == 1
    text = log.read_text()
    assert "[1/1] FAILED verify\n    verify: 2 pages, 32 gallery frames: 1 errors, 0 warnings\n" in text
    # captured by --verbosity 0, so shown with the failure: the page and line of the problem
    assert ("    muscles/muscle_leg-soleus.md:18: missing: gallery frame 'muscles/png/Leg-Soleus-3.png' "
            "does not exist under the image root\n") in text
    assert summary(text)[:3] == ("0", "0", "1")


def test_counts_only_tasks_with_actions_that_the_selection_needs(tmp_path):
    tasks = {t.name: t for t in load_tasks(namespace(tmp_path, ProgressReporter, failing="x"))}
    assert tasks_to_count(tasks, ["out"]) == {"out:a.bin", "out:b.bin", "out:c.bin", "out:broken.bin"}
    assert tasks_to_count(tasks, ["out:b.bin"]) == {"out:b.bin"}


def test_time_left_follows_the_rate_so_far():
    reporter = ProgressReporter(io.StringIO(), {})
    reporter.total, reporter.done = 10, 0
    assert reporter.time_left() is None
    reporter.done, reporter.started = 4, time.monotonic() - 8.0
    assert reporter.time_left() == pytest.approx(12.0, abs=0.5)
    reporter.done = 10
    assert reporter.time_left() is None



def test_hundreds_of_failures_close_with_the_first_ten_and_a_count():
    names = [f"gif:images/muscles/gif/M{n}.gif" for n in range(466)]
    assert failed_line(names) == ("failed: " + ", ".join(names[:10]) + " and 456 more, each shown above")
    assert failed_line(names[:10]) == "failed: " + ", ".join(names[:10])
