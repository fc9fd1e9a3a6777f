"""Gallery manifests: the YAML front matter of Jekyll pages, parsed into frozen records.

Only `title`, `images` (`image_id`, `image_name`, `image_title`, `image_alt`) and `gallery`
(`image_url`, `caption`, `title`) are read; everything else is ignored. Every entry keeps the
line of the page file it came from, and every defect becomes a `bad-manifest` problem with
that line instead of an exception, so one broken page never stops the others.

Front matter is recognised the way Jekyll does: the file (after a UTF-8 BOM) starts with a
`---` line and the YAML runs to the next `---` or `...` line; CRLF endings are accepted. The
YAML itself is read by libyaml when available, the same parser Jekyll (Psych) uses, so tabs
are accepted or refused exactly as the site's own build would.
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import NamedTuple

import yaml

from .problems import Problem, shown_name

PAGE_SUFFIXES = (".md", ".markdown", ".html", ".htm")
FRONT_MATTER = re.compile(r"\A---[ \t\r]*\n(.*?\n?)^(?:---|\.\.\.)[ \t\r]*$", re.DOTALL | re.MULTILINE)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PARSER = f"PyYAML {yaml.__version__} {_Loader.__name__}"  # what decides how a page parses
_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"


class ImageEntry(NamedTuple):
    """One entry of `images`: the page's main picture, usually an animated GIF."""

    image_name: str
    image_id: str
    image_title: str
    image_alt: str
    line: int


class GalleryEntry(NamedTuple):
    """One entry of `gallery`: a frame of the turntable, in order."""

    image_url: str
    caption: str
    title: str
    line: int


class Page(NamedTuple):
    """A page with front matter. `path` is relative to the pages folder, with `/`."""

    path: str
    title: str
    images: tuple[ImageEntry, ...]
    gallery: tuple[GalleryEntry, ...]
    gallery_line: int  # line of the `gallery:` key, 0 when there is none
    problems: tuple[Problem, ...]
    published: bool = True  # `published: false` in its front matter: Jekyll leaves it out


def find_page_files(pages_dir: Path, skip: frozenset[Path] = frozenset()) -> list[Path]:
    """Every page file below `pages_dir`, sorted; hidden folders and files are skipped, and
    so are the folders in `skip` (absolute: the build folder, when it is inside the pages)."""
    found = []
    # a folder that cannot be listed is given as a page: reading it says why
    for folder, subdirs, files in os.walk(pages_dir, onerror=lambda exc: found.append(Path(exc.filename))):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and Path(folder, d) not in skip)
        found.extend(
            Path(folder, name)
            for name in files
            if name.lower().endswith(PAGE_SUFFIXES) and not name.startswith(".")
        )
    return sorted(found)


def read_pages(pages_dir: Path) -> tuple[Page, ...]:
    """Parse every page under `pages_dir`; pages without front matter are left out."""
    pages = (read_page(file, pages_dir) for file in find_page_files(pages_dir))
    return tuple(page for page in pages if page is not None)


def read_page(file: Path, pages_dir: Path) -> Page | None:
    """Parse one page file, or return None when it has no front matter. A page that cannot
    be read (a broken symlink, a named pipe, which would wait for a writer forever) is a
    page with that problem."""
    name = shown_name(file.relative_to(pages_dir).as_posix())
    if name != file.relative_to(pages_dir).as_posix():
        return _broken(name, 1, "the page's file name is not UTF-8 (its odd bytes are shown as \\xNN); "
                                "rename it")
    try:
        if file.is_dir():
            os.listdir(file)  # it was found because it could not be listed: say why
            return None
        if not stat.S_ISREG(file.stat().st_mode):
            return _broken(name, 1, "the page cannot be read: it is not a regular file (a named pipe, "
                                    "socket or device)")
        data = file.read_bytes()
    except OSError as exc:
        what = "folder of pages" if file.is_dir() else "page"
        return _broken(name, 1, f"the {what} cannot be read: {exc.strerror or exc}")
    return parse_page(data, name)


