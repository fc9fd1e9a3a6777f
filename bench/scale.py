"""Issue 6's "Scale and speed" figures, each printed beside its target with met / missed.

    python bench/scale.py [--only noop,touch,parallel,memory,full] [--quick] [--keep] [--python PY] [sizes ...]

Every figure runs the `pipeline` command as a user does (`python -m pipeline.cli --config
SITE/pipeline.toml ...`, a subprocess, wall time by time.perf_counter; `--python .venv/bin/python`
runs it in the environment scripts/setup makes, as the README's command does) on corpora
written by bench/corpus.py:

- noop: a site the size of the real atlas (300 pages, 250 animations of 16 frames of 64 px),
  built once with -n 2; then the best of 3 no-op runs of `pipeline` and `pipeline verify`.
- touch: on that site, one frame rewritten with other pixels, then `pipeline --reporter json`:
  which sub-tasks ran and which files under build/images changed (inode, mtime, size); then the
  same frame (and one of another animation) touched with identical content.
- parallel: fresh full builds with -n 1 and with -n 2 (build/ deleted before each), the best
  of --parallel-repeat each, taken in turns.
- memory: peak memory of a full -n 2 build of 25 and of 250 animations under /usr/bin/time -v.
- full: the 800x800 set (bench/render_set.py's white, black and transparent turntables) built
  by `pipeline -n 2` against the issue's recipe (ffmpeg + gifsicle GIF, img2webp, ffmpeg VP9
  and H.264, ImageMagick `-thumbnail` and `montage`) run through `xargs -P2`; each the best
  of --full-repeat runs, taken in turns. Then the CPU time of each part of the build on the
  same frames, in one process with every frame decoded once (one run), as a share of the
  recipe's wall time on 2 cores: WebP and video encoding alone (libwebp, SVT-AV1, x264 and
  feeding them) are the floor that the animation issue's settings put under the build; all the parts together, what sharing one
  decode of each frame between the tasks could reach at best.
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from animations import RECIPE_TOOLS, recipe_commands  # noqa: E402
from corpus import REGIONS, make_corpus, page_text  # noqa: E402
from pipeline.plan import animation_outputs, thumbnail_outputs  # noqa: E402
from pipeline.settings import load_settings  # noqa: E402
from pipeline.site import open_site  # noqa: E402
from pipeline.tasks import generators  # noqa: E402
from render_set import BACKGROUNDS, render_set  # noqa: E402
from timing import best_of  # noqa: E402

PIPELINE = [sys.executable, "-m", "pipeline.cli"]
FIGURES = ("noop", "touch", "parallel", "memory", "full")
TIME = "/usr/bin/time"
# (full run, --quick): every size is also a flag.
SIZES = {
    "pages": (300, 12), "animations": (250, 10), "frames": (16, 8), "small_size": (64, 32),
    "parallel_animations": (40, 4), "parallel_size": (240, 96),
    "memory_counts": ("25,250", "3,12"), "memory_size": (128, 64),
    "full_animations": (6, 3), "full_size": (800, 200),
}
ROWS: list[tuple[str, str, str, str]] = []


# -- running the pipeline ---------------------------------------------------------------

def pipeline(site: Path, *args: str) -> list[str]:
    return [*PIPELINE, "--config", str(site / "pipeline.toml"), *args]


def run(command: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    """Wall seconds and the finished process; a failed command stops the bench with its output."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {shlex.join(command)}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return seconds, done


def fresh_build(site: Path, *args: str) -> float:
    shutil.rmtree(site / "build", ignore_errors=True)
    return run(pipeline(site, *args), site)[0]


def report(figure: str, measured: str, target: str, met: bool | None) -> None:
    verdict = {True: "met", False: "MISSED", None: "-"}[met]
    ROWS.append((figure, measured, target, verdict))
    print(f"  {figure:<62}{measured:>16}   {target:<16}{verdict}", flush=True)


def note(text: str) -> None:
    print(f"  {text}", flush=True)


