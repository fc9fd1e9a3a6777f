"""atlas-pipeline: animations, thumbnails, contact sheets and a checked bundle from the
gallery manifests of a Jekyll site. `cli.py` is the command; `tasks/` wires the modules
into doit tasks; the README lists what each module does."""
