"""Both entry points, run as a user runs them: `pipeline` from any folder, and `doit` with dodo.py."""
import json
import re
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import with_default_processes

REPO = Path(__file__).resolve().parents[1]


def pipeline_command() -> list[str]:
    script = Path(sys.executable).parent / "pipeline"
    return [str(script)] if script.exists() else [sys.executable, "-m", "pipeline.cli"]


def run(args, cwd, **kwargs):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture
def raw_copy(tmp_path):
    """A copy of the embedded sample site, with its own settings file."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "raw", site / "raw")
    shutil.copy(REPO / "pipeline.toml", site / "pipeline.toml")
    return site


def test_pipeline_verify_on_the_samples_passes_from_another_folder(raw_copy, tmp_path):
    result = run([*pipeline_command(), "--config", str(raw_copy / "pipeline.toml"), "verify"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "0 errors, 0 warnings" in result.stderr
    assert json.loads((raw_copy / "build" / "verify.json").read_text()) == []


def test_pipeline_reads_pipeline_toml_in_the_current_folder(raw_copy):
    result = run([*pipeline_command(), "list"], cwd=raw_copy)
    assert result.returncode == 0, result.stderr
    assert "verify" in result.stdout


def test_broken_copy_fails_and_names_each_problem(raw_copy):
    images = raw_copy / "raw" / "images" / "muscles" / "png"
    (images / "Leg-Soleus-5.png").unlink()
    corrupt = images / "Thigh-3.png"
    corrupt.write_bytes(corrupt.read_bytes()[:2000])
    page = raw_copy / "raw" / "pages" / "muscles" / "muscle_arm-bicepsbrachii.md"
    page.write_text(page.read_text().replace("muscles/png/Arm-BicepsBrachii-2.png", "../Arm-BicepsBrachii-2.png"))
    sources_before = {p: p.read_bytes() for p in (raw_copy / "raw").rglob("*") if p.is_file()}

    result = run([*pipeline_command(), "verify"], cwd=raw_copy)

    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert "muscles/muscle_leg-soleus.md:32: missing: gallery frame 'muscles/png/Leg-Soleus-5.png' " \
           "does not exist under the image root" in lines
    assert any(line.startswith("muscle_thigh.md:26: unreadable: 'muscles/png/Thigh-3.png' is truncated") for line in lines)
    assert any(line.startswith("muscles/muscle_arm-bicepsbrachii.md:23: unsafe-path: '../Arm-BicepsBrachii-2.png'")
               for line in lines)
    codes = [p["code"] for p in json.loads((raw_copy / "build" / "verify.json").read_text())]
    assert {"missing", "unreadable", "unsafe-path"} <= set(codes)
    sources_after = {p: p.read_bytes() for p in (raw_copy / "raw").rglob("*") if p.is_file()}
    assert sources_after == sources_before


def test_bad_settings_are_a_clear_error(raw_copy):
    (raw_copy / "pipeline.toml").write_text("[paths]\npages = 'raw/pages'\nimagez = 'x'\n")
    result = run([*pipeline_command(), "verify"], cwd=raw_copy)
    assert result.returncode == 3
    assert result.stderr.strip() == "pipeline: pipeline.toml: [paths] imagez: unknown key; known keys: pages, images, build"



@pytest.mark.parametrize("paths", [
    "images = 'build/images'\nbuild = 'build'",  # the README's "drops onto the image root", taken literally
    "images = 'raw/images'\nbuild = 'raw/images/out'",
    "images = 'raw/images'\nbuild = 'raw'",
])
def test_a_build_folder_overlapping_the_image_root_is_refused_before_anything_is_deleted(raw_copy, paths):
    images = raw_copy / "build" / "images"
    shutil.copytree(raw_copy / "raw" / "images", images)
    (raw_copy / "pipeline.toml").write_text(f"[paths]\npages = 'raw/pages'\n{paths}\n")
    sources_before = {p: p.read_bytes() for p in raw_copy.rglob("*") if p.is_file()}

    for command in (["clean"], ["frames"], ["bundle"]):
        result = run([*pipeline_command(), *command], cwd=raw_copy)
        assert result.returncode == 3, result.stderr
        assert result.stderr.startswith("pipeline: pipeline.toml: [paths] build (")
        assert "overlap: the build folder must be outside the image root" in result.stderr

    assert {p: p.read_bytes() for p in raw_copy.rglob("*") if p.is_file()} == sources_before


@pytest.mark.parametrize("link, target", [
    ("build/images", "raw/images"),  # the whole tree
    ("build/images/muscles/png", "raw/images/muscles/png"),  # one folder deep inside it
    ("build/contact", "raw/pages"),  # contact sheets among the pages
    ("build/images/muscles", "elsewhere"),  # a link to a folder outside, which links back in
])
def test_a_folder_in_the_build_that_is_a_symlink_into_the_sources_is_refused(raw_copy, link, target):
    (raw_copy / "pipeline.toml").write_text("[paths]\npages = 'raw/pages'\nimages = 'raw/images'\n")
    (raw_copy / "elsewhere").mkdir()
    (raw_copy / "elsewhere" / "png").symlink_to(raw_copy / "raw/images/muscles/png")
    (raw_copy / link).parent.mkdir(parents=True)
    (raw_copy / link).symlink_to(raw_copy / target)
    sources_before = {p: p.read_bytes() for p in (raw_copy / "raw").rglob("*") if p.is_file()}

    for command in ([], ["clean", "frames"], ["clean"]):
        result = run([*pipeline_command(), *command], cwd=raw_copy)
        assert result.returncode == 3, result.stderr
        assert result.stderr.startswith(f"pipeline: pipeline.toml: [paths] build: {raw_copy}/")
        assert "outputs written or cleaned there would replace or delete sources" in result.stderr

    assert {p: p.read_bytes() for p in (raw_copy / "raw").rglob("*") if p.is_file()} == sources_before


def test_symlinks_that_stay_in_the_build_folder_or_lead_elsewhere_are_fine(raw_copy):
    # the build inside the pages (a site's root), with a link inside it and one to a folder outside
    (raw_copy / "pipeline.toml").write_text("[paths]\npages = '.'\nimages = 'raw/images'\nbuild = 'out'\n")
    (raw_copy / "out" / "images").mkdir(parents=True)
    (raw_copy / "out" / "current").symlink_to("images")
    (raw_copy.parent / "archive").mkdir()  # outside the site
    (raw_copy / "out" / "archive").symlink_to(raw_copy.parent / "archive")
    (raw_copy / "out" / "notes").mkdir()
    (raw_copy / "out" / "notes" / "images").symlink_to(raw_copy / "raw/images")  # nothing is written there
    result = run([*pipeline_command(), "verify"], cwd=raw_copy)
    assert result.returncode == 0, result.stderr


def test_a_build_folder_inside_the_pages_folder_is_not_searched_for_pages(raw_copy):
    (raw_copy / "pipeline.toml").write_text("[paths]\npages = '.'\nimages = 'raw/images'\nbuild = 'out'\n")
    (raw_copy / "out").mkdir()
    (raw_copy / "out" / "stray.md").write_text("---\ngallery: [\n---\n")  # would be a YAML error

    result = run([*pipeline_command()], cwd=raw_copy)  # everything: verify, ..., bundle, report

    assert result.returncode == 0, result.stderr
    assert "stray.md" not in result.stderr
    again = run([*pipeline_command()], cwd=raw_copy)  # what the build wrote there is no page change
    assert again.returncode == 0 and "pipeline: 0 built, " in again.stdout, again.stdout
    (raw_copy / "pipeline.toml").write_text("[paths]\npages = 'out/pages'\nimages = 'raw/images'\nbuild = 'out'\n")
    (raw_copy / "out" / "pages").mkdir()
    result = run([*pipeline_command(), "verify"], cwd=raw_copy)
    assert result.returncode == 3
    assert "pipeline: pipeline.toml: [paths] build (" in result.stderr
    assert "contains [paths] pages (" in result.stderr


def test_missing_settings_file(tmp_path):
    result = run([*pipeline_command(), "verify"], cwd=tmp_path)
    assert result.returncode == 3
    assert "pipeline.toml: settings file not found" in result.stderr


def test_doit_in_the_repository_takes_another_settings_file(raw_copy, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    config = str(raw_copy / "pipeline.toml")
    listed = run([sys.executable, "-m", "doit", "-f", str(REPO / "dodo.py"), "list", f"config={config}"], cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "verify" in listed.stdout
    ran = run([sys.executable, "-m", "doit", "-f", str(REPO / "dodo.py"), f"config={config}", "verify"], cwd=tmp_path, env=env)
    assert ran.returncode == 0, ran.stderr
    assert (raw_copy / "build" / "verify.json").exists()
    info = run([sys.executable, "-m", "doit", "-f", str(REPO / "dodo.py"), "info", "verify", f"config={config}"], cwd=tmp_path, env=env)
    assert "verify.json" in info.stdout  # doit info exits 1 for a task that is not up to date
    clean = run([*pipeline_command(), "--config", config, "clean", "verify"], cwd=tmp_path)
    assert clean.returncode == 0, clean.stderr
    assert not (raw_copy / "build" / "verify.json").exists()
    forget = run([*pipeline_command(), "--config", config, "forget"], cwd=tmp_path)
    assert forget.returncode == 0, forget.stderr


def test_a_plain_run_uses_every_core_unless_told():
    commands = {"run", "list", "clean", "forget", "info"}
    cores = str(max(1, min(os.cpu_count() or 1, 8)))
    assert with_default_processes([], commands) == ["-n", cores]
    assert with_default_processes(["verify"], commands) == ["-n", cores, "verify"]
    assert with_default_processes(["run", "gif"], commands) == ["run", "-n", cores, "gif"]
    assert with_default_processes(["-n", "1", "gif"], commands) == ["-n", "1", "gif"]
    assert with_default_processes(["list"], commands) == ["list"]


@pytest.mark.parametrize("processes", [["-n", "-1"], ["-n-2"], ["--process=-1"], ["--process", "-3"]])
def test_a_negative_number_of_processes_is_refused_not_a_silent_nothing(tmp_path, processes):
    result = run([*pipeline_command(), "--config", str(tmp_path / "none.toml"), *processes], cwd=tmp_path)
    assert (result.returncode, result.stderr) == (
        3, "pipeline: -n takes a number of processes: 1 or more (0: all in this one)\n")


def refused_backend(site: Path) -> str:
    return (f"ERROR: --backend: {site / 'build' / '.doit.db'} keeps the build's records in sqlite3, which "
            "doit's json and dbm backends cannot read; leave --backend out\n")


@pytest.mark.parametrize("backend", [["--backend", "json"], ["--backend=dbm"]])
def test_a_backend_that_cannot_read_the_build_s_records_is_refused(raw_copy, backend):
    assert run([*pipeline_command(), *backend, "verify"], cwd=raw_copy).returncode == 3  # a new build:
    assert not (raw_copy / "build" / ".doit.db").exists()  # no file the next run could not read
    assert run(pipeline_command() + ["verify"], cwd=raw_copy).returncode == 0  # the records exist
    result = run([*pipeline_command(), *backend, "verify"], cwd=raw_copy)
    assert (result.returncode, result.stderr) == (3, refused_backend(raw_copy))
    assert run([*pipeline_command(), "--backend", "sqlite3", "verify"], cwd=raw_copy).returncode == 0


@pytest.mark.parametrize("command", [["run", "--backend", "json", "verify"], ["forget", "--backend=dbm"]])
def test_doit_in_the_repository_refuses_those_backends_too(raw_copy, command):
    """Run in the repository, where pyproject.toml names the pipeline's plugins."""
    config = f"config={raw_copy / 'pipeline.toml'}"
    assert run([sys.executable, "-m", "doit", "verify", config], cwd=REPO).returncode == 0
    result = run([sys.executable, "-m", "doit", *command, config], cwd=REPO)
    assert (result.returncode, result.stderr) == (3, refused_backend(raw_copy))


