"""settings_changed: doit's config_changed, with the signature doit asks for declared."""
import inspect

from doit.tools import config_changed

from pipeline.tasks.uptodate import settings_changed


def test_doit_sees_the_same_arguments_and_answers():
    check = settings_changed({"quality": 68})
    assert check.__signature__ is inspect.signature(check)  # answered in advance, not worked out
    assert list(inspect.signature(check).parameters) == list(inspect.signature(config_changed({}).__call__).parameters)

    class Task:  # the two attributes config_changed uses
        value_savers = []

    task = Task()
    check.configure_task(task)  # as doit does when it creates the task
    assert check(task, {}) is False  # never built: not up to date
    saved = task.value_savers[-1]()
    assert check(task, saved) is True
    assert settings_changed({"quality": 50})(task, saved) is False
