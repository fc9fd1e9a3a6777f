"""A doit reporter for long builds: each finished output with its size, `[k/N]`, time left.

doit calls the methods below (the interface of `doit.reporter.ConsoleReporter`); the
pipeline names this class in DOIT_CONFIG, and `--reporter json` (or any other built-in
reporter) still replaces it from the command line.

What is printed:
- On a terminal, one line per output a task wrote: `[k/N] path  size  ~time left`; while
  up-to-date tasks are checked, a single status line is redrawn in place instead.
- Failures always, at once: the task, its failure text (which names `page:line: code:`)
  and whatever output of it was captured rather than shown.
- Always, last: one summary line (built, up to date, failed; bytes written; time).
Nothing else when the output is not a terminal (a log file, CI) or with `--verbosity 0`,
so logs hold what went wrong and how the run ended, not thousands of progress lines.
"""
from __future__ import annotations

import os
import re
import sys
import time

from doit.exceptions import DependencyError, TaskFailed, UnmetDependency
from .readable import format_bytes, format_seconds

CLEAR_LINE = "\r\x1b[K"
# doit's text when a source of a task that succeeded is gone by the time it is recorded
VANISHED_SOURCE = re.compile(r"saving success: Dependent file '(?P<path>.+)' does not exist\.\s*$", re.DOTALL)
REDRAW_EVERY = 0.1  # seconds between redraws of the status line


class ProgressReporter:
    """doit reporter: progress lines on a terminal, failures and a summary everywhere."""

    desc = "each output with its size, [k/N] and time left; failures; a summary"

    def __init__(self, outstream, options):
        self.outstream = outstream
        self.failure_verbosity = options.get("failure_verbosity", 0)
        self.terminal = is_terminal(outstream)
        self.started = time.monotonic()
        self.total = 0
        self.done = 0
        self.counts = {"built": 0, "up to date": 0, "failed": 0, "ignored": 0}
        self.bytes_written = 0
        self.failed: list[str] = []
        self.runtime_errors: list[str] = []
        self._status_shown = False
        self._last_draw = 0.0

    def write(self, text: str) -> None:
        self.outstream.write(text)
        self.outstream.flush()

    # ---- doit's reporter interface ----------------------------------------------------

    def initialize(self, tasks, selected_tasks):
        """Count the tasks this run may execute: the selected ones and all they need."""
        self.started = time.monotonic()
        self.total = len(tasks_to_count(tasks, selected_tasks))

    def get_status(self, task):
        pass

    def execute_task(self, task):
        self._clear_status()  # the task may print; it must not land on the status line

    def add_success(self, task):
        if not counted(task):
            return
        self._finish("built")
        sizes = [(target, file_size(target)) for target in task.targets]
        self.bytes_written += sum(size for _, size in sizes if size is not None)
        if self._loud(task):
            self._clear_status()
            self.write(self._line(sizes, task.name))

    def add_failure(self, task, fail):
        if not counted(task) and isinstance(fail, UnmetDependency):
            return  # a group task whose sub-task failed: that failure was shown already
        if counted(task):
            self._finish("failed")
        self.failed.append(task.name)
        if not fail.report:
            return
        self._clear_status()
        text = fail.get_msg()
        vanished = VANISHED_SOURCE.search(text) if isinstance(fail, DependencyError) else None
        if isinstance(fail, UnmetDependency):
            why = " (not run: a task it needs failed)"
        elif isinstance(fail, TaskFailed) or vanished:
            why = ""
        else:
            why = f" ({fail.get_name()})"
        if vanished:
            text = (f"{display_path(vanished['path'])}: deleted while the task ran, so what it made is not "
                    "kept as up to date; run the build again (verify names the page and line that lists it)")
        self.write(f"{self._count()} FAILED {task.name}{why}\n{indent(text)}")
        self.write(indent(captured_output(task, self.failure_verbosity)))

    def skip_uptodate(self, task):
        if counted(task):
            self._finish("up to date")
            if self._loud(task):
                self._draw_status(f"{self._count()} up to date: {task.name}")

    def skip_ignore(self, task):
        if counted(task):
            self._finish("ignored")
            if self._loud(task):
                self._clear_status()
                self.write(f"{self._count()} ignored {task.name}\n")

    def cleanup_error(self, exception):
        self._clear_status()
        sys.stderr.write(exception.get_msg())

    def runtime_error(self, msg):
        self.runtime_errors.append(msg)  # shown after the task failures, as doit does

    def teardown_task(self, task):
        pass

    def complete_run(self):
        self._clear_status()
        if self.failed:
            self.write(failed_line(self.failed) + "\n")
        if self.runtime_errors:
            self.write("Execution aborted.\n" + "\n".join(self.runtime_errors) + "\n")
        self.write(self.summary() + "\n")

    # ---- text -------------------------------------------------------------------------

    def summary(self) -> str:
        """`pipeline: 3 built, 40 up to date, 1 failed; 2.1 MB written in 4.2 s`."""
        counts = [f"{n} {what}" for what, n in self.counts.items() if n or what != "ignored"]
        elapsed = time.monotonic() - self.started
        return (f"pipeline: {', '.join(counts)}; {format_bytes(self.bytes_written)} written "
                f"in {format_seconds(elapsed)}")

    def time_left(self) -> float | None:
        """Seconds left at the rate of this run so far; None until there is a rate."""
        if not self.done or self.done >= self.total:
            return None
        return (time.monotonic() - self.started) / self.done * (self.total - self.done)

    def _line(self, sizes, name: str) -> str:
        left = self.time_left()
        eta = f"  ~{format_seconds(left)} left" if left is not None else ""
        if not sizes:
            return f"{self._count()} {name} done{eta}\n"
        lines = []
        for target, size in sizes:
            shown = format_bytes(size) if size is not None else "not written"
            lines.append(f"{self._count()} {display_path(target)}  {shown}{eta}\n")
            eta = ""
        return "".join(lines)

    def _count(self) -> str:
        width = len(str(self.total))
        return f"[{self.done:>{width}}/{self.total}]"

    def _finish(self, outcome: str) -> None:
        self.done += 1
        self.counts[outcome] += 1
        self.total = max(self.total, self.done)  # tasks created while running (delayed)

    def _loud(self, task) -> bool:
        return self.terminal and task.verbosity != 0

    def _draw_status(self, text: str) -> None:
        now = time.monotonic()
        if now - self._last_draw < REDRAW_EVERY and self.done < self.total:
            return
        self._last_draw = now
        self.write(CLEAR_LINE + text[: terminal_width() - 1])
        self._status_shown = True

    def _clear_status(self) -> None:
        if self._status_shown:
            self.write(CLEAR_LINE)
            self._status_shown = False


