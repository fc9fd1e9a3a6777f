"""doit entry point for this repository: `doit [config=FILE] [task ...]`.

The tasks themselves live in `pipeline.tasks` so that the `pipeline` console script runs the
very same ones from any folder. This file only selects the settings file.
"""
import os
import sys

from doit import get_initial_workdir, get_var

from pipeline.problems import PipelineError
from pipeline.tasks import doit_namespace

try:
    globals().update(doit_namespace(os.path.join(get_initial_workdir(), get_var("config", "pipeline.toml"))))
except PipelineError as error:  # a bad settings file: its message, not a traceback
    print(f"pipeline: {error}", file=sys.stderr)
    raise SystemExit(3) from None
