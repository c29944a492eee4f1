"""The protections applied to zygotes (namespaces) and to every forked child.

Each step is tried on its own and recorded as ``name -> (active, detail)`` so that a kernel which
refuses one protection degrades the sandbox instead of breaking it; ``mathforge sandbox doctor``
prints the record. Layers (a later one still holds where an earlier one is missing):

zygote (once, inherited by all its children): an empty network namespace (no interface is up, not
even loopback), a PID namespace whose init is the zygote (children cannot see host PIDs; when the
zygote dies the kernel kills everything in it), a private mount namespace with a fresh /proc of that
PID namespace (``hidepid``: a child sees no process but itself).

child: own session/process group; its own tmpfs (size- and inode-limited, in a mount namespace of its
own, so it vanishes with the child) as cwd/HOME/TMPDIR; stdin/stdout/stderr on /dev/null; scrubbed
environment; rlimits (AS, CPU, FSIZE, NOFILE, NPROC, CORE); a unique unprivileged uid when we are root
(cannot signal or ptrace anything else, NPROC counts only its own tasks); Landlock (reads only the
interpreter's paths and a few files of its own /proc/self, writes only beneath the temp dir, no exec,
no TCP bind/connect, no signals or abstract unix sockets outside its own domain); seccomp (no socket
creation, no fork/exec, no ptrace, no namespace or mount tricks, no io_uring which would bypass the
socket rule, no memfd or SysV/POSIX IPC objects, whose memory no rlimit counts).
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import signal

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_THREAD = 0x00010000
PR_SET_PDEATHSIG = 1
PR_SET_KEEPCAPS = 8
PR_SET_NO_NEW_PRIVS = 38
CAP_DAC_READ_SEARCH = 2
UID_BASE = 100_000  # children run as UID_BASE + zygote_index * PID_SPAN + pid: unique among live ones
PID_SPAN = 1 << 22

Report = dict[str, tuple[bool, str]]


def _err() -> str:
    return os.strerror(ctypes.get_errno())


def unshare(flags: int) -> None:
    if _libc.unshare(ctypes.c_int(flags)) != 0:
        raise OSError(ctypes.get_errno(), _err())


def prctl(option: int, arg: int) -> None:
    if _libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), _err())


MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 1 << 14, 1 << 18


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    args = [None if a is None else a.encode() for a in (source, target, fstype)]
    if _libc.mount(args[0], args[1], args[2], ctypes.c_ulong(flags), None if data is None else data.encode()):
        errno_ = ctypes.get_errno()
        raise OSError(errno_, f"mount {fstype or ''} on {target}: {os.strerror(errno_)}")


def private_mounts(fresh_proc: bool) -> Report:
    """Give the calling zygote a private mount namespace and, inside its PID namespace, a fresh /proc.

    Private: a child's tmpfs (mounted in a namespace of its own) can then never propagate anywhere.
    The fresh /proc lists only this namespace's processes, and with ``hidepid`` each child (a uid of
    its own) sees only itself: not the zygote's fds, command line, or mount table.
    """
    report: Report = {}
    try:
        unshare(CLONE_NEWNS)
        mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    except OSError as exc:
        report["mount_namespace"] = (False, f"unshare(CLONE_NEWNS) refused: {exc.strerror or exc}")
        report["proc"] = (False, "the host's /proc (no mount namespace to mount another)")
        return report
    report["mount_namespace"] = (True, "private mount table (no mount propagates out)")
    try:  # SysV IPC objects made without seccomp then die with the zygote, not with the host
        unshare(CLONE_NEWIPC)
        report["ipc_namespace"] = (True, "own SysV IPC / POSIX message queue namespace")
    except OSError as exc:
        report["ipc_namespace"] = (False, f"unshare(CLONE_NEWIPC) refused: {exc.strerror or exc}")
    if not fresh_proc:
        report["proc"] = (False, "the host's /proc: no PID namespace of our own to show")
        return report
    failure = ""
    for options in ("hidepid=invisible", "hidepid=2", None):
        try:
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, options)
        except OSError as exc:
            failure = exc.strerror or str(exc)
            continue
        shown = f"{options}: a child sees only itself" if options else "no hidepid: processes visible"
        report["proc"] = (True, f"fresh /proc of the PID namespace ({shown})")
        return report
    report["proc"] = (False, f"mount proc refused: {failure}; the host's /proc")
    return report


# --------------------------------------------------------------------------------------- zygote level


def enter_namespaces(network: bool = True, pid: bool = True) -> Report:
    """Unshare net and pid namespaces for the calling (zygote launcher) process.

    After a successful PID unshare the *next fork* becomes PID 1 of the new namespace; the caller
    must fork and run the zygote in that child (see zygote.main).
    """
    report: Report = {}
    userns = False
    if os.geteuid() != 0:  # unprivileged: a user namespace grants the capabilities to make the others
        try:
            uid, gid = os.getuid(), os.getgid()
            unshare(CLONE_NEWUSER)
            userns = True
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"{uid} {uid} 1")
            _write("/proc/self/gid_map", f"{gid} {gid} 1")
        except OSError as exc:
            report["user_namespace"] = (userns, f"unshare(CLONE_NEWUSER): {exc.strerror or exc}")
    for name, flag, wanted in (
        ("network_namespace", CLONE_NEWNET, network),
        ("pid_namespace", CLONE_NEWPID, pid),
    ):
        if not wanted:
            report[name] = (False, "disabled by configuration")
            continue
        try:
            unshare(flag)
            report[name] = (
                True,
                "empty net namespace (no interfaces up)" if flag == CLONE_NEWNET else "zygote is PID 1",
            )
        except OSError as exc:
            report[name] = (False, f"unshare refused: {exc.strerror or exc}")
    return report


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


# ---------------------------------------------------------------------------------------- Landlock

_LL_CREATE, _LL_ADD_RULE, _LL_RESTRICT = 444, 445, 446  # same numbers on every architecture
_FS_EXECUTE = 1 << 0
_FS_WRITE_FILE = 1 << 1
_FS_READ_FILE, _FS_READ_DIR = 1 << 2, 1 << 3
_FS_WRITE_BITS = sum(1 << b for b in (4, 5, 6, 7, 8, 9, 10, 11, 12))  # remove/make dir, file, sock, ...
_FS_REFER, _FS_TRUNCATE = 1 << 13, 1 << 14
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1, 2


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """Landlock ABI version of the running kernel (0 = unavailable)."""
    version = _libc.syscall(ctypes.c_long(_LL_CREATE), None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(version), 0)


# What a child may read of its own /proc/self (opened in the child: in the zygote the link would name
# the zygote). Not mountinfo/mounts (the host's mount table), environ, or task/ (which repeats them).
_PROC_SELF = (("status", _FS_READ_FILE), ("stat", _FS_READ_FILE), ("statm", _FS_READ_FILE),
              ("limits", _FS_READ_FILE), ("maps", _FS_READ_FILE), ("fd", _FS_READ_FILE | _FS_READ_DIR))  # fmt: skip


class LandlockPlan:
    """A Landlock policy prepared in the zygote: the ABI probe, the ruleset attribute and O_PATH fds of
    the readable paths are made once, so a child only issues the create/add/restrict syscalls.

    Reads only beneath the interpreter/system paths, writes only beneath the child's temp dir (and
    /dev/null), no exec; where the ABI has them, no TCP bind/connect (ABI 4) and no signals or
    abstract unix sockets outside the child's own domain (ABI 6: the parent cannot be signalled).
    Hand-written with ctypes because the ``landlock`` PyPI package only knows the ABI-1 file rights.
    """

    def __init__(self, read_paths: list[str]):
        self.abi = landlock_abi()
        if self.abi < 1:
            raise OSError(errno.ENOSYS, "Landlock not supported by this kernel")
        fs = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_READ_DIR | _FS_WRITE_BITS
        fs |= _FS_REFER if self.abi >= 2 else 0
        fs |= _FS_TRUNCATE if self.abi >= 3 else 0
        self.attr, self.size = _RulesetAttr(fs, 0, 0), 8
        extras = []
        if self.abi >= 4:
            self.attr.net, self.size = _NET_BIND_TCP | _NET_CONNECT_TCP, 16
            extras.append("no TCP bind/connect")
        if self.abi >= 6:
            self.attr.scoped, self.size = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL, 24
            extras.append("signals/abstract sockets scoped to itself")
        self.write_access = fs & ~_FS_EXECUTE
        self.detail = f"ABI {self.abi}: reads only Python/system paths, writes only its temp dir, no exec"
        self.detail += "".join(f", {e}" for e in extras)
        self.own_rules = [_PathBeneath(self.write_access, -1)] + [_PathBeneath(a, -1) for _, a in _PROC_SELF]
        file_rw = _FS_READ_FILE | _FS_WRITE_FILE | (_FS_TRUNCATE if self.abi >= 3 else 0)
        self.rules: list[_PathBeneath] = []
        for path, access in [("/dev/null", file_rw)] + [(p, None) for p in read_paths]:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # absent on this system
            if access is None:
                access = _FS_READ_FILE | (_FS_READ_DIR if os.path.isdir(path) else 0)
            self.rules.append(_PathBeneath(access, fd))

    def fds(self) -> list[int]:
        return [rule.parent_fd for rule in self.rules]

    def apply(self, write_dir: str) -> str:
        ruleset = _libc.syscall(
            ctypes.c_long(_LL_CREATE), ctypes.byref(self.attr), ctypes.c_size_t(self.size), ctypes.c_uint32(0)
        )
        if ruleset < 0:
            raise OSError(ctypes.get_errno(), f"landlock_create_ruleset: {_err()}")
        try:
            own = (
                self.own_rules
            )  # made in the zygote: a child only fills in the descriptors (fewer CoW faults)
            own[0].parent_fd = os.open(write_dir, os.O_PATH | os.O_CLOEXEC)
            _open_proc_self(own[1:])
            try:
                for rule in own:
                    if rule.parent_fd >= 0:
                        self._add(ruleset, rule)
            finally:
                for rule in own:
                    if rule.parent_fd >= 0:
                        os.close(rule.parent_fd)
            for rule in self.rules:
                self._add(ruleset, rule)
            prctl(PR_SET_NO_NEW_PRIVS, 1)
            if _libc.syscall(ctypes.c_long(_LL_RESTRICT), ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
                raise OSError(ctypes.get_errno(), f"landlock_restrict_self: {_err()}")
        finally:
            os.close(ruleset)
            for fd in self.fds():
                os.close(fd)  # the child must not keep handles on the zygote's paths
        return self.detail

    @staticmethod
    def _add(ruleset: int, rule: _PathBeneath) -> None:
        args = (ctypes.c_long(_LL_ADD_RULE), ctypes.c_int(ruleset), ctypes.c_int(1), ctypes.byref(rule))
        if _libc.syscall(*args, ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule: {_err()}")


def _open_proc_self(rules: list) -> None:
    """Point ``rules`` (one per ``_PROC_SELF`` entry) at the calling child's own entries (-1: absent)."""
    for rule in rules:
        rule.parent_fd = -1
    try:
        here = os.open("/proc/self", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        for rule, (name, _) in zip(rules, _PROC_SELF, strict=True):
            try:
                rule.parent_fd = os.open(name, os.O_PATH | os.O_CLOEXEC, dir_fd=here)
            except OSError:
                continue
    finally:
        os.close(here)


def default_read_paths() -> list[str]:
    """What a child may read: the interpreter, its libraries and the few system files they open."""
    import site
    import sys

    paths = [p for p in sys.path if p] + [sys.prefix, sys.base_prefix, sys.exec_prefix]
    try:
        paths += site.getsitepackages()
    except AttributeError:
        pass
    paths += ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/etc/ld.so.cache", "/etc/localtime", "/etc/passwd",
              "/etc/group", "/etc/nsswitch.conf", "/etc/os-release", "/dev/urandom", "/dev/random", "/dev/zero",
              "/proc/cpuinfo", "/proc/meminfo", "/sys/devices/system/cpu"]  # fmt: skip
    seen, out = {"/"}, []  # never the root: that would allow reading everything
    for p in paths:
        real = os.path.realpath(p)
        if real not in seen:
            seen.add(real)
            out.append(real)
    return out


