"""doit entry point for this repository: `doit [config=FILE] [task ...]`.

The tasks themselves live in `pipeline.tasks` so that the `pipeline` console script runs the
very same ones from any folder. This file only selects the settings file.
"""
import os

from doit import get_initial_workdir, get_var

from pipeline.tasks import doit_namespace

globals().update(doit_namespace(os.path.join(get_initial_workdir(), get_var("config", "pipeline.toml"))))
