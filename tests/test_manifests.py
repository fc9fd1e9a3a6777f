import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.manifests import parse_page, read_pages

SHARED_MANIFESTS = Path(__file__).resolve().parents[2] / "shared" / "manifests"

REAL_SHAPE = """---

layout: page
permalink: /muscle/leg/soleus/

title: 'The soleus muscle of the leg'
subheadline: 'Images and description.'

header: no

images:
  - image_id: 'LegSoleus'
    image_name: 'muscles/gif/Leg-Soleus.gif'
    image_title: 'The soleus muscle of the leg'
    image_alt: 'It''s the soleus' 

gallery:
  - image_url: muscles/png/Leg-Soleus-1.png
    caption: 'The soleus muscle of the leg 1'
    title: 'Soleus 1'

  - image_url: muscles/png/Leg-Soleus-2.png
    caption: 'The soleus muscle of the leg 2'
    title: 'Soleus 2'
---
{% include gallery %}
"""


def test_real_shape_keeps_entries_and_lines():
    page = parse_page(REAL_SHAPE.encode(), "muscles/soleus.md")
    assert page.title == "The soleus muscle of the leg"
    (image,) = page.images
    assert image.image_name == "muscles/gif/Leg-Soleus.gif"
    assert image.image_alt == "It's the soleus"  # quoted apostrophe, trailing space after the quote
    assert image.line == 12
    assert [g.image_url for g in page.gallery] == ["muscles/png/Leg-Soleus-1.png", "muscles/png/Leg-Soleus-2.png"]
    assert [g.line for g in page.gallery] == [18, 22]
    assert page.gallery[1].caption == "The soleus muscle of the leg 2"
    assert page.gallery_line == 17
    assert page.problems == ()


def test_records_are_immutable():
    page = parse_page(REAL_SHAPE.encode(), "p.md")
    with pytest.raises(AttributeError):
        page.gallery[0].image_url = "x"


def test_bom_and_crlf_are_handled_like_jekyll():
    data = b"\xef\xbb\xbf" + REAL_SHAPE.replace("\n", "\r\n").encode()
    page = parse_page(data, "p.md")
    assert page.problems == ()
    assert page.gallery[0].image_url == "muscles/png/Leg-Soleus-1.png"
    assert page.gallery[1].line == 22
    assert page.images[0].image_alt == "It's the soleus"


def test_a_name_is_kept_as_written_spaces_and_all():
    """Liquid writes it as quoted, so a space inside the quotes breaks the link; verify
    refuses it (safepaths), which it cannot when the space is taken off here."""
    data = REAL_SHAPE.replace("image_url: muscles/png/Leg-Soleus-1.png", "image_url: ' muscles/png/Leg-Soleus-1.png '")
    page = parse_page(data.encode(), "p.md")
    assert page.gallery[0].image_url == " muscles/png/Leg-Soleus-1.png "


def test_tab_after_a_key_is_fine_but_tab_indentation_is_an_error():
    ok = parse_page(b"---\ntitle:\t'x'\ngallery:\n  - image_url:\tmuscles/png/A-1.png\n---\n", "p.md")
    assert ok.problems == () and ok.gallery[0].image_url == "muscles/png/A-1.png"
    bad = parse_page(b"---\ntitle: x\ngallery:\n\t- image_url: a.png\n---\n", "p.md")
    (problem,) = bad.problems
    assert (problem.code, problem.line) == ("bad-manifest", 4)
    assert "not valid YAML" in problem.message


def test_pages_without_front_matter_are_skipped():
    assert parse_page(b"# Just markdown\n", "p.md") is None
    assert parse_page(b"", "p.md") is None
    assert parse_page(b"----\nnot front matter\n", "p.md") is None


def test_unclosed_front_matter_is_reported():
    (problem,) = parse_page(b"---\ntitle: x\n", "p.md").problems
    assert (problem.code, problem.line) == ("bad-manifest", 1)
    assert "no closing '---'" in problem.message


@pytest.mark.parametrize("front, line, message", [
    ("title: x\nimages: [unclosed\n", 3, "front matter is not valid YAML"),
    ("- a\n- b\n", 2, "front matter must be a mapping of keys, not a list"),
    ("gallery: muscles/png/A-1.png\n", 2, "'gallery' must be a list of entries, not a string"),
    ("gallery:\n  - muscles/png/A-1.png\n", 3, "each 'gallery' entry must be a mapping with 'image_url', not a string"),
    ("gallery:\n  - caption: x\n", 3, "'gallery' entry has no 'image_url'"),
    ("gallery:\n  - image_url: 12\n", 3, "'image_url' must be a non-empty string, got '12'"),
    ("gallery:\n  - image_url:\n      - a\n", 4, "'image_url' must be a non-empty string, got 'list'"),
    ("images:\n  - image_id: x\n", 3, "'images' entry has no 'image_name'"),
    ("images:\n  - image_name: a.gif\n    image_alt: [1, 2]\n", 4, "'image_alt' must be text, not a list"),
])
def test_bad_manifests_name_the_line(front, line, message):
    page = parse_page(f"---\n{front}---\nbody\n".encode(), "bad.md")
    (problem,) = page.problems
    assert problem.code == "bad-manifest"
    assert problem.page == "bad.md"
    assert problem.line == line
    assert message in problem.message


def test_a_bad_entry_does_not_lose_the_good_ones():
    page = parse_page(b"---\ngallery:\n  - image_url: a-1.png\n  - caption: lost\n  - image_url: a-2.png\n---\n", "p.md")
    assert [g.image_url for g in page.gallery] == ["a-1.png", "a-2.png"]
    assert [p.line for p in page.problems] == [4]