def world_readable(path: str) -> bool:
    """True if an unprivileged uid can reach and read ``path`` (every ancestor searchable by others)."""
    path = os.path.realpath(path)
    try:
        if not os.stat(path).st_mode & 0o004:
            return False
        while path != "/":
            path = os.path.dirname(path)
            if not os.stat(path).st_mode & 0o001:
                return False
    except OSError:
        return True  # does not exist: nothing to read anyway
    return True


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def set_capabilities(bits: int) -> None:
    """Make ``bits`` (capability bit mask, caps 0-31) the effective and permitted sets; drop the rest."""
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    data[0].effective = data[0].permitted = bits
    if _libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), f"capset: {_err()}")


# ----------------------------------------------------------------------------------------- seccomp

_DENY_EPERM = (
    "socket", "socketpair", "fork", "vfork", "execve", "execveat", "ptrace", "process_vm_readv",
    "process_vm_writev", "pidfd_open", "pidfd_getfd", "pidfd_send_signal", "unshare", "setns", "mount",
    "umount2", "pivot_root", "chroot", "reboot", "kexec_load", "kexec_file_load", "init_module",
    "finit_module", "delete_module", "bpf", "perf_event_open", "keyctl", "add_key", "request_key",
    "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "swapon", "swapoff", "acct",
    "settimeofday", "clock_settime", "sethostname", "setdomainname", "mknod", "mknodat",
    "open_by_handle_at", "name_to_handle_at",
    # memory no rlimit counts (and SysV/POSIX IPC objects outlive the child)
    "memfd_create", "memfd_secret", "shmget", "msgget", "semget", "mq_open",
)  # fmt: skip


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class SeccompPlan:
    """A seccomp filter compiled once to BPF in the zygote (libseccomp's load would recompile it in
    every child, costing milliseconds); a child installs it with a single prctl.

    Denied with EPERM: socket creation, fork/vfork/exec, ptrace and cross-process memory access,
    pidfd tricks, namespaces, mount, modules, bpf, perf, keyrings, userfaultfd, io_uring (which could
    create sockets behind seccomp's back), clock and host-name changes, memfd_create and SysV/POSIX IPC
    objects (their pages count against no rlimit, and IPC objects outlive the process). Threads stay possible: clone
    is refused only without CLONE_THREAD; clone3 hides its flags from seccomp, so it answers ENOSYS
    and glibc falls back to clone.
    """

    def __init__(self):
        import tempfile

        import pyseccomp as sc  # optional dependency (extra "sandbox")

        filt = sc.SyscallFilter(sc.ALLOW)
        for name in _DENY_EPERM:
            try:
                filt.add_rule(sc.ERRNO(errno.EPERM), name)
            except (OSError, ValueError, RuntimeError):
                pass  # syscall unknown on this architecture
        filt.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
        try:
            filt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
        except (OSError, ValueError, RuntimeError):
            pass
        with tempfile.TemporaryFile() as fh:
            filt.export_bpf(fh)
            fh.seek(0)
            code = fh.read()
        if not code or len(code) % 8:
            raise OSError(errno.EINVAL, "libseccomp exported no BPF program")
        self._buffer = ctypes.create_string_buffer(code, len(code))
        self.prog = _SockFprog(len(code) // 8, ctypes.addressof(self._buffer))
        self.detail = "no sockets, fork/exec, ptrace, io_uring, namespaces, mount, memfd, SysV/POSIX IPC (BPF precompiled)"

    def apply(self) -> str:
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        if (
            _libc.prctl(ctypes.c_int(22), ctypes.c_ulong(2), ctypes.byref(self.prog), 0, 0) != 0
        ):  # SECCOMP_MODE_FILTER
            raise OSError(ctypes.get_errno(), f"prctl(PR_SET_SECCOMP): {_err()}")
        return self.detail


# ------------------------------------------------------------------------------------------- child

SAFE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "USER": "sandbox",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def _step(report: Report, name: str, fn) -> bool:
    try:
        detail = fn()
        report[name] = (True, detail or "")
        return True
    except Exception as exc:  # degrade: keep going with the other layers
        report[name] = (False, f"{type(exc).__name__}: {exc}")
        return False


def _set_rlimit(kind: int, soft: int, hard: int | None = None) -> None:
    hard = soft if hard is None else hard
    cur_soft, cur_hard = resource.getrlimit(kind)
    if cur_hard != resource.RLIM_INFINITY:
        hard = min(hard, cur_hard)
        soft = min(soft, hard)
    resource.setrlimit(kind, (soft, hard))


def scrub_environment() -> None:
    """Make this (zygote) process's environment the one every child gets: only safe variables.

    HOME/TMPDIR are "." because each child's cwd is its private temp dir: nothing to set per child.
    """
    os.environ.clear()
    os.environ.update(SAFE_ENV, HOME=".", TMPDIR=".", MPLCONFIGDIR=".")


def close_fds_except(keep: list[int]) -> None:
    """Close every descriptor from 3 up except ``keep`` (inherited channels of other children, epoll...)."""
    low = 3
    for fd in sorted(set(keep)):
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, 1 << 20)


