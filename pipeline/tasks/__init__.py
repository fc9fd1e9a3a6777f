"""The doit tasks, wired from the pipeline's modules. No image work happens here.

`doit_namespace(config)` returns what a dodo file holds (`DOIT_CONFIG` and the `task_*`
generators) for one settings file: the repository's `dodo.py` and the `pipeline` console
script both run exactly these tasks.
"""
from __future__ import annotations

import functools
import os

from doit.cmd_base import ModuleTaskLoader
from doit.doit_cmd import DoitMain

from ..buildlock import BuildLock, remove_stale_temporaries
from . import backend
from .checker import SourceStatCache
from .uptodate import FolderListing
from ..progress import ProgressReporter
from ..problems import PipelineError
from ..settings import Settings, load_settings, written_folders_problem
from ..site import Site, open_site
from ..imageroot import ImageRoot
from .. import plan
from . import animations, batch, bundle, contact, frames, report, thumbnails, verify

# Each task and what it makes, in the order a plain run takes them (report stays last: it
# shows what the others made); `pipeline list` and `pipeline --help` show these lines
TASK_HELP = {
    "verify": "Check every page's references against the image files (writes verify.json).",
    "gif": "Animated GIF of every animation: one shared palette, laid over the matte.",
    "webp": "Animated WebP of every animation, alpha kept.",
    "video": "WebM (AV1, or VP9) and MP4 (H.264) of every animation, laid over the matte.",
    "avif": "Animated AVIF of every animation, when \"avif\" is among [animation] formats.",
    "thumbnails": "Thumbnails of every gallery frame: X-thumb.png, X-thumb.webp, srcset widths.",
    "frames": "Gallery frames copied into build/images, losslessly re-compressed.",
    "contact": "Contact sheets: every frame of each animation, and an overview of all.",
    "bundle": "build/images complete and checked, asset-manifest.json, _data, _includes, bundle.zip.",
    "report": "Write build/report/index.html: every page's animations, outputs and problems.",
}
DEFAULT_TASKS = list(TASK_HELP)


def doit_config(settings: Settings, listing: FolderListing | None = None) -> dict:
    """doit's own settings: the dependency file lives in the build folder (made by
    `doit_namespace`); `listing`, the build's folders as the run's tasks see them, tells the
    checker which targets exist."""
    return {
        "default_tasks": list(DEFAULT_TASKS),
        "dep_file": str(settings.build_dir / ".doit.db"),
        "backend": backend.NAME,  # sqlite3: a killed build cannot leave it half written
        # doit makes the checker by calling this: a checker sharing the tasks' listing
        "check_file_uptodate": functools.partial(SourceStatCache, listing),
        "continue": True,  # one broken sequence must not stop the others
        "reporter": ProgressReporter,  # `--reporter json` and the others still work
    }


# doit plugins, named by DOIT_CONFIG (the backend) or replacing doit's own (`run`); the
# repository's pyproject.toml names the same for `doit` run there.
DOIT_PLUGINS = {
    "BACKEND": {backend.NAME: "pipeline.tasks.backend:BoundedSqliteDB",
                "json": "pipeline.tasks.backend:ForeignBackend", "dbm": "pipeline.tasks.backend:ForeignBackend"},
    "COMMAND": {"run": "pipeline.runner:Run", "dumpdb": "pipeline.tasks.dumpdb:DumpDB",
                "info": "pipeline.tasks.info:Info"},
}


def doit_main(namespace: dict) -> DoitMain:
    """doit's command line for a `doit_namespace`, with the pipeline's plugins."""
    return DoitMain(ModuleTaskLoader(namespace), extra_config=DOIT_PLUGINS)


# numpy's BLAS on one thread: parallelism comes from doit's `-n`. OpenBLAS would otherwise
# start a thread per core in every worker for the k-means palettes' matrix products, and
# `-n 2` ran slower than it should (81 s against 53 s on the bench). Set before any worker
# imports numpy; a value the user set is kept.
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# doit commands that only show the tasks and their records (they write nothing but caches,
# atomically): they need not wait for a running build, and must not sweep its temporaries
READ_ONLY_COMMANDS = frozenset({"list", "info", "help", "dumpdb"})