# -- figures ----------------------------------------------------------------------------

def bookkeeping_site(work: Path, args) -> Path:
    site = work / "atlas"
    make_corpus(site, pages=args.pages, animations=args.animations, frames=args.frames, size=args.small_size)
    print(f"\ncorpus: {args.pages} pages, {args.animations} animations of {args.frames} frames of "
          f"{args.small_size}x{args.small_size} ({args.pages * args.frames} frames)", flush=True)
    seconds = fresh_build(site, "-n", "2")
    report("full build, -n 2 (for scale)", f"{seconds:.1f} s", "", None)
    return site


def figure_noop(site: Path, args) -> None:
    print("\nno-op rebuild (nothing changed), best of", args.repeat, flush=True)
    for label, extra in (("pipeline (default run)", ()), ("pipeline verify", ("verify",))):
        seconds, _ = best_of(args.repeat, run, pipeline(site, *extra), site)
        report(f"no-op: {label}", f"{seconds:.2f} s", "< 1 s", seconds < 1.0)


def figure_touch(site: Path, args) -> None:
    settings = load_settings(site / "pipeline.toml")
    catalog = open_site(settings).catalog
    animation, other = catalog.animations[0], catalog.animations[1]
    frame = animation.frames[len(animation.frames) // 2].image_url  # not the first: the overview sheet uses those
    base = animation.stem.rsplit("/", 1)[-1]
    expected_files = {o.path for o in animation_outputs(animation, settings)}
    expected_files |= {frame} | {o.path for o in thumbnail_outputs(frame, settings)}

    print(f"\none frame's content changed: {frame} (animation {animation.name})", flush=True)
    redraw(settings.images_dir / frame)
    groups = group_tasks(settings)
    ran, changed, seconds = ran_and_changed(site, settings, groups)
    mine = re.compile(re.escape(base) + r"(?=[.-]|$)")
    dependants = [t for t in ran if mine.search(t)]
    bookkeeping = [t for t in ran if t == "verify" or t.startswith(("bundle:", "report:"))]
    unexpected = [t for t in ran if t not in dependants and t not in bookkeeping]
    note(f"ran, {base}'s own: {', '.join(dependants) or 'none'}")
    note(f"ran, bookkeeping that reads every output: {', '.join(bookkeeping) or 'none'}")
    note(f"ran, anything else: {', '.join(unexpected) or 'none'}")
    note(f"changed under build/images: {', '.join(sorted(changed)) or 'none'}")
    if changed != expected_files:
        note(f"expected to change: {', '.join(sorted(expected_files))}")
    groups_ran = sorted({t.split(":", 1)[0] for t in dependants} & {"gif", "webp", "video", "avif"})
    wanted = sorted({{"webm": "video", "mp4": "video"}.get(f, f) for f in settings.animation.formats})
    report("frame changed: other animations' sub-tasks that ran", str(len(unexpected)), "0", not unexpected)
    report("frame changed: its animation's format tasks that ran", "+".join(groups_ran),
           "+".join(wanted), groups_ran == wanted)
    report("frame changed: files rewritten under build/images", str(len(changed)),
           f"{len(expected_files)} (exactly)", changed == expected_files)
    report("frame changed: the rebuild's wall time (bundle and report included)", f"{seconds:.1f} s", "", None)

    touched = [settings.images_dir / frame, settings.images_dir / other.frames[0].image_url]
    print(f"\ntouch with identical content: {', '.join(str(p.relative_to(settings.images_dir)) for p in touched)}",
          flush=True)
    for path in touched:
        os.utime(path)
    ran, changed, _ = ran_and_changed(site, settings, groups)
    extra = [t for t in ran if t != "verify"]
    note(f"ran: {', '.join(ran) or 'none'}; changed under build/images: {', '.join(sorted(changed)) or 'none'}")
    report("touched: tasks that ran besides verify", str(len(extra)), "0", not extra)
    report("touched: files rewritten under build/images", str(len(changed)), "0", not changed)


def redraw(path: Path) -> None:
    """Rewrite a frame with other pixels (a bench corpus, never a user's source)."""
    with Image.open(path) as image:
        image.load()
    width, height = image.size
    ImageDraw.Draw(image).rectangle((width // 4, height // 4, width // 2, height // 2), fill=(200, 30, 30, 255))
    image.save(path)


def group_tasks(settings) -> set[str]:
    """Names of the tasks without actions of their own, which doit reports as run every time:
    the groups of sub-tasks, and sub-tasks that only wait for others (`report:wait`)."""
    names = set()
    for name, make in generators(open_site(settings)).items():
        if inspect.isgeneratorfunction(make):
            group = name.removeprefix("task_")
            names.add(group)
            names.update(f"{group}:{task['name']}" for task in make() if not task.get("actions"))
    return names


def ran_and_changed(site: Path, settings, groups: set[str]) -> tuple[list[str], set[str], float]:
    """Tasks that executed in a default `pipeline --reporter json` run (group tasks left out),
    the files under build/images whose inode, mtime or size differ afterwards, and the run's
    wall time."""
    images = settings.build_dir / "images"
    before = snapshot(images)
    seconds, done = run(pipeline(site, "--reporter", "json"), site)
    tasks = json.loads(done.stdout[done.stdout.index("{"):])["tasks"]
    ran = [t["name"] for t in tasks if t["result"] != "up-to-date" and t["name"] not in groups]
    after = snapshot(images)
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    return ran, changed, seconds


def snapshot(folder: Path) -> dict[str, tuple[int, int, int]]:
    result = {}
    for path in folder.rglob("*"):
        if path.is_file():
            info = path.stat()
            result[path.relative_to(folder).as_posix()] = (info.st_ino, info.st_mtime_ns, info.st_size)
    return result


def figure_parallel(work: Path, args) -> None:
    site = work / "parallel"
    count, size = args.parallel_animations, args.parallel_size
    make_corpus(site, pages=count, animations=count, frames=args.frames, size=size)
    runs = args.parallel_repeat
    print(f"\nfull build, -n 1 against -n 2: {count} animations of {args.frames} frames of {size}x{size}, "
          f"{os.cpu_count()} cores; build/ deleted before each run; the best of {runs} each, taken in turns "
          "(single runs gave 1.65x to 1.88x within an hour)", flush=True)
    one = two = (float("inf"), 0.0)
    for _ in range(runs):
        one = min(one, cpu_and_wall(site, "1"))
        two = min(two, cpu_and_wall(site, "2"))
    report(f"full build -n 1 ({one[1] / one[0]:.2f} cores busy on average)", f"{one[0]:.1f} s", "", None)
    report(f"full build -n 2 ({two[1] / two[0]:.2f} cores busy on average)", f"{two[0]:.1f} s", "", None)
    report("speed-up -n 2 over -n 1", f"{one[0] / two[0]:.2f}x", ">= 1.7x", one[0] / two[0] >= 1.7)


def cpu_and_wall(site: Path, processes: str) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the command and every process it waited
    for, encoders included) of a fresh full build: CPU / wall says how many cores it kept busy."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = fresh_build(site, "-n", processes)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def figure_memory(work: Path, args) -> None:
    counts = [int(c) for c in args.memory_counts.split(",")]
    size = args.memory_size
    print(f"\npeak memory of a full build (-n 2), animations of {args.frames} frames of {size}x{size}:", flush=True)
    print("  max RSS = /usr/bin/time -v 'Maximum resident set size': the largest single process of the tree\n"
          "  (doit's parent, a worker or an encoder it started), not a sum; tree PSS = the sum of the\n"
          "  proportional set size of every process of the tree, sampled from /proc every 0.1 s", flush=True)
    if not os.access(TIME, os.X_OK):
        note(f"{TIME} is missing (apt-get install time): only the sampled tree PSS is shown")
    peaks = {}
    for count in counts:
        site = work / f"memory-{count}"
        make_corpus(site, pages=count, animations=count, frames=args.frames, size=size)
        rss, pss, seconds, largest = peak_memory(site)
        shutil.rmtree(site)
        peaks[count] = (rss, pss)
        shown = f"{rss / 1024:.0f} MiB" if rss else "-"
        report(f"{count} animations: max RSS / tree PSS ({seconds:.0f} s)", f"{shown} / {pss / 1024:.0f} MiB", "", None)
        note(f"  largest processes seen by the sampler: {largest}")
    low, high = peaks[counts[0]], peaks[counts[-1]]
    if low[0]:
        ratio = high[0] / low[0]
        report(f"max RSS, {counts[-1]} over {counts[0]} animations", f"{ratio:.2f}x", "<= 1.2x", ratio <= 1.2)
    ratio = high[1] / low[1]
    report(f"tree PSS, {counts[-1]} over {counts[0]} animations", f"{ratio:.2f}x", "<= 1.2x", ratio <= 1.2)


def peak_memory(site: Path) -> tuple[int, int, float, str]:
    """(max RSS in KiB from /usr/bin/time or 0, peak summed PSS in KiB, seconds, the process
    with the highest peak RSS the sampler saw) of a full build."""
    shutil.rmtree(site / "build", ignore_errors=True)
    timed = os.access(TIME, os.X_OK)
    command = ([TIME, "-v"] if timed else []) + pipeline(site, "-n", "2")
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=site, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(process.pid)
    sampler.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - start
    sampler.stop()
    if process.returncode != 0:
        raise SystemExit(f"failed: {shlex.join(command)}\n{out[-2000:]}{err[-2000:]}")
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    largest = sorted(sampler.high_water.values(), reverse=True)[:3]
    shown = "; ".join(f"{hwm / 1024:.0f} MiB {name[:60]}" for hwm, name in largest) or "none"
    return (int(match.group(1)) if match else 0), sampler.peak, seconds, shown


class TreeSampler(threading.Thread):
    """Peak of the summed PSS (KiB) of a process and all its descendants, and each one's
    last seen peak RSS (VmHWM, KiB) with its command line."""

    def __init__(self, root: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.root, self.interval, self.peak = root, interval, 0
        self.high_water: dict[int, tuple[int, str]] = {}
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            tree = descendants(self.root)
            self.peak = max(self.peak, sum(pss(pid) for pid in tree))
            for pid in tree:
                hwm = high_water(pid)
                if hwm:
                    self.high_water[pid] = (hwm, self.high_water.get(pid, (0, ""))[1] or self.role(pid))
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()

    def role(self, pid: int) -> str:
        """The command line, saying which python is doit's parent (the child of the root,
        /usr/bin/time), which the forkserver and which a worker (the forkserver's children)."""
        command = command_of(pid)
        if "multiprocessing.forkserver" in command:
            return ("the forkserver: " if parent_of(parent_of(pid)) == self.root else "a doit worker: ") + command
        if "pipeline.cli" not in command:
            return command
        return ("doit's parent: " if parent_of(pid) == self.root else "a doit worker: ") + command


def descendants(root: int) -> list[int]:
    parents = {int(entry): parent_of(int(entry)) for entry in os.listdir("/proc") if entry.isdigit()}
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


def parent_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def high_water(pid: int) -> int:
    return proc_kib(pid, "status", "VmHWM")


def command_of(pid: int) -> str:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [w.decode(errors="replace") for w in words if w]
    return " ".join([os.path.basename(words[0]), *words[1:]])[:100] if words else "?"


def pss(pid: int) -> int:
    return proc_kib(pid, "smaps_rollup", "Pss")


def proc_kib(pid: int, file: str, field: str) -> int:
    """A `field:  N kB` line of /proc/<pid>/<file>, in KiB; 0 when the process has gone."""
    try:
        text = Path(f"/proc/{pid}/{file}").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) if match else 0


def figure_full(work: Path, args) -> None:
    site = work / "full"
    count, size = args.full_animations, args.full_size
    encode_site(site, count=count, frames=args.frames, size=size)
    settings = load_settings(site / "pipeline.toml")
    catalog = open_site(settings).catalog
    print(f"\nfull build of {count} animations of {args.frames} frames of {size}x{size} "
          f"(white, black, transparent), formats {', '.join(settings.animation.formats)}", flush=True)
    runs = args.full_repeat  # best of: the machine's speed varies by a fifth from run to run
    convert = imagemagick()
    tools = sorted({t for fmt in ("gif", "webp", "webm", "mp4") for t in RECIPE_TOOLS[fmt]} | {"montage", "xargs"})
    missing = [t for t in tools if shutil.which(t) is None] + ([] if convert else ["convert"])
    commands = None if missing else recipe(catalog, settings, work / "recipe", convert)
    matched = everything = recipe_seconds = float("inf")
    for _ in range(runs):  # interleaved, so that a slow spell of the machine hits all three alike
        matched = min(matched, fresh_build(site, "-n", "2", "gif", "webp", "video", "thumbnails", "contact"))
        everything = min(everything, fresh_build(site, "-n", "2"))
        if commands:
            recipe_seconds = min(recipe_seconds, run_recipe(commands, work / "recipe"))
    report(f"ours: pipeline -n 2 gif webp video thumbnails contact (best of {runs})", f"{matched:.1f} s", "", None)
    report(f"ours: pipeline -n 2 (default: + verify frames bundle report; best of {runs})", f"{everything:.1f} s", "", None)
    if missing:
        note(f"recipe skipped: {', '.join(missing)} not installed (apt-get install ffmpeg gifsicle webp imagemagick)")
        return
    report(f"recipe: {len(commands)} shell commands through xargs -P2 (best of {runs})", f"{recipe_seconds:.1f} s", "", None)
    report("ours (the recipe's tasks only) / recipe", f"{matched / recipe_seconds:.2f}x", "<= 0.6x", matched / recipe_seconds <= 0.6)
    report("ours (default full build) / recipe", f"{everything / recipe_seconds:.2f}x", "<= 0.6x",
           everything / recipe_seconds <= 0.6)
    parts = part_seconds(catalog, settings, work / "floor")
    cores = min(2, os.cpu_count() or 1)
    print("  CPU seconds of each part, in one process, every frame decoded once: "
          + ", ".join(f"{name} {seconds:.1f}" for name, seconds in parts.items()), flush=True)
    floor = parts["libwebp"] + parts["videos"]
    report(f"WebP and video encoding alone ({floor:.1f} CPU-s / {cores} cores) / recipe",
           f"{floor / cores / recipe_seconds:.2f}x", "", None)
    whole = sum(parts.values())
    report(f"every part, each frame decoded once ({whole:.1f} CPU-s / {cores} cores) / recipe",
           f"{whole / cores / recipe_seconds:.2f}x", "", None)
    note("libwebp, SVT-AV1 and x264 at the animation issue's settings (its byte and SSIM targets), fed "
         "the decoded frames, take "
         f"{floor / cores / recipe_seconds:.2f}x of the recipe's time by themselves, with perfect use of "
         f"{cores} cores; all the build's work with every frame decoded once instead of once per task, "
         f"{whole / cores / recipe_seconds:.2f}x")


def part_seconds(catalog, settings, out: Path) -> dict[str, float]:
    """CPU seconds (this process and its children) of each part of the build of `catalog`, as
    the pipeline's modules do it but with every frame decoded once: decoding; the GIFs; libwebp
    (with Pillow's calls around it); the videos (SVT-AV1 and x264 in one ffmpeg, with its RGB
    to YUV conversion and the Python side laying the frames over the matte and piping them);
    the thumbnails at `width` (PNG and WebP) and each animation's contact sheet, from the
    decoded frames. Files are written plainly, not atomically; no overview page."""
    from pipeline import contact, thumbnails
    from pipeline.encode import ENCODERS
    from pipeline.video import write_videos
    from pipeline.frames import load_sequence, parse_colour
    from pipeline.timing import timing_for
    from pipeline.imageroot import ImageRoot

    out.mkdir(parents=True, exist_ok=True)
    images, matte = ImageRoot(settings.images_dir), parse_colour(settings.animation.matte)
    seconds = dict.fromkeys(("decoding", "GIF", "libwebp", "videos", "thumbnails", "contact sheets"), 0.0)

    def timed(part, work):
        before = cpu_seconds(resource.RUSAGE_SELF) + cpu_seconds(resource.RUSAGE_CHILDREN)
        result = work()
        seconds[part] += cpu_seconds(resource.RUSAGE_SELF) + cpu_seconds(resource.RUSAGE_CHILDREN) - before
        return result

    options = settings.thumbnails
    for animation in catalog.animations:
        frames = timed("decoding", lambda: load_sequence(animation, images))
        timing = timing_for(len(frames), settings.animation)
        timed("GIF", lambda: ENCODERS["gif"](frames, out / "x.gif", settings.gif, timing, matte))
        timed("libwebp", lambda: ENCODERS["webp"](frames, out / "x.webp", settings.webp, timing, matte))
        timed("videos", lambda: write_videos(
            frames, [(fmt, out / f"x.{fmt}", getattr(settings, fmt)) for fmt in ("webm", "mp4")], timing, matte))

        def thumbs():
            for rgba in frames:
                size = thumbnails.thumbnail_size(rgba.shape[1], rgba.shape[0], options.width)
                pixels = thumbnails.resize(rgba, size, thumbnails.REDUCING_GAP)
                (out / "t.png").write_bytes(thumbnails.png_bytes(pixels, options.min_ssim))
                (out / "t.webp").write_bytes(thumbnails.webp_bytes(pixels, options.webp_quality))
        timed("thumbnails", thumbs)
        cells = [contact.Cell(rgba, str(number)) for number, rgba in enumerate(frames, 1)]
        timed("contact sheets", lambda: contact.write_png(
            contact.draw_sheet(animation.title, cells, settings.contact.columns, settings.contact), out / "c.png"))
    return seconds


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def encode_site(site: Path, *, count: int, frames: int, size: int) -> None:
    """A site of `count` animations made from bench/render_set.py's turntables (rendered once
    and kept in bench/out/animations), cycling white, black and transparent, each animation's
    number drawn into a corner so no two sequences are byte-identical."""
    sets = render_set(size=size, frames=frames)
    images, pages = site / "images" / "muscles" / "png", site / "pages" / "muscles"
    images.mkdir(parents=True)
    pages.mkdir(parents=True)
    for n in range(count):
        name = f"{REGIONS[n % len(REGIONS)]}-Muscle{n:03d}"
        urls = []
        for k, source in enumerate(sets[BACKGROUNDS[n % len(BACKGROUNDS)]], 1):
            with Image.open(source) as image:
                image.load()
            ImageDraw.Draw(image).text((2, 2), str(n), fill=(90, 90, 90, 255))
            image.save(images / f"{name}-{k}.png")
            urls.append(f"muscles/png/{name}-{k}.png")
        (pages / f"muscle_{name.lower()}.md").write_text(page_text(name, f"muscles/gif/{name}.gif", urls))
    (site / "pipeline.toml").write_text('[paths]\npages = "pages"\nimages = "images"\nbuild = "build"\n')


def imagemagick() -> str | None:
    """ImageMagick's convert itself: a `convert` earlier on PATH may be a wrapper that costs
    a process start of its own, so the versioned Debian name comes first."""
    for name in ("magick", "convert-im6.q16", "convert"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def recipe(catalog, settings, out: Path, convert: str) -> list[str]:
    """One shell line per job: each animation's four formats, each frame's thumbnail, each
    animation's contact sheet."""
    fps = settings.animation.fps
    width = settings.thumbnails.width
    for folder in ("anim", "thumbs", "contact"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    lines = []
    for animation in catalog.animations:
        paths = [settings.images_dir / f.image_url for f in animation.frames]
        base = animation.stem.rsplit("/", 1)[-1]
        for fmt in ("gif", "webp", "webm", "mp4"):
            steps = recipe_commands(fmt, paths, out / "anim" / f"{base}.{fmt}", fps)
            lines.append(" && ".join(shlex.join(s) for s in steps))
        for path in paths:
            lines.append(shlex.join([convert, str(path), "-thumbnail", f"{width}x",
                                     str(out / "thumbs" / f"{path.stem}-thumb.png")]))
        lines.append(shlex.join(["montage", *map(str, paths), "-tile", "4x", "-geometry",
                                 f"{width}x{width}+4+4", str(out / "contact" / f"{base}.png")]))
    return lines


def run_recipe(lines: list[str], out: Path) -> float:
    listing = out / "commands.txt"
    listing.write_text("\n".join(lines) + "\n")
    with listing.open() as commands:
        start = time.perf_counter()
        done = subprocess.run(["xargs", "-d", "\n", "-n", "1", "-P", "2", "sh", "-c"], stdin=commands,
                              capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"recipe failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


# -- command line -----------------------------------------------------------------------

def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(FIGURES), help=f"comma-separated, of: {', '.join(FIGURES)}")
    parser.add_argument("--quick", action="store_true", help="tiny corpora: a smoke run, not the figures")
    parser.add_argument("--keep", action="store_true", help="keep the corpora under bench/out/ afterwards")
    parser.add_argument("--python", default=sys.executable,
                        help="the Python that runs the pipeline: .venv/bin/python for the one scripts/setup "
                             "makes (default: the one running this script)")
    parser.add_argument("--repeat", type=int, default=3, help="no-op runs to take the best of")
    parser.add_argument("--full-repeat", type=int, default=3, help="800 px builds (ours, recipe) to take the best of")
    parser.add_argument("--parallel-repeat", type=int, default=2, help="-n 1 and -n 2 builds to take the best of")
    for key, (full, quick) in SIZES.items():
        parser.add_argument("--" + key.replace("_", "-"), type=type(full), default=None,
                            help=f"default {full} ({quick} with --quick)")
    args = parser.parse_args()
    for key, (full, quick) in SIZES.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    unknown = set(args.only.split(",")) - set(FIGURES)
    if unknown:
        parser.error(f"--only: unknown figure {sorted(unknown)[0]!r}; known: {', '.join(FIGURES)}")
    return args


def main() -> None:
    args = parse_args()
    only = args.only.split(",")
    # what every figure runs, from the corpus's folder: a path given relative to here made absolute
    PIPELINE[0] = os.path.abspath(args.python) if os.sep in args.python else shutil.which(args.python) or args.python
    print(f"bench/scale.py{' --quick (smoke run: sizes too small for the targets)' if args.quick else ''}; "
          f"{os.cpu_count()} cores; every command is `{PIPELINE[0]} -m pipeline.cli --config SITE/pipeline.toml ...`")
    print(f"  {'figure':<62}{'measured':>16}   {'target':<16}verdict")
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="scale-", dir=ROOT / "bench" / "out"))
    try:
        if "noop" in only or "touch" in only:
            site = bookkeeping_site(work, args)
            if "noop" in only:
                figure_noop(site, args)
            if "touch" in only:
                figure_touch(site, args)
            if not args.keep:  # 250 animations' outputs: gone before the next corpus is made
                shutil.rmtree(site)
        if "parallel" in only:
            figure_parallel(work, args)
        if "memory" in only:
            figure_memory(work, args)
        if "full" in only:
            figure_full(work, args)
    finally:
        if args.keep:
            print(f"\ncorpora kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("\nsummary")
    for figure, measured, target, verdict in ROWS:
        if target:
            print(f"  {figure:<62}{measured:>16}   {target:<16}{verdict}")


if __name__ == "__main__":
    main()
