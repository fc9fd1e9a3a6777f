"""The up-to-date check for the settings that shape a sub-task's files.

doit's `config_changed`, with its call signature declared: doit asks `inspect.signature` of
every callable `uptodate` on every run to learn which arguments it wants, which cost a
twentieth of a second over the 1,600 sub-tasks of a 300-page site doing nothing.
"""
from __future__ import annotations

import dataclasses
import inspect

from doit.tools import config_changed


_CALL = inspect.Signature(list(inspect.signature(config_changed.__call__).parameters.values())[1:])


class settings_changed(config_changed):  # noqa: N801 (named like doit's own uptodate helpers)
    """`config_changed(config)`: up to date while `config` is what it was at the last success."""

    def __init__(self, config, encoder=None):
        super().__init__(config, encoder)
        self.__signature__ = _CALL  # what inspect.signature(self) returns, without working it out


def section_values(section, added: tuple[str, ...] = ()) -> dict:
    """A settings section as the plain dict its up-to-date check compares, less the `added`
    fields (settings added after builds existed) while they are at their default, which gives
    the files made before them: those builds are not redone for nothing."""
    values = dataclasses.asdict(section)
    for field in dataclasses.fields(section):
        if field.name in added and values[field.name] == field.default:
            del values[field.name]
    return values