def parse_page(data: bytes, name: str) -> Page | None:
    """Parse the bytes of a page called `name`; None when it has no front matter."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.startswith(b"---"):
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return _broken(name, line, f"the file is not UTF-8 (byte {data[exc.start]:#04x} at line {line}); save it as UTF-8")
    match = FRONT_MATTER.match(text)
    if match is None:
        if re.match(r"---[ \t\r]*\n", text) is None:
            return None  # a line like '----' or '--- text' is not front matter for Jekyll either
        return _broken(name, 1, "front matter starts with '---' but has no closing '---' line")
    first_line = text.count("\n", 0, match.start(1)) + 1
    return _parse_front_matter(match.group(1), name, first_line)


# Deeper than this a page is refused before it is composed: the composer recurses once per
# level, and about 30,000 levels (a line of '[') overflowed the C stack, a segfault that
# ended the whole build with no word. A page of the atlas nests three levels.
MAX_DEPTH = 1000


def _too_deep(yaml_text: str) -> int | None:
    """The line (from 0) where the nesting of `yaml_text` passes MAX_DEPTH, or None.

    Each level needs one of '[', '{', '-', ':' or '?', so counting those clears almost every
    page at once; the others are read as libyaml's events, a loop without recursion."""
    if sum(yaml_text.count(sign) for sign in "[{-:?") <= MAX_DEPTH:
        return None
    depth = 0
    try:
        for event in yaml.parse(yaml_text, Loader=_Loader):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    return event.start_mark.line
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return None  # composing says what is wrong, and where
    return None


def _parse_front_matter(yaml_text: str, name: str, first_line: int) -> Page:
    deep = _too_deep(yaml_text)
    if deep is not None:
        return _broken(name, first_line + deep, f"front matter nests lists or mappings more than "
                       f"{MAX_DEPTH} levels deep; a page's images and gallery need three")
    try:
        root = yaml.compose(yaml_text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and mark.line >= yaml_text.count("\n"):
            mark = exc.context_mark  # found only at the end: point at what was left open
        line = first_line + (mark.line if mark else 0)
        return _broken(name, line, f"front matter is not valid YAML: {exc.problem or exc}")
    except yaml.YAMLError as exc:
        return _broken(name, first_line, f"front matter is not valid YAML: {exc}")
    if root is None or (isinstance(root, yaml.ScalarNode) and root.tag == _NULL):
        return Page(name, "", (), (), 0, ())
    if not isinstance(root, yaml.MappingNode):
        line = first_line + root.start_mark.line
        return _broken(name, line, f"front matter must be a mapping of keys, not a {_kind(root)}")

    pairs = _pairs(root)
    alias_lines = {}
    if any(_has_alias_item(pairs.get(key, (None, None))[1]) for key in ("images", "gallery")):
        root, alias_lines = _compose_marking_aliases(yaml_text, root)
        pairs = _pairs(root)
    builder = _PageBuilder(name, first_line, alias_lines)
    values = {key: value for key, (_, value) in pairs.items()}
    return Page(
        path=name,
        title=builder.text(values.get("title"), "title"),
        images=builder.entries(values.get("images"), "images", "image_name", _image_entry),
        gallery=builder.entries(values.get("gallery"), "gallery", "image_url", _gallery_entry),
        gallery_line=builder.line(pairs["gallery"][0]) if "gallery" in pairs else 0,
        problems=tuple(builder.problems),
        published=not _is_false(values.get("published")),
    )


class _PageBuilder:
    """Turns YAML nodes into entry records, collecting problems with their page lines."""

    def __init__(self, name: str, first_line: int, alias_lines: dict | None = None):
        self.name = name
        self.first_line = first_line
        self.alias_lines = alias_lines or {}  # see _compose_marking_aliases
        self.problems: list[Problem] = []

    def line(self, node) -> int:
        return self.first_line + node.start_mark.line

    def item_line(self, items, index: int) -> int:
        """The line of a list's item `index`: where its alias is written, for an alias."""
        return self.first_line + self.alias_lines.get((id(items), index), items.value[index].start_mark.line)

    def problem(self, node, message: str) -> None:
        self.problem_at(self.line(node), message)

    def problem_at(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.name, line, "", "bad-manifest", message))

    def entries(self, node, key: str, required: str, make) -> tuple:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL):
            return ()
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"'{key}' must be a list of entries, not a {_kind(node)}")
            return ()
        records = []
        for index, item in enumerate(node.value):
            line = self.item_line(node, index)
            if not isinstance(item, yaml.MappingNode):
                self.problem_at(line, f"each '{key}' entry must be a mapping with '{required}', not a {_kind(item)}")
                continue
            fields = {key: value for key, (_, value) in _pairs(item).items()}
            value = fields.get(required)
            if value is None:
                self.problem_at(line, f"'{key}' entry has no '{required}'")
                continue
            if not (isinstance(value, yaml.ScalarNode) and value.tag == _STR and value.value.strip()):
                shown = value.value if isinstance(value, yaml.ScalarNode) else _kind(value)
                self.problem(value, f"'{required}' must be a non-empty string, got {shown!r}")
                continue
            record = make(self, fields, value.value, line)  # as written: a space around it is refused (safepaths)
            if record is not None:
                records.append(record)
        return tuple(records)

    def text(self, node, key: str) -> str:
        """An optional text field: any scalar, as written; a list or mapping is a problem."""
        if node is None:
            return ""
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, f"'{key}' must be text, not a {_kind(node)}")
            return ""
        return "" if node.tag == _NULL else node.value


