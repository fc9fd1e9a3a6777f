import os

import pytest

from pipeline.safepaths import resolve_inside, unsafe_reason


@pytest.mark.parametrize("reference, reason", [
    ("../a.png", "contains '..'"),
    ("muscles/../../a.png", "contains '..'"),
    ("/etc/passwd", "is an absolute path"),
    ("//host/a.png", "is a URL"),
    ("http://example.org/a.png", "is a URL"),
    ("file:///etc/passwd", "is a URL"),
    ("data:image/png;base64,AAAA", "is a URL"),
    ("C:\\images\\a.png", "is a URL"),  # a drive letter reads as a scheme: refused either way
    ("\\\\server\\share\\a.png", "is an absolute path"),
    ("muscles\\png\\a.png", "contains a backslash"),
    ("a\x00.png", "contains a control character (U+0000)"),
    ("muscles/png/A-\n5.png", "contains a control character (U+000A); remove it"),
    ("muscles/png/A-5.png\r", "contains a control character (U+000D)"),
    ("muscles/png/A\t-5.png", "contains a control character (U+0009)"),
    ("a\x7f.png", "contains a control character (U+007F)"),
    # verify looked the names up as written and the tasks opened them through the file system
    ("./muscles/png/a.png", "is not a plain path (a '.' or empty folder name); write 'muscles/png/a.png'"),
    ("muscles/./png/a.png", "write 'muscles/png/a.png'"),
    ("muscles//png/a.png", "write 'muscles/png/a.png'"),
    ("muscles/png/", "is not a plain path"),
    ("muscles/png/.", "is not a plain path"),
    (".", "is not a plain path"),
    ("muscles/gif/Thigh.gif ", "starts or ends with a space; write 'muscles/gif/Thigh.gif'"),
    (" muscles/png/a.png", "write 'muscles/png/a.png'"),
    ("muscles/png/a.png\u00a0", "starts or ends with a space"),
])
def test_unsafe_references(reference, reason):
    assert reason in unsafe_reason(reference)


@pytest.mark.parametrize("reference", ["muscles/png/Leg-Soleus-1.png", "a.png", "a..b.png", "x/.y/z.gif", ".hidden/a.png", "a./b.png", "Bíceps braquial-1.png", "a b/c d.png"])
def test_safe_references(reference):
    assert unsafe_reason(reference) is None


def test_symlinks_are_followed_only_inside_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    (root / "real" / "a.png").write_bytes(b"x")
    (tmp_path / "outside.png").write_bytes(b"x")
    os.symlink(root / "real", root / "linked")
    os.symlink(tmp_path / "outside.png", root / "real" / "escape.png")
    assert resolve_inside(root, "linked/a.png") == root / "real" / "a.png"
    assert resolve_inside(root, "real/escape.png") is None
    assert resolve_inside(root, "real/a.png") == root / "real" / "a.png"
