"""TreeRemover and the stale-dir sweep (no sandbox): what a dead child can leave in its temp dir."""

from __future__ import annotations

import os
import subprocess
import sys

from mathforge.sandbox.tempdirs import TreeRemover, base_prefix, owner_tag, stale_dirs, sweep_stale


def _nest(root, depth: int) -> None:
    """``depth`` nested dirs below ``root``, deeper than PATH_MAX allows to name (mkdir + chdir)."""
    here = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i in range(depth):
            os.mkdir("d" * 50, dir_fd=here)
            nxt = os.open("d" * 50, os.O_RDONLY | os.O_DIRECTORY, dir_fd=here)
            os.close(here)
            here = nxt
            if i % 500 == 0:
                os.close(os.open("f", os.O_CREAT | os.O_WRONLY, dir_fd=here))
    finally:
        os.close(here)


def test_removes_a_tree_deeper_than_path_max_and_recursion_limits(tmp_path):
    tree = tmp_path / "t"
    tree.mkdir()
    _nest(tree, 3000)  # 3000 * 51 characters: far beyond PATH_MAX (4096) and sys.getrecursionlimit()
    remover = TreeRemover(str(tree))
    while not remover.step():
        pass
    assert not tree.exists()


def test_works_in_slices_of_the_given_budget(tmp_path):
    tree = tmp_path / "t"
    (tree / "sub").mkdir(parents=True)
    for i in range(300):
        (tree / "sub" / str(i)).touch()
    remover = TreeRemover(str(tree))
    assert remover.step(budget=100, seconds=60) is False  # a slice: the loop gets control back
    assert 150 <= len(os.listdir(tree / "sub")) < 300  # about one budget of the 300 files went
    steps = 1
    while not remover.step(budget=100, seconds=60):
        steps += 1
    assert steps >= 3 and not tree.exists()


def test_never_follows_symlinks_and_gets_through_unreadable_dirs(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    tree = tmp_path / "t"
    (tree / "locked" / "inner").mkdir(parents=True)
    (tree / "locked" / "inner" / "f").touch()
    (tree / "link").symlink_to(outside)
    (tree / "locked" / "link2").symlink_to(outside / "keep.txt")
    os.chmod(tree / "locked", 0)
    remover = TreeRemover(str(tree))
    while not remover.step():
        pass
    assert not tree.exists()
    assert (outside / "keep.txt").read_text() == "keep"


def test_missing_tree_is_done_at_once(tmp_path):
    assert TreeRemover(str(tmp_path / "absent")).step() is True


def test_sweep_removes_only_dirs_of_dead_owners_in_our_pid_namespace(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    ns = owner_tag().split(".")[0]
    stale = tmp_path / (base_prefix(0, f"{ns}.{dead_pid}") + "abc")
    alive = tmp_path / (base_prefix(1, owner_tag()) + "def")  # ours: alive
    other_ns = tmp_path / (base_prefix(0, f"1.{dead_pid}") + "ghi")  # another namespace: unknowable
    unowned = tmp_path / "mathforge-sbx0-jkl"  # the old naming
    for d in (stale, alive, other_ns, unowned):
        (d / "1").mkdir(parents=True)
    assert stale_dirs(str(tmp_path)) == [str(stale)]
    assert sweep_stale(str(tmp_path)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(d.name for d in (alive, other_ns, unowned))
