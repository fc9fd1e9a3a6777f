import os
import shutil
import time

from pipeline.treestate import fingerprint, unchanged


def test_fingerprint_follows_names_sizes_times_and_file_bytes(tmp_path):
    folder = tmp_path / "images"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "x.png").write_bytes(b"1234")
    report = tmp_path / "verify.json"
    report.write_text("[]")
    first = fingerprint([str(folder)], [str(report)])
    assert fingerprint([str(folder)], [str(report)]) == first
    (folder / ".x.tmp.png").write_bytes(b"half")  # temporaries and hidden files do not count
    assert fingerprint([str(folder)], [str(report)]) == first
    report.write_text("[]")  # rewritten with the same bytes: still the same
    assert fingerprint([str(folder)], [str(report)]) == first
    os.utime(folder / "a" / "x.png", ns=(1, 1))
    second = fingerprint([str(folder)], [str(report)])
    assert second != first
    (folder / "a" / "y.png").write_bytes(b"")
    assert fingerprint([str(folder)], [str(report)]) != second
    assert fingerprint([str(tmp_path / "absent")]) == fingerprint([str(tmp_path / "absent")])

    third, third_exact = fingerprint([str(folder)]), fingerprint([str(folder)], exact=True)
    time.sleep(0.01)  # a later change time, on a file system that keeps it in jiffies too
    (folder / "a" / "x.png").write_bytes(b"5678")  # other bytes, its size and time put back
    os.utime(folder / "a" / "x.png", ns=(1, 1))
    assert fingerprint([str(folder)], exact=True) != third_exact  # for sources: verify's
    assert fingerprint([str(folder)]) == third  # for the build's own files, always written anew


def test_unchanged_compares_with_what_the_action_returned(tmp_path):
    values = {"fingerprint": fingerprint([str(tmp_path)])}
    assert unchanged(None, values, [str(tmp_path)])
    assert not unchanged(None, {}, [str(tmp_path)])
    (tmp_path / "new.gif").write_bytes(b"GIF")
    assert not unchanged(None, values, [str(tmp_path)])


def test_a_skipped_folder_inside_does_not_count(tmp_path):
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "a.md").write_text("---\n---\n")
    build = tmp_path / "pages" / "build"
    build.mkdir()
    skip = frozenset([str(build)])
    first = fingerprint([str(tmp_path / "pages")], skip=skip)
    (build / "verify.json").write_text("[]")
    assert fingerprint([str(tmp_path / "pages")], skip=skip) == first
    assert fingerprint([str(tmp_path / "pages")]) != first  # without the skip it counts
    (tmp_path / "pages" / "b.md").write_text("---\n---\n")
    assert fingerprint([str(tmp_path / "pages")], skip=skip) != first


def test_a_link_counts_by_what_it_leads_to_and_only_folders_inside_are_walked(tmp_path):
    images, outside = tmp_path / "images", tmp_path / "elsewhere"
    (images / "muscles").mkdir(parents=True)
    (images / ".store").mkdir()  # hidden: not walked itself
    (images / ".store" / "g1.png").write_bytes(b"1234")
    (images / "muscles" / "Gamma-1.png").symlink_to("../.store/g1.png")
    (images / "linked").symlink_to("muscles")  # a folder inside, reached twice
    (images / "muscles" / "up").symlink_to("..")  # a loop: walked once
    outside.mkdir()
    (outside / "x.png").write_bytes(b"12")
    (images / "muscles" / "out.png").symlink_to(outside / "x.png")
    (images / "all").symlink_to(outside)  # never walked
    first = fingerprint([str(images)])

    (outside / "y.png").write_bytes(b"1")
    assert fingerprint([str(images)]) == first  # a folder outside is never walked
    (outside / "x.png").write_bytes(b"123")
    # a file outside counts by its status (never opened): a page linked from elsewhere is read
    # through its link, and an edit to it went unseen by verify and the report
    outward = fingerprint([str(images)])
    assert outward != first
    (images / ".store" / "g1.png").write_bytes(b"12345")  # the link itself is unchanged
    second = fingerprint([str(images)])
    assert second != outward
    (images / "muscles" / "Gamma-2.png").write_bytes(b"")  # seen through the linked folder too
    assert fingerprint([str(images)]) != second


def test_exact_folders_see_a_file_copied_over_keeping_its_size_and_time(tmp_path):
    pages, build = tmp_path / "pages", tmp_path / "build"
    pages.mkdir()
    build.mkdir()
    (pages / "a.md").write_text("title: old")
    (build / "x.png").write_bytes(b"1234")
    folders, sources = [str(pages), str(build)], frozenset([str(pages)])
    loose, first = fingerprint(folders), fingerprint(folders, exact_folders=sources)
    times = (pages / "a.md").stat()
    (pages / "b.md").write_text("title: new")
    os.utime(pages / "b.md", ns=(times.st_atime_ns, times.st_mtime_ns))
    os.replace(pages / "b.md", pages / "a.md")  # `cp -p` of an edit: same size and time
    assert fingerprint(folders) == loose  # by size and time alone the edit is not seen
    edited = fingerprint(folders, exact_folders=sources)
    assert edited != first
    shutil.copytree(build, tmp_path / "copy")  # copy2: sizes and times kept, new inodes
    shutil.rmtree(build)
    (tmp_path / "copy").rename(build)
    assert fingerprint(folders, exact_folders=sources) == edited  # a restored build folder is the same


def test_a_link_to_a_skipped_folder_is_not_walked(tmp_path):
    pages, build = tmp_path / "pages", tmp_path / "pages" / "build"
    build.mkdir(parents=True)
    (pages / "site-build").symlink_to(build)
    skip = frozenset([str(build)])
    first = fingerprint([str(pages)], skip=skip)
    (build / "verify.json").write_text("[]")
    assert fingerprint([str(pages)], skip=skip) == first
