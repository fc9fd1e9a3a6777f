"""Which task runs next, and on which worker: the sub-tasks that read one frame sequence are
taken together, and by the worker that has its frames decoded already.

The GIF, WebP, video, thumbnails and contact sheet of an animation are five sub-tasks that
decode the same frames; a process keeps the frames it decoded last (`frames.RecentFrames`).
doit would run every GIF, then every WebP, and so on, handing each task to whichever worker
is free, so every worker decoded every sequence again. Here:

- `SequencedTaskControl` puts the sub-tasks that name a sequence in their `meta` (see
  `tasks.naming.reading`) first, grouped by sequence;
- `JobChooser` gives a free worker a job of a sequence it read last, else one of a sequence
  no other worker has, looking a few jobs ahead in doit's order; only when there is none
  does it take another worker's sequence (at the end of a build, so that no core idles).

Every job is still one doit hands out when its dependencies are done; only the order in
which the ready ones start changes.
"""
from __future__ import annotations

from collections import deque
from typing import Callable

from doit.control import TaskControl, TaskDispatcher
from doit.runner import JobHold

from .tasks.naming import SEQUENCE

LOOKAHEAD = 16  # jobs taken from doit ahead of the workers, looking for one of a new sequence
REMEMBERED = 2  # sequences a worker is taken to have decoded: as many as RecentFrames keeps at 800 px


class SequencedTaskControl(TaskControl):
    """doit's task control, dispatching the sub-tasks that read the same frame sequence one
    after another (see `by_sequence`)."""

    def task_dispatcher(self):
        assert self.selected_tasks is not None, "must call 'process' before this"
        return TaskDispatcher(self.tasks, self.targets, by_sequence(self.tasks, self.selected_tasks))


def by_sequence(tasks: dict, selected: list[str]) -> list[str]:
    """`selected`, preceded by the sub-tasks of those that name a sequence, grouped by it:
    the groups in the order their first sub-task comes, each in the order of `selected`.
    doit then runs the selected tasks as before: what is already done is not done again."""
    groups: dict[str, list[str]] = {}
    for name in selected:
        for sub in tasks[name].task_dep if tasks[name].has_subtask else ():
            sequence = sequence_of(tasks[sub])
            if sequence is not None:
                groups.setdefault(sequence, []).append(sub)
    return [sub for group in groups.values() for sub in group] + list(selected)


def sequence_of(task) -> str | None:
    """The sequence a doit task reads, if it names one."""
    return (task.meta or {}).get(SEQUENCE)


HOLD = "hold"  # JobChooser.job_for: nothing to run now, but more will come


class JobChooser:
    """The jobs doit's dispatcher handed out and no worker runs yet, and which one a free
    worker gets.

    `take(completed)` is doit's `MRunner.get_next_job`: it tells the dispatcher that the
    node `completed` (or None) finished and returns the next job, a JobHold (wait for a
    running task) or None (no task left). `sequence` names the sequence of a job.
    """

    def __init__(self, take: Callable, sequence: Callable, lookahead: int = LOOKAHEAD):
        self._take = take
        self._sequence = sequence
        self._lookahead = lookahead
        self._pending: list = []  # taken from doit, in its order
        self._waiting = False  # doit said hold on: nothing more until a task finishes
        self._exhausted = False  # doit has no task left to hand out
        self._read: dict[int, deque] = {}  # worker -> the sequences it ran last, latest last

    def finished(self, node) -> None:
        """Tell doit that `node` finished (which may make tasks ready)."""
        self._waiting = False
        self._pull(node)

    def drop_pending(self) -> None:
        """Forget the jobs not started (doit stops the build: they are not to run)."""
        self._pending.clear()

    def job_for(self, worker: int):
        """The job `worker` runs next; None when no task is left, HOLD when it must wait."""
        read = self._read.setdefault(worker, deque(maxlen=REMEMBERED))
        others = set().union(*(r for w, r in self._read.items() if w != worker))
        job = self._pick(read, others)
        while job is None and self._can_pull():
            self._pull(None)
            job = self._pick(read, others)
        if job is None and self._pending:  # nothing of its own or new: the oldest, to keep busy
            job = self._pending[0]
        if job is None:
            return None if self._exhausted else HOLD
        self._pending.remove(job)
        sequence = self._sequence(job)
        if sequence is not None:
            if sequence in read:
                read.remove(sequence)
            read.append(sequence)
        return job

    def _pick(self, read: deque, others: set):
        """A pending job of a sequence the worker read (the latest first), else one of a
        sequence no other worker read, else one that reads none."""
        for sequence in reversed(read):
            for job in self._pending:
                if self._sequence(job) == sequence:
                    return job
        fresh = [job for job in self._pending if self._sequence(job) not in others]
        named = [job for job in fresh if self._sequence(job) is not None]
        return (named or fresh or [None])[0]

    def _can_pull(self) -> bool:
        return not (self._exhausted or self._waiting) and len(self._pending) < self._lookahead

    def _pull(self, completed) -> None:
        job = self._take(completed)
        if job is None:
            self._exhausted = True
        elif job.type is JobHold.type:
            self._waiting = True
        else:
            self._pending.append(job)
