"""The zygotes' temp dirs: names that say who owns them, and removal that no child can stall or break.

A zygote's base dir is ``mathforge-sbx<index>-<pid namespace>.<pid>-XXXX`` under the temp root, where
``pid`` is the process the Sandbox started (the namespace launcher, or the zygote itself): a dir whose
owner is dead in our own PID namespace was left by a ``kill -9`` and is swept by the next Sandbox.

Removal is iterative and can be done in slices (:meth:`TreeRemover.step`), so the zygote's event loop
stays responsive while it deletes 200,000 files, and depth costs nothing: a child can nest directories
deeper than any recursion limit or PATH_MAX (``mkdir d; cd d`` 3,000 times). Each directory met is first
moved up into the top directory, so at most two directory descriptors are open at any time.
"""

from __future__ import annotations

import itertools
import os
import re
import stat
import time

PREFIX = "mathforge-sbx"
_OWNED = re.compile(rf"^{PREFIX}\d+-(\d+)\.(\d+)-")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def pid_namespace_id() -> int:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


def owner_tag(pid: int | None = None) -> str:
    """``<pid namespace inode>.<pid>`` of the calling process (or ``pid`` in its namespace)."""
    return f"{pid_namespace_id()}.{os.getpid() if pid is None else pid}"


def base_prefix(index: int, owner: str) -> str:
    return f"{PREFIX}{index}-{owner}-"


def stale_dirs(root: str) -> list[str]:
    """Base dirs under ``root`` whose owner process no longer exists in our PID namespace.

    Dirs of other namespaces (another container sharing /tmp) and of the old unowned naming are left
    alone: there is no way to tell whether their owner lives.
    """
    ns = pid_namespace_id()
    out = []
    try:
        names = os.listdir(root)
    except OSError:
        return out
    for name in names:
        match = _OWNED.match(name)
        if match is None or int(match.group(1)) != ns or ns == 0:
            continue
        if not _alive(int(match.group(2))):  # a reused pid looks alive: the dir waits for a later sweep
            out.append(os.path.join(root, name))
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead: an init that does not reap orphans at once keeps them for a while
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def sweep_stale(root: str) -> int:
    """Remove every stale base dir under ``root``; returns how many were removed."""
    removed = 0
    for path in stale_dirs(root):
        remover = TreeRemover(path)
        while not remover.step(1 << 30, seconds=3600):
            pass
        removed += not os.path.lexists(path)
    return removed


_TOP = ""  # stands for the top directory itself in the work list (no entry has an empty name)


class TreeRemover:
    """Deletes one directory tree a slice at a time; never follows a symlink, never raises."""

    def __init__(self, path: str):
        self.path = path
        self.top: int | None = None
        self.pending: list[str] = []  # directories (by name in ``top``) still to empty
        self.queued: set[str] = set()
        self.current: str | None = None
        self.passes: dict[str, int] = {}
        self.names = (f".mathforge-rm{os.getpid()}-{i}" for i in itertools.count())
        self.done = False
        self.until = 0.0

    def step(self, budget: int = 512, seconds: float = 0.002) -> bool:
        """Do up to ``budget`` unlinks/renames, for about ``seconds``; True once the tree is gone (or
        cannot be removed)."""
        self.until = time.monotonic() + seconds
        if self.done:
            return True
        try:
            if self.top is None:
                try:
                    os.rmdir(self.path)  # the usual case: already empty
                    return self._finish()
                except FileNotFoundError:
                    return self._finish()
                except OSError:
                    pass
                self.top = os.open(self.path, _DIR_FLAGS)
                self.pending.append(_TOP)
            while budget > 0:
                if self.current is None:
                    if not self.pending:
                        return self._finish()
                    self.current = self.pending.pop()
                spent, complete = self._empty(self.current, budget)
                budget -= max(spent, 1)
                if complete:
                    self._remove_emptied(self.current)
                    self.current = None
                if time.monotonic() > self.until:
                    break
        except OSError:
            return self._finish()
        return False

    def _empty(self, name: str, budget: int) -> tuple[int, bool]:
        """Delete up to ``budget`` entries of ``top/name``, moving its subdirectories up into ``top``."""
        top = self.top
        assert top is not None
        here = top if name == _TOP else _open_dir(name, top)
        if here is None:
            return 1, True
        spent = 0
        try:
            _make_writable(here)
            with os.scandir(here) as entries:
                for entry in entries:
                    if spent >= budget or (spent % 32 == 31 and time.monotonic() > self.until):
                        return spent, False
                    spent += 1
                    try:
                        if not entry.is_dir(follow_symlinks=False):
                            os.unlink(entry.name, dir_fd=here)
                        elif here == top:
                            self._queue(entry.name)
                        else:
                            new = next(self.names)
                            os.rename(entry.name, new, src_dir_fd=here, dst_dir_fd=top)
                            self._queue(new)
                    except OSError:
                        continue
            return spent, True
        finally:
            if here != top:
                os.close(here)

    def _queue(self, name: str) -> None:
        if name not in self.queued:
            self.queued.add(name)
            self.pending.append(name)

    def _remove_emptied(self, name: str) -> None:
        if name == _TOP:
            return
        try:
            os.rmdir(name, dir_fd=self.top)
            self.queued.discard(name)
        except FileNotFoundError:
            self.queued.discard(name)
        except OSError:  # something came back or would not go: try again, a few times
            self.passes[name] = self.passes.get(name, 0) + 1
            if self.passes[name] < 3:
                self.pending.insert(0, name)

    def _finish(self) -> bool:
        if self.top is not None:
            os.close(self.top)
            self.top = None
        try:
            os.rmdir(self.path)
        except OSError:
            pass
        self.pending.clear()
        self.current = None
        self.done = True
        return True


def _open_dir(name: str, parent: int) -> int | None:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except PermissionError:  # a child made it unreadable to us (possible when we are not root)
        try:
            os.chmod(name, stat.S_IRWXU, dir_fd=parent, follow_symlinks=False)
            return os.open(name, _DIR_FLAGS, dir_fd=parent)
        except (OSError, NotImplementedError):
            return None
    except OSError:
        return None


def _make_writable(fd: int) -> None:
    try:
        mode = os.fstat(fd).st_mode
        if mode & stat.S_IRWXU != stat.S_IRWXU:
            os.fchmod(fd, mode | stat.S_IRWXU)
    except OSError:
        pass
