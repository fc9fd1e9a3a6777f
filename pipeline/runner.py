"""doit's `run` command with workers whose memory does not grow with the site, each given
its jobs by `dispatch` (the sub-tasks of one frame sequence together, on one worker).

doit's process runner (`-n 2`) forks its workers from the process that holds every task
and doit's dependency cache, or under forkserver pickles all the tasks into each worker:
either way a worker starts as large as the whole build's bookkeeping (111 MiB at 250
animations against 59 MiB at 25). Here the workers are started by a forkserver, which has
imported only doit, the pipeline and its encoders, and each receives just the task it is to run.

`pipeline` uses this command; `doit` in the repository does too, through pyproject.toml's
`[tool.doit.plugins.command]`.
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import multiprocessing
import os
import queue
import select
import signal
import sys
import threading
import time

from doit import cmd_run
from doit.control import TaskControl
from doit.runner import ERROR, JobTask, JobTaskPickle, MRunner

from .dispatch import HOLD, JobChooser, SequencedTaskControl, sequence_of
from .tasks.refresh import refresh_records


# Imported once by the forkserver, before it starts the first worker, so that every worker
# starts with them: the runner it is given and the encoders the actions import where they run
# (numpy, Pillow, ffmpeg's wrapper). Each worker imported them itself before, in its first
# task: 0.2-0.3 s of CPU each, on a cold file cache
WORKER_MODULES = ("pipeline.runner", "pipeline.encode", "pipeline.thumbnails", "pipeline.contact",
                  "pipeline.pngcopy")


class LeanMRunner(MRunner):
    """doit's MRunner, sending each worker the task to run instead of all of them."""

    def __getstate__(self):
        state = super().__getstate__()
        state["tasks"] = None  # pickled into every worker otherwise
        state["teardown_list"] = []  # teardowns of tasks finished here are run here, once
        state["main_pid"] = os.getpid()  # pickled here, in the build's own process
        return state

    def select_task(self, node, tasks_dict):
        """doit's choice, except that a task with no actions (a group, `report:wait`) is
        finished here: no worker, nor the forkserver, is started for nothing on a no-op run."""
        if not super().select_task(node, tasks_dict):
            return False
        if node.task.actions:
            return True
        self.process_task_result(node, self.execute_task(node.task))
        return False

    def execute_task_subprocess(self, job_q, result_q, reporter_class):
        """A worker's loop (doit's), noting that this process is a worker, which ends with
        the build's own process (see `_leave_with`)."""
        self.in_worker = True
        _leave_with(getattr(self, "main_pid", None) or os.getppid())  # forked: the build's is the parent
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # held since the forkserver started
        return super().execute_task_subprocess(job_q, result_q, reporter_class)

    def execute_task(self, task):
        """doit's, and then, in a worker, the heap's free pages go back to the system: a
        worker runs hundreds of tasks, and without this each one started from the highest
        footprint of those before it (the last tasks of a 250-animation build peaked 12 MiB
        above the same tasks run alone)."""
        failure = super().execute_task(task)
        if getattr(self, "in_worker", False):
            _trim_heap()
        return failure

    def run_tasks(self, task_dispatcher):
        """doit's loop, with a job queue for each worker, so that `JobChooser` decides which
        worker runs what; ended with an error line (and the records of every finished task
        kept) when a worker dies in the middle of a task: doit waits for the next result for
        ever, so a worker killed (by the kernel short of memory, or by hand) hung the build."""
        self._run_tasks_init(task_dispatcher)
        chooser = JobChooser(self.get_next_job, lambda job: sequence_of(self.tasks[job.name]))
        result_q = self.Queue()
        workers, queues, running, idle = [], {}, {}, set(range(self.num_process))

        def give(worker: int, job) -> None:
            """Send `worker` the `job` JobChooser chose for it, starting the worker with its
            first; None ends a started worker; HOLD leaves it idle."""
            if job is HOLD or (job is None and worker not in queues):
                return
            idle.discard(worker)
            if worker not in queues:
                queues[worker] = self.Queue()
                workers.append(self.Child(target=self.execute_task_subprocess,
                                          args=(queues[worker], result_q, self.reporter.__class__)))
                with _interrupt_after_start():
                    workers[-1].start()
            queues[worker].put(job)
            if job is not None:
                running[job.name] = worker

        try:
            for worker in range(self.num_process):
                give(worker, chooser.job_for(worker))
                if worker not in running.values():
                    break  # nothing for it: none for the next ones either, yet
            get = functools.partial(_result_or_dead_worker, result_q.get, workers, set())
            while running:
                result = get()
                if "exit" in result:
                    raise result["exit"](result["exception"])
                node = task_dispatcher.nodes[result["name"]]
                if "reporter" in result:
                    getattr(self.reporter, result["reporter"])(node.task)
                    continue
                self._process_result(node, node.task, result)
                idle.add(running.pop(result["name"]))
                chooser.finished(node)
                if self._stop_running:
                    chooser.drop_pending()
                for worker in sorted(idle):
                    give(worker, chooser.job_for(worker))
            for worker in sorted(idle):  # held to the end: nothing came for them
                give(worker, None)
        except WorkerDied as exc:
            self._stop(workers)
            self.reporter.runtime_error(f"{exc}\n")
            self.final_result = ERROR
            return
        except (SystemExit, KeyboardInterrupt, Exception):
            self._stop(workers)
            raise
        for worker in workers:
            worker.join()
        while not result_q.empty():  # the teardowns' reports; safe: the workers are gone
            result = result_q.get()
            getattr(self.reporter, result["reporter"])(self.tasks[result["name"]])

    @staticmethod
    def _stop(workers) -> None:
        for worker in workers:
            if worker.pid is not None:  # one that failed to start has nothing to stop
                worker.terminate()

    def get_next_job(self, completed):
        job = super().get_next_job(completed)
        if isinstance(job, JobTaskPickle):  # names a task the worker would look up in `tasks`
            return JobTask(self.tasks[job.name])
        return job

    def _process_result(self, node, task, result):
        """doit's, taking from the worker's copy of the task only the attributes that running
        it changed (its values, result, `executed`). doit takes them all, so every finished
        task's file_dep, targets and names were replaced by unpickled copies: 8 MiB of objects
        more in this process by the end of a 250-animation build (its peak RSS 69 MiB against
        64), where the task's own were shared."""
        mine = task.__dict__
        result["task"] = {key: value for key, value in result["task"].items()
                          if key not in mine or not _equal(mine[key], value)}
        super()._process_result(node, task, result)