class ChildPlan:
    """The child-level protections, prepared once in the zygote; :meth:`apply` runs in each child.

    Preparing here matters for speed: every page a child touches is copied (copy-on-write), so the
    child should only make syscalls, not compute policies.
    """

    def __init__(self, cfg: dict, index: int, read_paths: list[str], private_mounts: bool = False):
        self.cfg, self.index = cfg, index
        self.as_root = os.geteuid() == 0
        self.unavailable: Report = {}
        # a tmpfs per child needs a private mount namespace to unshare from (else it could propagate)
        self.tmpfs = private_mounts and bool(cfg.get("tmpfs", True))
        self.disk, self.files = int(cfg.get("disk", 64 << 20)), int(cfg.get("files", 4096))
        if not cfg.get("tmpfs", True):
            self.unavailable["tmpfs"] = (False, "disabled by configuration")
        elif not private_mounts:
            self.unavailable["tmpfs"] = (False, "no private mount namespace: a plain dir on the temp root")
        self.landlock = self.seccomp = None
        if not cfg.get("landlock", True):
            self.unavailable["landlock"] = (False, "disabled by configuration")
        else:
            try:
                self.landlock = LandlockPlan(read_paths)
            except Exception as exc:
                self.unavailable["landlock"] = (False, f"{type(exc).__name__}: {exc}")
        if not cfg.get("seccomp", True):
            self.unavailable["seccomp"] = (False, "disabled by configuration")
        else:
            try:
                self.seccomp = SeccompPlan()
            except Exception as exc:
                self.unavailable["seccomp"] = (
                    False,
                    f"pyseccomp/libseccomp unavailable: {type(exc).__name__}: {exc}",
                )
        readable = all(world_readable(p) for p in read_paths)
        self.drop_uid = self.as_root and cfg.get("drop_uid", True) and (readable or self.landlock is not None)
        self.read_cap = self.drop_uid and not readable  # see apply(): confined by Landlock
        if not self.as_root:
            self.unavailable["unprivileged_uid"] = (False, "not root: children keep the caller's uid")
        elif not cfg.get("drop_uid", True):
            self.unavailable["unprivileged_uid"] = (False, "disabled by configuration")
        elif not self.drop_uid:
            self.unavailable["unprivileged_uid"] = (
                False, "the interpreter is readable only by root and there is no Landlock to confine a read "
                "capability: children keep uid 0 with every capability dropped",
            )  # fmt: skip
        self.null_r = os.open("/dev/null", os.O_RDONLY)
        self.null_w = os.open("/dev/null", os.O_WRONLY)
        self.rlimit_detail = (
            f"AS={cfg['memory'] >> 20} MiB, CPU, FSIZE={cfg['file_size'] >> 20} MiB, "
            f"NOFILE={cfg['nofile']}, NPROC={cfg['nproc']}"
            + ("" if self.drop_uid else " (NPROC not enforced for root)")
        )

    def close(self) -> None:
        """Release the descriptors held for children (when the plan is not going to be used)."""
        for fd in self.keep_fds():
            try:
                os.close(fd)
            except OSError:
                pass

    def child_uid(self, pid: int) -> int:
        """The uid a child with this PID (in the zygote's namespace) runs as."""
        return UID_BASE + self.index * PID_SPAN + pid if self.drop_uid else os.getuid()

    def keep_fds(self) -> list[int]:
        return [self.null_r, self.null_w] + (self.landlock.fds() if self.landlock else [])

    def apply(self, tmp: str, cpu_soft: int, cpu_hard: int, pid_namespace: bool) -> Report:
        """Apply every child-level protection to the calling (freshly forked) process."""
        report: Report = dict(self.unavailable)
        cfg, as_root = self.cfg, self.as_root
        pid = os.getpid()
        uid = self.child_uid(pid)
        gid = uid if self.drop_uid else os.getgid()

        def session():
            if os.getsid(0) != pid:
                os.setsid()
            if not pid_namespace:  # otherwise the kernel kills the namespace with its init, the zygote
                prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            return "own session/process group, SIGKILLed as a group"

        def tmpdir():
            os.mkdir(tmp, 0o700)
            mounted = self.tmpfs and _step(report, "tmpfs", own_tmpfs)
            if self.drop_uid and not mounted:
                os.chown(tmp, uid, gid)
            os.chdir(tmp)
            if mounted:
                return "its own tmpfs as cwd, HOME and TMPDIR (seen by no other process, gone with the child)"
            return "private temp dir as cwd, HOME and TMPDIR; removed afterwards"

        def own_tmpfs():
            unshare(CLONE_NEWNS)  # the mount lives and dies with this child's namespace
            options = f"size={self.disk},nr_inodes={self.files},mode=0700,uid={uid},gid={gid}"
            mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options)
            return f"{self.disk >> 20} MiB, {self.files} files (inodes), its pages freed with the child"

        def stdio():
            for fd, target in ((self.null_r, 0), (self.null_w, 1), (self.null_w, 2)):
                os.dup2(fd, target)
            os.close(self.null_r)
            os.close(self.null_w)
            return "stdin, stdout, stderr on /dev/null; output captured in-process and capped"

        def environ():
            return f"only {', '.join(sorted(os.environ))} (HOME, TMPDIR = its temp dir)"

        def rlimits():
            _set_rlimit(resource.RLIMIT_CORE, 0)
            _set_rlimit(resource.RLIMIT_AS, int(cfg["memory"]))
            _set_rlimit(resource.RLIMIT_CPU, cpu_soft, cpu_hard)
            _set_rlimit(resource.RLIMIT_FSIZE, int(cfg["file_size"]))
            _set_rlimit(resource.RLIMIT_NOFILE, int(cfg["nofile"]))
            _set_rlimit(resource.RLIMIT_NPROC, int(cfg["nproc"]))
            return self.rlimit_detail

        def drop_uid():
            if self.read_cap:
                prctl(PR_SET_KEEPCAPS, 1)
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            if self.read_cap:  # the interpreter lives where only root can read; Landlock confines reads
                set_capabilities(1 << CAP_DAC_READ_SEARCH)
                return f"uid/gid {uid}, unique per child; only CAP_DAC_READ_SEARCH, confined by Landlock"
            return f"uid/gid {uid}, unique per child; no capabilities"

        def landlock():
            try:
                return self.landlock.apply(tmp)
            except Exception:
                if self.read_cap:
                    set_capabilities(0)  # nothing confines the read capability: drop it
                raise

        _step(report, "process_group", session)
        _step(report, "temp_dir", tmpdir)
        _step(report, "stdio", stdio)
        _step(report, "environment", environ)
        _step(report, "rlimits", rlimits)
        if self.drop_uid:
            _step(report, "unprivileged_uid", drop_uid)
        elif as_root:
            _step(report, "capabilities", lambda: (set_capabilities(0), "uid 0 without any capability")[1])
        if self.landlock is not None:
            _step(report, "landlock", landlock)
        if self.seccomp is not None:
            _step(report, "seccomp", self.seccomp.apply)
        return report