def test_doit_with_bad_settings_says_why_without_a_traceback(raw_copy, tmp_path):
    (raw_copy / "pipeline.toml").write_text("[webp]\nquality = 'high'\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = run([sys.executable, "-m", "doit", "-f", str(REPO / "dodo.py"), "list",
                  f"config={raw_copy / 'pipeline.toml'}"], cwd=tmp_path, env=env)
    assert result.returncode != 0
    assert "pipeline: pipeline.toml: [webp] quality: expected an integer, got 'high'" in result.stderr
    assert "Traceback" not in result.stderr


def test_list_and_info_do_not_wait_for_a_running_build_nor_touch_its_files(raw_copy):
    hold = ("import sys, time\nfrom pathlib import Path\nfrom pipeline.buildlock import BuildLock\n"
            "lock = BuildLock(Path(sys.argv[1]))\nprint('locked', flush=True)\ntime.sleep(60)\n")
    (raw_copy / "build").mkdir()
    temporary = raw_copy / "build" / ".Leg-Soleus.abc.tmp.gif"  # a running build's file in progress
    temporary.write_bytes(b"half")
    holder = subprocess.Popen([sys.executable, "-c", hold, str(raw_copy / "build")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        for command in (["list"], ["info", "verify"]):  # the holder sleeps 60 s: these must not wait
            result = subprocess.run([*pipeline_command(), *command], cwd=raw_copy, capture_output=True,
                                    text=True, timeout=30)
            assert "verify" in result.stdout, result.stderr
            assert "another build is running" not in result.stderr
        assert temporary.read_bytes() == b"half"  # not swept as a stale temporary
    finally:
        holder.kill()
        holder.wait()


def test_dumpdb_shows_the_build_folder_s_dependency_file(raw_copy, tmp_path):
    config = str(raw_copy / "pipeline.toml")
    before = run([*pipeline_command(), "--config", config, "dumpdb"], cwd=tmp_path)
    assert before.returncode != 0 and "it is written by the first build" in before.stdout + before.stderr
    assert "Traceback" not in before.stdout + before.stderr
    assert run([*pipeline_command(), "--config", config, "verify"], cwd=tmp_path).returncode == 0

    dumped = run([*pipeline_command(), "--config", config, "dumpdb"], cwd=tmp_path)  # from another folder

    assert dumped.returncode == 0, dumped.stderr
    assert re.search(r"^verify -> \{", dumped.stdout, re.MULTILINE), dumped.stdout


def test_info_on_a_name_that_is_no_task_s_says_so(raw_copy):
    config = str(raw_copy / "pipeline.toml")
    name = "gif:images/no/such.gif"
    runs = (([*pipeline_command(), "--config", config, "info", name], raw_copy),
            # doit in the repository, where pyproject.toml names the pipeline's commands
            ([sys.executable, "-m", "doit", "-f", str(REPO / "dodo.py"), "info", name, f"config={config}"], REPO))
    for command, cwd in runs:
        result = run(command, cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert result.returncode == 3, result.stdout + result.stderr
        assert "no task is named 'gif:images/no/such.gif'" in result.stderr and "Traceback" not in result.stderr
    shown = run([*pipeline_command(), "info", "gif"], cwd=raw_copy)
    assert "Animated GIF of every animation" in shown.stdout  # doit info exits 1 for a task that is not up to date


@pytest.mark.parametrize("command", [["info", "gif"], ["list", "--all"], ["--help"]])
def test_output_read_in_part_ends_without_a_traceback(raw_copy, command):
    # `pipeline info X | head -0`: the reader is gone before anything is written
    shown = subprocess.Popen([*pipeline_command(), *command], cwd=raw_copy, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    shown.stdout.close()
    said = shown.stderr.read().decode()
    shown.wait(timeout=60)
    assert "Traceback" not in said and "BrokenPipe" not in said, said
    assert shown.returncode == -signal.SIGPIPE  # as a Unix tool ends: `yes | head` gives 141


def test_a_command_that_changes_things_finishes_when_its_reader_stops_early(raw_copy):
    """`pipeline clean | head -1`: a traceback, exit 3 and one file removed; `forget` forgot
    nothing. The rest of what they print now goes nowhere and their work is done."""
    assert run([*pipeline_command(), "gif", "thumbnails"], cwd=raw_copy).returncode == 0
    made = sorted((raw_copy / "build" / "images").rglob("*.*"))
    assert len(made) > 3
    for command in (["forget"], ["clean"]):
        shown = subprocess.Popen([*pipeline_command(), *command], cwd=raw_copy, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
        shown.stdout.close()  # the reader is gone before anything is written
        said = shown.stderr.read().decode()
        shown.wait(timeout=60)
        assert "Traceback" not in said and "BrokenPipe" not in said, said
        assert shown.returncode == 0, said
    assert [path for path in made if path.exists()] == []  # every file cleaned


def test_config_without_a_file_is_a_command_line_error(raw_copy):
    bare = run([*pipeline_command(), "--config"], cwd=raw_copy)  # a command-line error: 3, as the README has it
    assert bare.returncode == 3 and "pipeline: argument --config: expected one argument" in bare.stderr


def test_help_names_every_task_that_list_shows_without_a_settings_file(raw_copy, tmp_path):
    shown = run([*pipeline_command(), "--help"], cwd=tmp_path)  # no pipeline.toml here
    assert shown.returncode == 0, shown.stderr
    listed = run([*pipeline_command(), "list"], cwd=raw_copy)
    tasks = dict(line.split(None, 1) for line in listed.stdout.splitlines())
    assert len(tasks) == 10
    for name, text in tasks.items():
        assert f"  {name:<12}{text}" in shown.stdout.splitlines()


def test_a_damaged_dependency_file_is_one_error_line(raw_copy):
    (raw_copy / "build").mkdir()
    (raw_copy / "build" / ".doit.db").write_bytes(b"not sqlite " * 1000)
    for command in (["verify"], ["list", "--status"]):
        result = run([*pipeline_command(), *command], cwd=raw_copy)
        assert result.returncode == 3, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        assert re.search(r"^ERROR: \S+/build/\.doit\.db is not a dependency file the pipeline can read \(file is "
                         r"not a database\); delete it: the next build makes every file again$", result.stderr, re.M)


def test_records_that_cannot_be_saved_fail_the_run_after_its_summary(raw_copy, monkeypatch, capsys):
    import sqlite3

    from doit.dependency import SqliteDB

    from pipeline.cli import main

    def full_disk(self):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(SqliteDB, "dump", full_disk)  # under the pipeline's backend, as a full disk does
    assert main(["--config", str(raw_copy / "pipeline.toml"), "-n", "0", "verify"]) == 2
    printed = capsys.readouterr()
    assert "verify: 3 pages" in printed.err and "Traceback" not in printed.out + printed.err
    assert printed.err.rstrip().endswith("build/.doit.db: this run's records could not be saved (database or disk "
                                         "is full); every file written is whole, and the next run makes again "
                                         "what this one made")


def test_a_build_folder_that_cannot_be_made_is_one_error_line(raw_copy, monkeypatch):
    import errno

    from pipeline.problems import PipelineError
    from pipeline.tasks import doit_namespace

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    for read_only_command in (False, True):  # a build, and `list`
        with pytest.raises(PipelineError, match=r"^\[paths\] build: cannot make the build folder \S+/build: "
                                                r"Read-only file system$"):
            doit_namespace(raw_copy / "pipeline.toml", read_only=read_only_command)


def test_a_build_started_in_a_folder_since_deleted_still_runs_on_its_workers(raw_copy, tmp_path):
    # the shell is still in a folder that was deleted: multiprocessing asks for the current
    # folder to start a worker, and the build ended in a traceback
    gone = tmp_path / "gone"
    command = shlex.join([*pipeline_command(), "--config", str(raw_copy / "pipeline.toml"), "-n", "2", "gif"])
    result = run(["sh", "-c", f"mkdir {gone} && cd {gone} && rmdir {gone} && exec {command}"], cwd=tmp_path,
                 env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    gifs = sorted(p.name for p in (raw_copy / "build/images/muscles/gif").glob("*.gif"))
    assert gifs == ["Arm-BicepsBrachii.gif", "Leg-Soleus.gif", "Thigh.gif"]