class Run(cmd_run.Run):
    """doit's `run`, dispatching by SequencedTaskControl, with `-n N` on LeanMRunner's
    workers under the forkserver start method (unless the program chose a start method
    itself)."""

    # doit passes the options by the names of `_execute`'s parameters: all of them, spelled out
    def _execute(self, outfile, verbosity=None, always=False, continue_=False, reporter="console",
                 num_process=0, par_type="process", single=False, auto_delayed_regex=False,
                 force_verbosity=False, failure_verbosity=0, pdb=False):
        options = dict(verbosity=verbosity, always=always, continue_=continue_, reporter=reporter,
                       num_process=num_process, par_type=par_type, single=single,
                       auto_delayed_regex=auto_delayed_regex, force_verbosity=force_verbosity,
                       failure_verbosity=failure_verbosity, pdb=pdb)
        refresh_records(self.dep_manager)
        result = self._run(outfile, options)
        unsaved = getattr(self.dep_manager.backend, "unsaved", None)  # see BoundedSqliteDB.dump
        if unsaved:
            print(f"pipeline: {unsaved}", file=sys.stderr)
            return ERROR
        return result

    def _run(self, outfile, options: dict):
        # doit picks its classes by these module-level names, with no other hook
        cmd_run.TaskControl = SequencedTaskControl
        try:
            if not options["num_process"] or options["par_type"] != "process":
                return super()._execute(outfile, **options)
            return self._run_on_workers(outfile, options)
        finally:
            cmd_run.TaskControl = TaskControl

    def _run_on_workers(self, outfile, options: dict):
        _leave_a_deleted_folder()
        chosen = multiprocessing.get_start_method(allow_none=True) is not None
        preload = _forkserver_preload()
        if not chosen:  # for this run only: the calling program's default is left as it was
            multiprocessing.set_start_method("forkserver")
            multiprocessing.set_forkserver_preload(list(WORKER_MODULES))
        cmd_run.MRunner = LeanMRunner
        try:
            return super()._execute(outfile, **options)
        finally:
            cmd_run.MRunner = MRunner
            if not chosen:
                _stop_forkserver()
                multiprocessing.set_start_method(None, force=True)
                multiprocessing.set_forkserver_preload(preload)


