"""Sub-task names made from file names.

doit refuses a task name with '=' (on its command line, `name=value` sets a variable), and a
file may well have one in its name. There it is written `%3D`, and '%' itself `%25`, so that
two files never get one name: `images/muscles/png/a=b.png` is `images/muscles/png/a%3Db.png`.
"""
from __future__ import annotations


def subtask_name(prefix: str, path: str) -> str:
    """`prefix` + `path`, with '%' and '=' written as above."""
    return prefix + path.replace("%", "%25").replace("=", "%3D")
