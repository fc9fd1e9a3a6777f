"""The `run` command's process runner: each worker gets only its task, no-action tasks start none."""
import importlib.util
import multiprocessing
import pickle

from doit.runner import JobHold, JobTask

from pipeline import runner
from pipeline.tasks import doit_main, doit_namespace


def test_workers_receive_one_task_not_all(small_site, monkeypatch):
    jobs, states = [], []
    real_next, real_state = runner.LeanMRunner.get_next_job, runner.LeanMRunner.__getstate__

    def next_job(self, completed):
        job = real_next(self, completed)
        jobs.append(job)
        return job

    def state(self):
        result = real_state(self)
        states.append(len(pickle.dumps(result)))
        assert result["tasks"] is None
        return result

    monkeypatch.setattr(runner.LeanMRunner, "get_next_job", next_job)
    monkeypatch.setattr(runner.LeanMRunner, "__getstate__", state)
    assert doit_main(doit_namespace(small_site.config)).run(["-n", "2", "gif", "webp"]) == 0
    sent = [job for job in jobs if job is not None and job.type is not JobHold.type]
    assert sent and all(isinstance(job, JobTask) for job in sent)
    assert {job.name for job in sent} == {f"{fmt}:images/muscles/gif/{name}.{fmt}"
                                          for fmt in ("gif", "webp") for name in ("Leg-Soleus", "Arm-Biceps")}
    assert len(states) == 2  # one pickled runner per worker, under forkserver
    assert max(states) < 10_000  # without the tasks: a few KB
    assert (small_site.build / "images/muscles/gif/Leg-Soleus.webp").stat().st_size > 0
    assert multiprocessing.get_start_method(allow_none=True) is None  # left as the run found it


def test_the_forkserver_imports_the_encoders_once_for_every_worker(small_site, monkeypatch):
    preloads = []
    real = multiprocessing.set_forkserver_preload
    monkeypatch.setattr(multiprocessing, "set_forkserver_preload", lambda names: (preloads.append(list(names)), real(names)))
    before = runner._forkserver_preload()
    assert doit_main(doit_namespace(small_site.config)).run(["-n", "2", "gif"]) == 0
    assert preloads[0] == list(runner.WORKER_MODULES)
    assert runner._forkserver_preload() == before  # left as the run found it
    # the forkserver skips a module it cannot import without a word: each must exist
    assert all(importlib.util.find_spec(name) is not None for name in runner.WORKER_MODULES)


def test_a_finished_task_keeps_its_own_lists_and_takes_the_workers_values(small_site, monkeypatch):
    seen = []
    real = runner.LeanMRunner._process_result

    def process(self, node, task, result):
        before = (task.targets, task.file_dep, task.name)
        real(self, node, task, result)
        seen.append((task, before))

    monkeypatch.setattr(runner.LeanMRunner, "_process_result", process)
    assert doit_main(doit_namespace(small_site.config)).run(["-n", "2", "gif", "webp"]) == 0
    assert len(seen) == 4
    for task, (targets, file_dep, name) in seen:
        # the same objects, not the worker's equal copies: those would double the bookkeeping
        assert task.targets is targets and task.file_dep is file_dep and task.name is name
        assert task.executed and "_inodes" in task.values  # what running it changed did arrive
    seen.clear()
    assert doit_main(doit_namespace(small_site.config)).run(["-n", "2", "gif", "webp"]) == 0
    assert seen == []  # saved with those values: all up to date


def test_a_run_with_only_group_tasks_left_starts_no_worker(small_site, monkeypatch):
    assert doit_main(doit_namespace(small_site.config)).run(["-n", "2", "gif"]) == 0
    started = []

    def child(*args, **kwargs):
        started.append(kwargs)
        return multiprocessing.Process(*args, **kwargs)

    monkeypatch.setattr(runner.LeanMRunner, "Child", staticmethod(child))
    assert doit_main(doit_namespace(small_site.config)).run(["-n", "2", "gif"]) == 0  # nothing to do
    assert started == []
    (small_site.images / "muscles/png/Leg-Soleus-3.png").write_bytes(
        (small_site.images / "muscles/png/Leg-Soleus-4.png").read_bytes())
    assert doit_main(doit_namespace(small_site.config)).run(["-n", "2", "gif"]) == 0
    assert len(started) == 1  # one task to run: one worker


def note(log: str, text: str) -> None:
    with open(log, "a") as out:
        out.write(text + "\n")


def test_a_teardown_of_a_task_finished_in_the_main_process_runs_once(tmp_path):
    log = str(tmp_path / "log")
    namespace = {
        "DOIT_CONFIG": {"dep_file": str(tmp_path / ".doit.db"), "backend": "sqlite3"},  # dbm is refused
        "task_a": lambda: {"actions": None, "teardown": [(note, [log, "teardown a"])]},
        "task_b": lambda: {"actions": [(note, [log, "run b"])]},
        "task_c": lambda: {"actions": [(note, [log, "run c"])]},
    }
    assert doit_main(namespace).run(["-n", "2", "a", "b", "c"]) == 0
    assert sorted(open(log).read().splitlines()) == ["run b", "run c", "teardown a"]


def test_a_value_that_cannot_be_compared_counts_as_changed():
    import numpy as np

    assert runner._equal({"a.png"}, {"a.png"}) and runner._equal(None, None)
    assert not runner._equal(["a.png"], ["b.png"])
    assert not runner._equal(np.zeros(2), np.zeros(2))  # == gives an array, whose truth raises