def tasks_to_count(tasks: dict, selected: list[str]) -> set[str]:
    """Names of the tasks with actions among `selected` and everything they depend on."""
    seen, pending = set(), list(selected)
    while pending:
        name = pending.pop()
        if name in seen or name not in tasks:
            continue
        seen.add(name)
        task = tasks[name]
        pending.extend(task.task_dep)
        pending.extend(task.setup_tasks)
        pending.extend(task.calc_dep)
    return {name for name in seen if counted(tasks[name])}


def counted(task) -> bool:
    """Group tasks (no actions) and hidden tasks (`_name`) make no output of their own."""
    return bool(task.actions) and not task.name.startswith("_")


def captured_output(task, failure_verbosity: int) -> str:
    """What a failed task printed that doit captured instead of showing (as doit's console)."""
    if not task.executed:
        return ""
    parts = []
    if task.verbosity < 1 or failure_verbosity > 0:
        parts.append("".join(a.err for a in task.actions if a.err))
    if task.verbosity < 2 or failure_verbosity == 2:
        parts.append("".join(a.out for a in task.actions if a.out))
    return "".join(p if p.endswith("\n") else p + "\n" for p in parts if p.strip())


def indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.rstrip("\n").splitlines())


def is_terminal(stream) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


def terminal_width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 80


def file_size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def display_path(path: str) -> str:
    """Relative to the current folder when below it, else as given."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith("..") else relative


def failed_line(names: list[str], shown: int = 10) -> str:
    """The closing list of failed tasks: the first `shown` of them, then how many more (a
    site whose frames are all missing fails hundreds, each already shown with its message)."""
    more = len(names) - shown
    listed = ", ".join(names[:shown])
    return f"failed: {listed}" + (f" and {more} more, each shown above" if more > 0 else "")
