"""The `pipeline` command: the doit tasks of a site, run from any folder.

    pipeline [--config FILE] [doit command or tasks ...]

Reads `./pipeline.toml` unless `--config` names another file. Everything after the options
goes to doit unchanged (`list`, `info`, `clean`, `forget`, task names, `-n 2`, ...). A plain
run uses every core, up to 8, unless `-n` says otherwise.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import sys


def main(argv: list[str] | None = None) -> int:
    try:
        return _run(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:  # Ctrl-C, reading the pages, waiting for the lock or building: no traceback
        print("pipeline: interrupted; every file written so far is whole and kept, and the next "
              "run goes on from there", file=sys.stderr)
        return 130


def _run(argv: list[str]) -> int:
    # the package, doit and PyYAML are imported here, where a Ctrl-C is taken as in the build
    from .problems import PipelineError
    from .settings import DEFAULT_FILE
    from .tasks import READ_ONLY_COMMANDS, doit_main, doit_namespace

    parser = argparse.ArgumentParser(
        prog="pipeline", add_help=False, exit_on_error=False,
        description="Run atlas-pipeline's doit tasks for the site described by a pipeline.toml.",
    )
    parser.add_argument("--config", default=DEFAULT_FILE, help="settings file (default ./pipeline.toml)")
    try:
        options, doit_args = parser.parse_known_args(argv)
    except argparse.ArgumentError as exc:  # `--config` with no file: argparse's own exit was 2
        print(f"pipeline: {exc}", file=sys.stderr)
        return 3
    if doit_args[:1] in (["-h"], ["--help"]) or doit_args[:1] and doit_args[0] in READ_ONLY_COMMANDS:
        # what only prints ends as Unix tools do when its reader stops early (`| head`): at once,
        # by SIGPIPE, where Python's BrokenPipeError came up through doit as a traceback. Not
        # for a build: its pipes to the workers and ffmpeg report a reader gone as an error
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    else:  # a command that changes things (clean, forget, a build) finishes its work all the same
        sys.stdout = ReaderMayLeave(sys.stdout)
    if doit_args[:1] in (["-h"], ["--help"]):
        parser.print_help()
        print(usage())
        return 0
    if any(n < 0 for n in _process_counts(doit_args)):  # doit would start no worker and say nothing
        print("pipeline: -n takes a number of processes: 1 or more (0: all in this one)", file=sys.stderr)
        return 3
    try:
        namespace = doit_namespace(options.config, read_only=bool(doit_args) and doit_args[0] in READ_ONLY_COMMANDS)
    except PipelineError as exc:
        print(f"pipeline: {exc}", file=sys.stderr)
        return 3
    doit = doit_main(namespace)
    doit_args = with_dependency_file(doit_args, namespace["DOIT_CONFIG"]["dep_file"])
    return doit.run(with_default_processes(doit_args, set(doit.get_cmds())))


class ReaderMayLeave:
    """Standard output for a command that changes things: when its reader stops early
    (`pipeline clean | head -1`), the rest of what it prints goes nowhere and its work goes on.
    Python's BrokenPipeError came up through doit as a traceback, with `forget` having
    forgotten nothing and `clean` having removed one file."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._discard()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._discard()

    def _discard(self) -> None:
        """The stream's file becomes /dev/null: what it still holds, and Python's own flush at
        exit, go there instead of failing again."""
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def usage() -> str:
    """What `pipeline --help` adds to argparse's lines: doit's commands and the tasks."""
    from .tasks import TASK_HELP

    return "\n".join([
        "\nThen any doit command or task (`pipeline help` lists doit's commands):",
        "  pipeline                   every task below, on every core (up to 8; -n N to choose)",
        "  pipeline verify            only check the pages against the images (CI); non-zero on errors",
        "  pipeline gif thumbnails    only these tasks; `pipeline list --all` names each file's sub-task",
        "  pipeline info TASK         why a sub-task would run; `pipeline clean TASK` removes its files",
        "  pipeline --always-execute  make every output again",
        "\ntasks:",
        *(f"  {name:<12}{text}" for name, text in TASK_HELP.items()),
    ])


def with_dependency_file(doit_args: list[str], dep_file: str) -> list[str]:
    """`dumpdb` reads the build folder's dependency file: doit gives that command the
    default `.doit.db` of the current folder, not the one the tasks name."""
    chosen = any(a == "--db-file" or a.startswith("--db-file=") for a in doit_args)
    if doit_args[:1] != ["dumpdb"] or chosen:
        return doit_args
    return ["dumpdb", "--db-file", dep_file, *doit_args[1:]]


def _process_counts(doit_args: list[str]) -> list[int]:
    """The numbers given to `-n` / `--process` in `doit_args` (doit itself rejects any that
    is not a number)."""
    counts = []
    for option, following in zip(doit_args, [*doit_args[1:], ""]):
        text = (following if option in ("-n", "--process") else option.partition("=")[2]
                if option.startswith("--process=") else option[2:] if option.startswith("-n") else None)
        if text is not None and re.fullmatch(r"-?\d+", text.strip()):
            counts.append(int(text))
    return counts


def with_default_processes(doit_args: list[str], commands: set[str]) -> list[str]:
    """Add `-n <cores>` to a plain run that does not choose a number of processes itself."""
    is_run = not doit_args or doit_args[0] == "run" or doit_args[0] not in commands
    chosen = any(a in ("-n", "--process") or a.startswith(("-n", "--process=")) for a in doit_args)
    if not is_run or chosen:
        return doit_args
    # at most 8: each worker holds a whole sequence's frames, and memory must stay bounded
    processes = ["-n", str(max(1, min(os.cpu_count() or 1, 8)))]
    if doit_args[:1] == ["run"]:
        return ["run", *processes, *doit_args[1:]]
    return [*processes, *doit_args]


if __name__ == "__main__":
    sys.exit(main())