def _leave_a_deleted_folder() -> None:
    """Move to the root folder when the current one was deleted (the shell was still in it):
    multiprocessing asks for it to start a worker, and failed with a traceback. Every path
    the pipeline uses is absolute by then (settings are found relative to their file)."""
    try:
        os.getcwd()
    except FileNotFoundError:
        os.chdir("/")


class WorkerDied(Exception):
    """A worker process ended in the middle of a task."""


def _result_or_dead_worker(get, workers: list, running: set[str], poll: float = 0.5) -> dict:
    """The next message from the workers (`get` is the result queue's own), looking every
    `poll` seconds whether one of `workers` died; `running` follows which tasks started
    (doit's workers say so before each) and have not finished, to name them."""
    while True:
        try:
            result = get(timeout=poll)
        except queue.Empty:
            dead = [worker for worker in workers if worker.exitcode not in (None, 0)]
            if dead:
                raise WorkerDied(_died(dead[0].exitcode, sorted(running))) from None
            continue
        if "name" in result:
            (running.add if "reporter" in result else running.discard)(result["name"])
        return result


def _died(exitcode: int, running: list[str]) -> str:
    try:
        how = f"was killed by {signal.Signals(-exitcode).name}" if exitcode < 0 else f"ended with status {exitcode}"
    except ValueError:  # a signal without a name here
        how = f"was killed by signal {-exitcode}"
    return (f"pipeline: a worker process {how} (out of memory?) while it ran "
            f"{'one of ' if len(running) > 1 else ''}{', '.join(running) or 'a task'}; the build stops here: "
            "every file written so far is whole and kept, and the next run goes on from there")


def _equal(mine, theirs) -> bool:
    """Whether a task attribute came back unchanged; a value that cannot say (an array, an
    object whose == raises) counts as changed, and is taken as doit would."""
    try:
        return mine is theirs or bool(mine == theirs)
    except Exception:  # noqa: BLE001 -- any failure to compare means "take the worker's"
        return False


@contextlib.contextmanager
def _interrupt_after_start():
    """Ctrl-C while a worker starts takes effect once it has started. Interrupted in the
    middle, the worker came to be with no pid to stop it by, and held the forkserver, which
    the build waited for: for ever. SIGINT is also held (blocked) in this thread, so that the
    forkserver, started with the first worker, inherits it held and is not interrupted (a
    traceback) while it imports; it ignores SIGINT after, and each worker lets it through."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is None:
        yield  # signals are the main thread's; None: a handler set outside Python, not to be replaced
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *_: caught.append(True))
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)  # one that came meanwhile arrives now
        signal.signal(signal.SIGINT, previous)
        if caught:  # as it would have been taken: KeyboardInterrupt, or nothing if ignored
            signal.raise_signal(signal.SIGINT)


def _leave_with(pid: int) -> None:
    """End this worker as soon as process `pid`, the build's, is gone, even killed with
    SIGKILL. Otherwise the workers wait for their next task forever, and so does the
    forkserver, since each worker holds the pipe that would tell it the build is over. A
    daemon thread waits on a pidfd (Linux 5.3 and later), or else looks every second. What a
    worker leaves half written is a temporary file, which the next build removes."""
    def wait() -> None:
        try:
            handle = os.pidfd_open(pid)
        except (AttributeError, OSError):  # no pidfd here: look now and then
            while _alive(pid):
                time.sleep(1.0)
        else:
            select.select([handle], [], [])  # readable once the process has ended
        os._exit(70)  # EX_SOFTWARE; nobody reads it: the build is gone

    threading.Thread(target=wait, name="leave-with-the-build", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user: a new process with the old number
        return False
    return True


def _trim_heap() -> None:
    """glibc's malloc_trim(0): free memory at the top and in the middle of the heap is
    returned to the system. A no-op where the C library has no such call."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


@functools.cache
def _libc():
    try:
        return ctypes.CDLL(None)  # the running process's own symbols, libc's among them
    except (OSError, TypeError):  # Windows has no such handle
        return None


def _forkserver_preload() -> list[str]:
    """The modules the forkserver would import now: multiprocessing has no public getter."""
    from multiprocessing import forkserver

    return list(getattr(getattr(forkserver, "_forkserver", None), "_preload_modules", None) or ["__main__"])


def _stop_forkserver() -> None:
    """Stop and reap the forkserver (which reaped the workers): no process outlives the
    build, and its resource use counts as the build's (`/usr/bin/time -v` would miss the
    workers otherwise). `_stop` is how CPython's own tests do it; there is no public call."""
    from multiprocessing import forkserver

    stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)
    if stop is not None:
        stop()

