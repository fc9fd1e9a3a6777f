"""doit's `dumpdb` for the pipeline's dependency file, which is sqlite3: doit's own command
reads only dbm files and fails on it with a traceback."""
from __future__ import annotations

import json
import os
import pprint
import sqlite3
import sys

from doit.cmd_base import Command, opt_depfile
from doit.exceptions import InvalidCommand


class DumpDB(Command):
    """dump dependency DB"""

    doc_purpose = "dump dependency DB"
    doc_usage = ""
    doc_description = None
    cmd_options = (opt_depfile,)

    def execute(self, opt_values, pos_args):
        dep_file = opt_values["dep_file"]
        try:
            with sqlite3.connect(f"file:{dep_file}?mode=ro", uri=True) as connection:  # never written
                rows = connection.execute("select task_id, task_data from doit order by task_id").fetchall()
        except sqlite3.Error as exc:
            raise InvalidCommand(f"{dep_file}: not a dependency file of the pipeline ({exc}); "
                                 "it is written by the first build") from None
        try:
            for task_id, data in rows:
                print(f"{task_id} -> {pprint.pformat(json.loads(data), indent=4, width=100)}")
            sys.stdout.flush()
        except BrokenPipeError:  # read by `| head`, which stopped: nothing went wrong
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