def _has_alias_item(node) -> bool:
    """Whether a list has an item written as an alias (`- *frame`): composed, such an item is
    its anchor's node, which starts before the end of the item ahead of it (or of the list)."""
    if not isinstance(node, yaml.SequenceNode):
        return False
    ahead = node.start_mark.index
    for item in node.value:
        if item.start_mark.index < ahead:
            return True
        ahead = item.end_mark.index
    return False


class _AliasMarkingLoader(yaml.SafeLoader):
    """PyYAML's own composer, noting the line of every list item written as an alias."""

    def __init__(self, stream):
        super().__init__(stream)
        self.alias_lines: dict[tuple[int, int], int] = {}  # (id of the list, index) -> line

    def compose_node(self, parent, index):
        if isinstance(parent, yaml.SequenceNode) and self.check_event(yaml.AliasEvent):
            self.alias_lines[(id(parent), index)] = self.peek_event().start_mark.line
        return super().compose_node(parent, index)


def _compose_marking_aliases(yaml_text: str, root):
    """(root, alias lines) of front matter with alias items. libyaml's composer keeps no mark
    of an alias, so the text is composed again in Python (libyaml has already accepted it);
    should that parser disagree, the entries keep their anchors' lines."""
    loader = _AliasMarkingLoader(yaml_text)
    try:
        return loader.get_single_node(), loader.alias_lines
    except yaml.YAMLError:
        return root, {}
    finally:
        loader.dispose()


def _is_false(node) -> bool:
    """A YAML boolean false (`false`, `no`, `off`, as Jekyll's YAML 1.1 reads them)."""
    return (isinstance(node, yaml.ScalarNode) and node.tag == _BOOL
            and not yaml.SafeLoader.bool_values.get(node.value.lower(), True))


_BOOL = "tag:yaml.org,2002:bool"
_MERGE = "tag:yaml.org,2002:merge"


def _pairs(node: yaml.MappingNode, inside: tuple = ()) -> dict:
    """A mapping's (key node, value node) by key, the last of duplicate keys winning, with
    YAML merge keys (`<<: *defaults`) applied as PyYAML's safe loader and Jekyll's Psych apply
    them: the mapping's own keys win, then the merged mappings, the first of a list first."""
    own, merged = {}, {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        if key.tag != _MERGE:
            own[key.value] = (key, value)
            continue
        for source in value.value if isinstance(value, yaml.SequenceNode) else [value]:
            if isinstance(source, yaml.MappingNode) and source not in inside:
                for name, pair in _pairs(source, (*inside, node)).items():
                    merged.setdefault(name, pair)
    return {**merged, **own}


def _image_entry(builder: _PageBuilder, fields: dict, name: str, line: int) -> ImageEntry:
    return ImageEntry(
        image_name=name,
        image_id=builder.text(fields.get("image_id"), "image_id"),
        image_title=builder.text(fields.get("image_title"), "image_title"),
        image_alt=builder.text(fields.get("image_alt"), "image_alt"),
        line=line,
    )


def _gallery_entry(builder: _PageBuilder, fields: dict, url: str, line: int) -> GalleryEntry:
    return GalleryEntry(
        image_url=url,
        caption=builder.text(fields.get("caption"), "caption"),
        title=builder.text(fields.get("title"), "title"),
        line=line,
    )


def _broken(name: str, line: int, message: str) -> Page:
    return Page(name, "", (), (), 0, (Problem(name, line, "", "bad-manifest", message),))


def _kind(node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "mapping"
    if isinstance(node, yaml.SequenceNode):
        return "list"
    if node.tag == _STR:
        return "string"
    return node.tag.rsplit(":", 1)[-1]