def doit_namespace(config: str | os.PathLike | None = None, *, read_only: bool = False) -> dict:
    """DOIT_CONFIG and the task generators for the site described by `config`; `read_only`
    for a command of READ_ONLY_COMMANDS."""
    for name, value in SINGLE_THREADED.items():
        os.environ.setdefault(name, value)
    settings = load_settings(config)
    try:  # where doit keeps its records, even for `list`
        settings.build_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a read-only file system, say
        raise PipelineError(f"[paths] build: cannot make the build folder {settings.build_dir}: "
                            f"{exc.strerror}") from None
    lock = None
    if not read_only:
        # Held while the namespace lives, i.e. for the whole doit run; a second build waits
        # here, before it reads the pages (and writes their cache).
        lock = BuildLock(settings.build_dir)
        remove_stale_temporaries(settings.build_dir)
    site = open_site(settings)
    outputs = plan.output_plan(site.catalog, settings)
    if not read_only:  # before anything is written or cleaned
        problem = written_folders_problem(settings, plan.written_folders(site.catalog, outputs, settings))
        if problem:
            raise PipelineError(f"{settings.source.name if settings.source else 'pipeline.toml'}: {problem}")
    listing = FolderListing()  # the build's folders, each listed once when first asked about
    return {"DOIT_CONFIG": doit_config(site.settings, listing), "build_lock": lock,
            **generators(site, outputs, listing)}


def generators(site: Site, made: plan.OutputPlan | None = None, listing: FolderListing | None = None) -> dict:
    """The `task_*` functions for `site`, in the order `doit list` shows them; `made` is its
    `plan.output_plan`, when the caller has it, and `listing` the build's folders as the
    run's checker sees them."""
    sources = ImageRoot(site.settings.images_dir)  # listed once, when a generator first asks
    gallery = functools.cache(lambda: batch.gallery_sequences(site))  # grouped once, likewise
    outputs = functools.cache(lambda: made or plan.output_plan(site.catalog, site.settings))  # what makes each file
    listing = listing or FolderListing()
    seen = {}  # folder digests the bundle's check leaves for the report's, in this run

    def task_verify():
        return verify.verify_task(site)

    def task_report():
        yield from report.report_tasks(site, after=[t for t in DEFAULT_TASKS if t != "report"], seen=seen,
                                       listing=listing)

    def task_gif():
        yield from animations.animation_tasks(site, ("gif",), sources, outputs(), listing)

    def task_webp():
        yield from animations.animation_tasks(site, ("webp",), sources, outputs(), listing)

    def task_video():
        yield from animations.animation_tasks(site, ("webm", "mp4"), sources, outputs(), listing)

    def task_avif():
        yield from animations.animation_tasks(site, ("avif",), sources, outputs(), listing)

    def task_thumbnails():
        yield from thumbnails.thumbnail_tasks(site, gallery(), sources, outputs(), listing)

    def task_frames():
        yield from frames.frame_tasks(site, gallery(), sources, outputs(), listing)

    def task_contact():
        yield from contact.contact_tasks(site, sources, listing)

    def task_bundle():
        yield from bundle.bundle_tasks(site, after=[t for t in DEFAULT_TASKS if t not in ("bundle", "report")],
                                       seen=seen, outputs=outputs(), listing=listing)

    tasks = {"verify": task_verify, "gif": task_gif, "webp": task_webp, "video": task_video, "avif": task_avif,
             "thumbnails": task_thumbnails, "frames": task_frames, "contact": task_contact,
             "bundle": task_bundle, "report": task_report}
    for name, task in tasks.items():
        task.__doc__ = TASK_HELP[name]  # what `doit list` shows
    return {f"task_{name}": task for name, task in tasks.items()}
