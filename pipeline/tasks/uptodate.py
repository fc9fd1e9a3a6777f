"""Up-to-date checks of a sub-task beyond its sources: the settings that shape its files, and
its files being the ones it wrote.

Both declare their call signature: doit asks `inspect.signature` of every callable
`uptodate` on every run to learn which arguments it wants, which cost a twentieth of a
second over the 1,600 sub-tasks of a 300-page site doing nothing.
"""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import os

from doit.tools import config_changed


_CALL = inspect.Signature(list(inspect.signature(config_changed.__call__).parameters.values())[1:])


class settings_changed(config_changed):  # noqa: N801 (named like doit's own uptodate helpers)
    """`config_changed(config)`: up to date while `config` is what it was at the last success."""

    def __init__(self, config, encoder=None):
        super().__init__(config, encoder)
        self.__signature__ = _CALL  # what inspect.signature(self) returns, without working it out


class outputs_as_written:  # noqa: N801
    """Up to date while the sub-task's targets are the files its last success left (the same
    inode, size and modification time): a file another maker wrote over in the meantime (a
    clash, see `plan.output_plan`, since resolved) or a person edited is made again. A record
    from before this check existed counts as up to date: all else is checked as before, and
    no build is redone for nothing."""

    def __init__(self):
        self.__signature__ = _CALL

    def configure_task(self, task):
        task.value_savers.append(lambda: {"_outputs": targets_digest(task.targets)})

    def __call__(self, task, values):
        recorded = values.get("_outputs")
        return recorded is None or recorded == targets_digest(task.targets)


def targets_digest(targets: list[str]) -> str:
    """What the files `targets` are now, in a few bytes: inode, size and modification time."""
    digest = hashlib.md5()
    for target in targets:
        try:
            info = os.stat(target)
        except OSError:
            digest.update(b"-\n")
            continue
        digest.update(b"%d %d %d\n" % (info.st_ino, info.st_size, info.st_mtime_ns))
    return digest.hexdigest()


def section_values(section, added: tuple[str, ...] = ()) -> dict:
    """A settings section as the plain dict its up-to-date check compares, less the `added`
    fields (settings added after builds existed) while they are at their default, which gives
    the files made before them: those builds are not redone for nothing."""
    values = dataclasses.asdict(section)
    for field in dataclasses.fields(section):
        if field.name in added and values[field.name] == field.default:
            del values[field.name]
    return values
