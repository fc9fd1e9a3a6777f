"""Sub-task names made from file names.

doit refuses a task name with '=' (on its command line, `name=value` sets a variable), and a
file may well have one in its name. There it is written `%3D`, and '%' itself `%25`, so that
two files never get one name: `images/muscles/png/a=b.png` is `images/muscles/png/a%3Db.png`.
"""
from __future__ import annotations


def subtask_name(prefix: str, path: str) -> str:
    """`prefix` + `path`, with '%' and '=' written as above."""
    return prefix + path.replace("%", "%25").replace("=", "%3D")


# The key of a sub-task's `meta` that names the frame sequence it reads (by its first
# frame): `runner.SequencedTaskControl` dispatches the sub-tasks of one sequence together
SEQUENCE = "sequence"


def reading(first_frame: str) -> dict:
    """A sub-task's `meta` for one that decodes the sequence starting at `first_frame`."""
    return {SEQUENCE: first_frame}
