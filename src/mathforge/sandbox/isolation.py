"""The protections applied to zygotes (namespaces) and to every forked child.

Each step is tried on its own and recorded as ``name -> (active, detail)`` so that a kernel which
refuses one protection degrades the sandbox instead of breaking it; ``mathforge sandbox doctor``
prints the record. Layers (a later one still holds where an earlier one is missing):

zygote (once, inherited by all its children): an empty network namespace (no interface is up, not
even loopback), a PID namespace whose init is the zygote (children cannot see host PIDs; when the
zygote dies the kernel kills everything in it).

child: own session/process group; private temp dir as cwd/HOME/TMPDIR; stdin/stdout/stderr on
/dev/null; scrubbed environment; rlimits (AS, CPU, FSIZE, NOFILE, NPROC, CORE); a unique unprivileged
uid when we are root (cannot signal or ptrace anything else, NPROC counts only its own tasks);
Landlock (writes only beneath the temp dir, no exec, no TCP bind/connect, no signals or abstract
unix sockets outside its own domain); seccomp (no socket creation, no fork/exec, no ptrace, no
namespace or mount tricks, no io_uring which would bypass the socket rule).
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


def apply_landlock(write_dir: str, read_paths: list[str]) -> str:
    """Restrict this process: reads only beneath ``read_paths``, writes only beneath ``write_dir``
    (and /dev/null), no exec, and, where the ABI has them, no TCP and no signals/abstract sockets
    outside the domain.

    Hand-written with ctypes because the ``landlock`` PyPI package only knows the ABI-1 file rights,
    not the network rules (ABI 4) or the signal scoping (ABI 6) that keep a child off the parent.
    """
    abi = landlock_abi()
    if abi < 1:
        raise OSError(errno.ENOSYS, "Landlock not supported by this kernel")
    fs = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_READ_DIR | _FS_WRITE_BITS
    fs |= _FS_REFER if abi >= 2 else 0
    fs |= _FS_TRUNCATE if abi >= 3 else 0
    attr = _RulesetAttr(fs, 0, 0)
    size = 8
    extras = []
    if abi >= 4:
        attr.net, size = _NET_BIND_TCP | _NET_CONNECT_TCP, 16
        extras.append("no TCP bind/connect")
    if abi >= 6:
        attr.scoped, size = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL, 24
        extras.append("signals and abstract sockets scoped")
    ruleset = _libc.syscall(
        ctypes.c_long(_LL_CREATE), ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
    )
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), f"landlock_create_ruleset: {_err()}")
    file_rights = _FS_READ_FILE | _FS_WRITE_FILE | (_FS_TRUNCATE if abi >= 3 else 0)
    try:
        _landlock_allow(ruleset, write_dir, fs & ~_FS_EXECUTE)
        _landlock_allow(ruleset, "/dev/null", file_rights)
        for path in read_paths:
            if os.path.exists(path):
                _landlock_allow(ruleset, path, _FS_READ_FILE | (_FS_READ_DIR if os.path.isdir(path) else 0))
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        if _libc.syscall(ctypes.c_long(_LL_RESTRICT), ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_restrict_self: {_err()}")
    finally:
        os.close(ruleset)
    return f"ABI {abi}: reads only Python/system paths, writes only temp dir, no exec" + "".join(
        f", {e}" for e in extras
    )


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
              "/proc/self", "/proc/cpuinfo", "/proc/meminfo", "/sys/devices/system/cpu"]  # fmt: skip
    seen, out = set(), []
    for p in paths:
        real = os.path.realpath(p) if p != "/proc/self" else p
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


def _landlock_allow(ruleset: int, path: str, access: int) -> None:
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        rule = _PathBeneath(access, fd)
        if (
            _libc.syscall(
                ctypes.c_long(_LL_ADD_RULE),
                ctypes.c_int(ruleset),
                ctypes.c_int(1),
                ctypes.byref(rule),
                ctypes.c_uint32(0),
            )
            != 0
        ):
            raise OSError(ctypes.get_errno(), f"landlock_add_rule({path}): {_err()}")
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------------------- seccomp

_DENY_EPERM = (
    "socket", "socketpair", "fork", "vfork", "execve", "execveat", "ptrace", "process_vm_readv",
    "process_vm_writev", "pidfd_open", "pidfd_getfd", "pidfd_send_signal", "unshare", "setns", "mount",
    "umount2", "pivot_root", "chroot", "reboot", "kexec_load", "kexec_file_load", "init_module",
    "finit_module", "delete_module", "bpf", "perf_event_open", "keyctl", "add_key", "request_key",
    "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "swapon", "swapoff", "acct",
    "settimeofday", "clock_settime", "sethostname", "setdomainname", "mknod", "mknodat",
    "open_by_handle_at", "name_to_handle_at",
)  # fmt: skip


def build_seccomp_filter():
    """A libseccomp filter (built once in the zygote, loaded in each child), or None if unavailable."""
    import pyseccomp as sc  # noqa: PLC0415 - optional dependency

    filt = sc.SyscallFilter(sc.ALLOW)
    for name in _DENY_EPERM:
        try:
            filt.add_rule(sc.ERRNO(errno.EPERM), name)
        except (OSError, ValueError, RuntimeError):
            pass  # syscall unknown on this architecture
    # Threads stay possible (clone with CLONE_THREAD); a new process is refused. clone3 hides its
    # flags in memory seccomp cannot read, so it reports ENOSYS and glibc falls back to clone.
    filt.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    try:
        filt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    except (OSError, ValueError, RuntimeError):
        pass
    return filt


# ------------------------------------------------------------------------------------------- child

SAFE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "USER": "sandbox",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # fmt: skip


def _step(report: Report, name: str, fn) -> None:
    try:
        detail = fn()
        report[name] = (True, detail or "")
    except Exception as exc:  # degrade: keep going with the other layers
        report[name] = (False, f"{type(exc).__name__}: {exc}")


def _set_rlimit(kind: int, soft: int, hard: int | None = None) -> None:
    hard = soft if hard is None else hard
    cur_soft, cur_hard = resource.getrlimit(kind)
    if cur_hard != resource.RLIM_INFINITY:
        hard = min(hard, cur_hard)
        soft = min(soft, hard)
    resource.setrlimit(kind, (soft, hard))


def isolate_child(cfg: dict, tmp: str, index: int, seccomp_filter) -> Report:
    """Apply every child-level protection to the calling (freshly forked) process."""
    report: Report = {}
    pid = os.getpid()
    as_root = os.geteuid() == 0
    uid = UID_BASE + index * PID_SPAN + pid if as_root else os.getuid()
    gid = uid if as_root else os.getgid()

    def pdeath():
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # no PID namespace: die with the zygote anyway

    def tmpdir():
        os.mkdir(tmp, 0o700)
        if as_root:
            os.chown(tmp, uid, gid)
        os.chdir(tmp)
        return tmp

    def stdio():
        null_r = os.open("/dev/null", os.O_RDONLY)
        null_w = os.open("/dev/null", os.O_WRONLY)
        os.dup2(null_r, 0)
        os.dup2(null_w, 1)
        os.dup2(null_w, 2)
        os.close(null_r)
        os.close(null_w)
        return "stdin, stdout, stderr on /dev/null"

    def environ():
        os.environ.clear()  # also unsets the C-level environ
        os.environ.update(SAFE_ENV, HOME=tmp, TMPDIR=tmp, MPLCONFIGDIR=tmp)
        return f"{len(os.environ)} safe variables"

    def rlimits():
        _set_rlimit(resource.RLIMIT_CORE, 0)
        _set_rlimit(resource.RLIMIT_AS, int(cfg["memory"]))
        _set_rlimit(resource.RLIMIT_CPU, int(cfg["cpu_soft"]), int(cfg["cpu_hard"]))
        _set_rlimit(resource.RLIMIT_FSIZE, int(cfg["file_size"]))
        _set_rlimit(resource.RLIMIT_NOFILE, int(cfg["nofile"]))
        _set_rlimit(resource.RLIMIT_NPROC, int(cfg["nproc"]))
        return (
            f"AS={cfg['memory'] >> 20} MiB, CPU={cfg['cpu_soft']}s, FSIZE={cfg['file_size'] >> 20} MiB, "
            f"NOFILE={cfg['nofile']}, NPROC={cfg['nproc']}"
        )

    def drop_uid():
        if not as_root:
            raise PermissionError("not root: keeps the caller's uid")
        if not cfg.get("drop_uid", True):
            raise PermissionError("disabled by configuration")
        keep_read = bool(cfg.get("read_cap"))
        if keep_read:
            prctl(PR_SET_KEEPCAPS, 1)
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        if keep_read:  # the interpreter lives in a dir only root can read; Landlock limits what is read
            set_capabilities(1 << CAP_DAC_READ_SEARCH)
            return f"uid/gid {uid} (unique per child); only CAP_DAC_READ_SEARCH, confined by Landlock"
        return f"uid/gid {uid} (unique per child, no capabilities)"

    def landlock():
        if not cfg.get("landlock", True):
            raise PermissionError("disabled by configuration")
        try:
            return apply_landlock(tmp, list(cfg.get("read_paths", [])))
        except Exception:
            if as_root and cfg.get("read_cap"):
                set_capabilities(0)  # no Landlock to confine it: the read capability must go
            raise

    def seccomp():
        if seccomp_filter is None:
            raise OSError(errno.ENOSYS, "pyseccomp/libseccomp not available")
        seccomp_filter.load()
        return "no socket, fork/exec, ptrace, io_uring, namespaces, mount"

    _step(report, "die_with_zygote", pdeath)

    def session():
        if os.getsid(0) != pid:
            os.setsid()
        return "own session and process group (killed as a group)"

    _step(report, "process_group", session)
    _step(report, "temp_dir", tmpdir)
    _step(report, "stdio", stdio)
    _step(report, "environment", environ)
    _step(report, "rlimits", rlimits)
    _step(report, "unprivileged_uid", drop_uid)
    _step(report, "landlock", landlock)
    _step(report, "seccomp", seccomp)
    return report