def test_an_entry_written_as_an_alias_has_the_line_of_the_alias():
    text = (b"---\n"
            b"spare: &spare {caption: 'no image_url'}\n"
            b"images:\n"
            b"  - &anim {image_name: a.gif}\n"
            b"  - *anim\n"                                   # line 5
            b"gallery:\n"
            b"  - &one {image_url: a-1.png, caption: One}\n"  # line 7
            b"  - image_url: a-2.png\n"
            b"    extra: &two {image_url: a-3.png}\n"
            b"  - *two\n"                                    # line 10: anchored inside the entry above
            b"  - *one\n"                                    # line 11: listed twice
            b"  - *spare\n"                                  # line 12: the broken entry is here
            b"---\n")
    page = parse_page(text, "p.md")
    assert [(i.image_name, i.line) for i in page.images] == [("a.gif", 4), ("a.gif", 5)]
    assert [(g.image_url, g.line) for g in page.gallery] == [
        ("a-1.png", 7), ("a-2.png", 8), ("a-3.png", 10), ("a-1.png", 11)]
    assert [(p.line, p.message) for p in page.problems] == [(12, "'gallery' entry has no 'image_url'")]


def test_merge_keys_are_applied_as_yaml_loaders_apply_them():
    text = (b"---\n"
            b"shared: &shared {caption: 'Shared', title: 'Shared title', image_url: from-shared.png}\n"
            b"first: &first {caption: 'First'}\n"
            b"gallery:\n"
            b"  - <<: *shared\n"            # line 5: everything from the anchor
            b"  - <<: [*first, *shared]\n"  # line 6: the first of a list wins
            b"    image_url: own.png\n"     # the entry's own key wins over both
            b"---\n")
    page = parse_page(text, "p.md")
    assert page.problems == ()
    assert [(g.image_url, g.caption, g.title, g.line) for g in page.gallery] == [
        ("from-shared.png", "Shared", "Shared title", 5), ("own.png", "First", "Shared title", 6)]
    loaded = yaml.safe_load(text.split(b"---\n")[1])["gallery"]  # what PyYAML's own loader gives
    assert [(g["image_url"], g["caption"], g["title"]) for g in loaded] == [
        (g.image_url, g.caption, g.title) for g in page.gallery]


def test_merge_keys_work_at_the_top_of_the_front_matter_too():
    text = (b"---\n"
            b"defaults: &d\n"
            b"  title: 'Shared title'\n"
            b"  gallery:\n"                  # line 4
            b"    - image_url: a-1.png\n"
            b"<<: *d\n"
            b"---\n")
    page = parse_page(text, "p.md")
    assert (page.title, [g.image_url for g in page.gallery], page.gallery_line, page.problems) == (
        "Shared title", ["a-1.png"], 4, ())


def test_non_utf8_page_names_the_line():
    (problem,) = parse_page(b"---\ntitle: ok\ncaption: caf\xe9\n---\n", "p.md").problems
    assert (problem.code, problem.line) == ("bad-manifest", 3)
    assert "not UTF-8" in problem.message


def test_other_keys_are_ignored_and_empty_values_allowed():
    page = parse_page(b"---\nlayout: page\ntags: [a, b]\nimages:\ngallery: ~\n---\n", "p.md")
    assert (page.images, page.gallery, page.problems) == ((), (), ())


@pytest.mark.parametrize("nesting", ["[" * 50_000 + "]" * 50_000, "- " * 5_000 + "x"], ids=["flow", "block"])
def test_front_matter_nested_beyond_reason_is_refused_not_a_crash(tmp_path, nesting):
    # 50,000 levels of '[' made the composer overflow the C stack (a segfault): read apart,
    # in a process of its own, so that a crash fails this test and not the whole run
    (tmp_path / "deep.md").write_text(f"---\ntitle: deep\ngallery:\n  {nesting}\n---\n")
    script = ("import sys; from pipeline.manifests import parse_page; from pathlib import Path\n"
              "print(*parse_page(Path(sys.argv[1]).read_bytes(), 'deep.md').problems, sep='\\n')")
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path / "deep.md")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ("deep.md:4: bad-manifest: front matter nests lists or mappings more "
                                  "than 1000 levels deep; a page's images and gallery need three")


def test_large_gallery_and_long_caption():
    entries = "".join(f"  - image_url: m/A-{k}.png\n    caption: 'frame {k}'\n" for k in range(1, 20_001))
    entries = entries.replace("'frame 1'", "'" + "x" * 10_000 + "'", 1)
    page = parse_page(f"---\ngallery:\n{entries}---\n".encode(), "big.md")
    assert len(page.gallery) == 20_000
    assert page.gallery[-1].line == 2 + 2 * 20_000 - 1
    assert len(page.gallery[0].caption) == 10_000


def test_read_pages_walks_folders_and_names_pages_relative(tmp_path):
    (tmp_path / "muscles").mkdir()
    (tmp_path / "muscles" / "a.md").write_text(REAL_SHAPE)
    (tmp_path / "index.md").write_text("no front matter")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "b.md").write_text(REAL_SHAPE)
    pages = read_pages(tmp_path)
    assert [p.path for p in pages] == ["muscles/a.md"]


@pytest.mark.skipif(not SHARED_MANIFESTS.is_dir(), reason="../shared/manifests (real pages) not present")
def test_real_pages_of_the_site_parse_without_problems():
    pages = read_pages(SHARED_MANIFESTS)
    assert len(pages) >= 70
    assert all(p.problems == () for p in pages)
    assert all(p.images and len(p.gallery) >= 1 for p in pages)
    assert all(p.images[0].image_name.endswith(".gif") for p in pages)
