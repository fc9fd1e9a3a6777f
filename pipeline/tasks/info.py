"""doit's `info`, which fails with a traceback (a KeyError) on a name that is no task's, and
(BrokenPipeError) when its reader stops early."""
from __future__ import annotations

import os
import signal
import sys

from doit.cmd_info import Info as DoitInfo
from doit.exceptions import InvalidCommand


class Info(DoitInfo):
    """doit's `info`, saying so when no task has the name asked for."""

    def _execute(self, pos_args, hide_status=False):
        known = {task.name for task in self.task_list}
        unknown = [name for name in pos_args if name not in known]
        if unknown:
            raise InvalidCommand(f"`info`: no task is named '{unknown[0]}' ({self.bin_name} list --all "
                                 "names every one)")
        try:
            return super()._execute(pos_args, hide_status=hide_status)
        except BrokenPipeError:  # `doit info X | head` (`pipeline` ends at once, by SIGPIPE)
            # and Python's flush of stdout at exit would fail again, with a line of its own
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 128 + signal.SIGPIPE  # as a shell reports a command SIGPIPE ended
