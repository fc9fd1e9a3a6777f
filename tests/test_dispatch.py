"""Which task runs next, and where: the sub-tasks of one sequence together, on the worker
that decoded its frames."""
from doit.runner import JobHold

from pipeline import runner
from pipeline.dispatch import HOLD, JobChooser
from pipeline.tasks import doit_main, doit_namespace


def test_the_sub_tasks_of_one_sequence_are_dispatched_together(small_site, monkeypatch):
    names = []
    real_next = runner.LeanMRunner.get_next_job

    def next_job(self, completed):
        job = real_next(self, completed)
        if job is not None and job.type is not JobHold.type:
            names.append(job.name)
        return job

    monkeypatch.setattr(runner.LeanMRunner, "get_next_job", next_job)
    assert doit_main(doit_namespace(small_site.config)).run(["-n", "2", "gif", "webp", "thumbnails", "contact"]) == 0
    per_sequence = [[f"gif:images/muscles/gif/{name}.gif", f"webp:images/muscles/gif/{name}.webp",
                     f"thumbnails:images/muscles/png/{name}-*.png", f"contact:contact/{name}.png"]
                    for name in ("Leg-Soleus", "Arm-Biceps")]
    assert names[:8] in (per_sequence[0] + per_sequence[1], per_sequence[1] + per_sequence[0])
    assert names[8:] == ["contact:contact/overview-1.png"]  # then what reads no one sequence


def test_a_process_running_a_sequence_s_tasks_decodes_each_frame_once(small_site, monkeypatch):
    from pipeline import frames

    decoded = []
    real = frames._decode_rgba
    monkeypatch.setattr(frames, "_RECENT", frames.RecentFrames(budget=96 * 2**20, most=32))  # none from other tests
    monkeypatch.setattr(frames, "_decode_rgba", lambda path, data: decoded.append(path) or real(path, data))
    # -n 0: every task in this process (as in each worker of -n 2, whose tasks come in turn)
    assert doit_main(doit_namespace(small_site.config)).run(
        ["-n", "0", "gif", "webp", "video", "thumbnails", "contact"]) == 0
    assert len(decoded) == len(set(decoded)) == 32
    assert (small_site.build / "contact/Leg-Soleus.png").is_file()
    assert (small_site.build / "images/muscles/gif/Arm-Biceps.mp4").is_file()


class Job:
    """A stand-in for doit's JobTask: a name and the sequence its task reads."""
    type = object()

    def __init__(self, name: str, sequence: str | None):
        self.name, self.sequence = name, sequence

    def __repr__(self):
        return self.name


def chooser_over(jobs: list, lookahead: int = 16) -> tuple[JobChooser, list]:
    """A JobChooser taking `jobs` in order (then None: no task left), and the log of what
    it told the dispatcher finished."""
    queue, told = list(jobs), []

    def take(completed):
        told.append(completed)
        return queue.pop(0) if queue else None
    return JobChooser(take, lambda job: job.sequence, lookahead), told


def jobs_of(*sequences: str, each: int = 3) -> list:
    return [Job(f"{s}{k}", s) for s in sequences for k in range(1, each + 1)]


def test_each_worker_gets_a_sequence_of_its_own_and_keeps_to_it():
    chooser, _ = chooser_over(jobs_of("A", "B"))
    assert chooser.job_for(0).name == "A1"
    assert chooser.job_for(1).name == "B1"  # looked past A2 and A3: A is worker 0's
    assert [chooser.job_for(w).name for w in (1, 0, 0, 1)] == ["B2", "A2", "A3", "B3"]
    assert chooser.job_for(0) is None and chooser.job_for(1) is None  # nothing left


def test_a_worker_with_nothing_of_its_own_or_new_takes_another_s_rather_than_idle():
    chooser, _ = chooser_over(jobs_of("A", "B"))
    assert [chooser.job_for(w).name for w in (0, 1, 1, 1)] == ["A1", "B1", "B2", "B3"]
    assert chooser.job_for(1).name == "A2"  # worker 0 is still on A1: the oldest job left


def test_a_job_that_reads_no_sequence_comes_before_another_worker_s():
    chooser, _ = chooser_over([*jobs_of("A"), Job("overview", None)])
    assert [chooser.job_for(w).name for w in (0, 1)] == ["A1", "overview"]


def test_the_lookahead_bounds_how_far_it_looks_for_a_new_sequence():
    chooser, _ = chooser_over(jobs_of("A", "B"), lookahead=2)
    assert [chooser.job_for(w).name for w in (0, 1)] == ["A1", "A2"]  # B1 was 3 jobs ahead


def test_a_hold_waits_for_a_finished_task_which_the_dispatcher_is_told_of():
    chooser, told = chooser_over([Job("A1", "A"), JobHold(), Job("A2", "A")])
    assert chooser.job_for(0).name == "A1"
    assert chooser.job_for(1) is HOLD  # doit said hold on: nothing more until A1 finishes
    assert chooser.job_for(1) is HOLD and told == [None, None]  # and it was not asked again
    chooser.finished("A1 done")
    assert told[-1] == "A1 done"
    assert chooser.job_for(1).name == "A2"


def test_jobs_not_started_are_dropped_when_the_build_stops():
    chooser, _ = chooser_over(jobs_of("A", "B"))
    assert [chooser.job_for(w).name for w in (0, 1)] == ["A1", "B1"]  # A2, A3 taken ahead
    chooser.drop_pending()
    assert chooser.job_for(0).name == "B2"  # only what doit still hands out


def test_two_workers_start_on_different_sequences(small_site, monkeypatch):
    given = []
    real = JobChooser.job_for

    def job_for(self, worker):
        job = real(self, worker)
        given.append((worker, getattr(job, "name", job)))
        return job

    monkeypatch.setattr(JobChooser, "job_for", job_for)
    assert doit_main(doit_namespace(small_site.config)).run(["-n", "2", "gif", "webp", "thumbnails"]) == 0
    (first, one), (second, other) = given[:2]
    assert (first, second) == (0, 1)
    assert {one, other} == {"gif:images/muscles/gif/Leg-Soleus.gif", "gif:images/muscles/gif/Arm-Biceps.gif"}
