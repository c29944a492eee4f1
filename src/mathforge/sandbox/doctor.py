"""`mathforge sandbox doctor`: which protections the kernel granted, and attack probes that check them."""

from __future__ import annotations

import os
import socket
import tempfile
import time
import uuid

from mathforge.sandbox.pool import Sandbox

_ORDER = [
    "network_namespace", "pid_namespace", "mount_namespace", "ipc_namespace", "proc", "process_group",
    "temp_dir", "tmpfs", "stdio", "environment", "rlimits", "unprivileged_uid", "capabilities", "landlock",
    "seccomp",
]  # fmt: skip


def _active(report: dict, name: str) -> bool:
    return bool(report.get(name, (False, ""))[0])


def cgroup_v2() -> str:
    """What cgroup v2 offers here (the sandbox does not use it: see docs/SANDBOX.md)."""
    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as fh:
            controllers = fh.read().split()
    except OSError:
        return "no cgroup v2 hierarchy at /sys/fs/cgroup"
    wanted = [c for c in ("memory", "pids") if c not in controllers]
    return f"cgroup v2 lacks {', '.join(wanted)} here" if wanted else "cgroup v2 has memory and pids here"


def limits(report: dict, sb: Sandbox) -> list[tuple[str, str, str]]:
    """(limit, value, mechanism) for every per-child bound in force, from a child's report."""
    cfg, mib = sb._cfg, lambda n: f"{n / (1 << 20):g} MiB"
    seccomp, tmpfs = _active(report, "seccomp"), _active(report, "tmpfs")
    rows = [
        ("memory", f"{mib(cfg['memory'])} address space",
         "rlimit (AS)" + ("; memfd and SysV/POSIX IPC refused: seccomp" if seccomp else
                          "; NOT bounded: memfd / SysV shared memory (no seccomp)")),
        ("memory (cgroup)", "not used", cgroup_v2()),
        ("disk", f"{mib(cfg['disk'])} in all" if tmpfs else f"{mib(cfg['file_size'])} per file, no total",
         "tmpfs (size)" if tmpfs else "rlimit (FSIZE) only"),
        ("files", f"{cfg['files']} in the temp dir" if tmpfs else "no limit on count",
         f"tmpfs (nr_inodes); {cfg['nofile']} open at once: rlimit (NOFILE)" if tmpfs
         else f"{cfg['nofile']} open at once: rlimit (NOFILE)"),
        ("processes", "none (no fork/exec)" if seccomp else f"{cfg['nproc']} per child uid",
         "seccomp" + f"; rlimit (NPROC={cfg['nproc']})" if seccomp else "rlimit (NPROC)"),
        ("CPU", f"wall clock {sb.timeout:g} s per cell; CPU {sb.timeout:g} s + 1 per cell, "
         f"{sb.session_cpu:g} s per session", "zygote SIGKILL at the deadline; rlimit (CPU)"),
        ("output", f"{cfg['max_output'] >> 10} KiB stdout, 16 KiB stderr per cell",
         "capped in the child, re-checked by the zygote"),
        ("cell size", "64 MiB as a message", "refused in the parent (an error result)"),
        ("sessions", f"{sb.max_sessions} live per Sandbox; stopped between cells",
         "Sandbox (TooManySessions); SIGSTOP by the zygote" if cfg.get("freeze_sessions", True)
         else "Sandbox (TooManySessions); NOT stopped between cells (disabled)"),
    ]  # fmt: skip
    return rows


def _probe_network(sb: Sandbox) -> tuple[bool, str]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.3)
    port = server.getsockname()[1]
    try:
        r = sb.run(
            f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=1)\nprint('connected')"
        )
        try:
            server.accept()
            received = True
        except (TimeoutError, OSError):
            received = False
    finally:
        server.close()
    return (not received and "connected" not in r.stdout), r.error or r.stdout.strip()


def _probe_write(sb: Sandbox) -> tuple[bool, str]:
    target = os.path.join(tempfile.gettempdir(), f"mathforge-doctor-{uuid.uuid4().hex}")
    r = sb.run(f"open({target!r}, 'w').write('escaped')")
    escaped = os.path.exists(target)
    if escaped:
        os.unlink(target)
    return not escaped, r.error or "file created"


def _probe_env(sb: Sandbox, secret: str) -> tuple[bool, str]:
    code = (
        "import os\ntry:\n    raw = open('/proc/self/environ', 'rb').read()\nexcept OSError:\n    raw = b''\n"
        "print(os.environ.get('MATHFORGE_DOCTOR_SECRET'), raw.count(b'MATHFORGE_DOCTOR_SECRET'))"
    )
    r = sb.run(code)
    return secret not in r.stdout and r.stdout.strip() == "None 0", r.stdout.strip() or r.error


def _probe_fork(sb: Sandbox) -> tuple[bool, str]:
    r = sb.run("import os\npid = os.fork()\nprint('forked' if pid else 'child')")
    return "forked" not in r.stdout and "child" not in r.stdout, r.error or r.stdout.strip()


def _probe_kill(sb: Sandbox) -> tuple[bool, str]:
    r = sb.run("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(1, signal.SIGKILL)")
    after = sb.run("print('still serving')")
    return after.stdout == "still serving\n", r.error or "kill returned"


def _probe_memory(sb: Sandbox) -> tuple[bool, str]:
    r = sb.run("b = bytearray(8 << 30)")
    return r.status == "memory", f"{r.status}: {r.error}"


def _probe_timeout(sb: Sandbox) -> tuple[bool, str]:
    t0 = time.monotonic()
    r = sb.run("while True:\n    pass", timeout=1.0)
    return r.status == "timeout", f"{r.status} after {time.monotonic() - t0:.1f}s"


def _probe_memfd(sb: Sandbox) -> tuple[bool, str]:
    r = sb.run("import os\nfd = os.memfd_create('x')\nos.write(fd, b'x' * (1 << 20))\nprint('made')")
    return "made" not in r.stdout, r.error or r.stdout.strip()


def _probe_proc(sb: Sandbox) -> tuple[bool, str]:
    code = (
        "import os\nseen = []\nfor p in ('/proc/1/cmdline', f'/proc/{os.getppid()}/cmdline', '/proc/self/mountinfo'):\n"
        "    try:\n        open(p, 'rb').read()\n        seen.append(p)\n    except OSError:\n        pass\nprint(seen)"
    )
    r = sb.run(code)
    return r.stdout == "[]\n", r.stdout.strip() or r.error


PROBES = {
    "network (TCP to a 127.0.0.1 listener)": _probe_network,
    "write outside temp dir": _probe_write,
    "fork / subprocess": _probe_fork,
    "kill parent / zygote": _probe_kill,
    "memory limit (8 GiB bytearray)": _probe_memory,
    "wall-clock timeout (busy loop)": _probe_timeout,
    "memory outside the limit (memfd)": _probe_memfd,
    "zygote's /proc entries, mount table": _probe_proc,
}


def doctor(probes: bool = True) -> int:
    from rich.console import Console
    from rich.table import Table

    secret = uuid.uuid4().hex
    os.environ["MATHFORGE_DOCTOR_SECRET"] = secret
    try:
        with Sandbox(workers=1, timeout=5.0) as sb:
            r = sb.submit("pass", report=True).result()
            report = getattr(r, "report", {})
            table = Table(title="mathforge sandbox: protections of each child")
            table.add_column("protection")
            table.add_column("active")
            table.add_column("detail")
            for name in sorted(report, key=lambda n: _ORDER.index(n) if n in _ORDER else len(_ORDER)):
                active, detail = report[name]
                table.add_row(name, "[green]yes[/]" if active else "[red]no[/]", detail)
            console = Console()
            console.print(table)
            bounds = Table(title="per-child limits")
            for column in ("limit", "value", "enforced by"):
                bounds.add_column(column)
            for row in limits(report, sb):
                bounds.add_row(*row)
            console.print(bounds)
            for i, info in enumerate(sb.info):
                kind = "full" if i < sb.workers else "lean"
                console.print(
                    f"{kind} zygote preloads {', '.join(info['loaded'])}; {info.get('huge_pages', '')}"
                )
            if not probes:
                return 0
            checks = Table(title="attack probes (each must be contained)")
            checks.add_column("probe")
            checks.add_column("contained")
            checks.add_column("what the cell saw")
            failed = 0
            results = [("environment variable of the parent", *_probe_env(sb, secret))]
            results += [(name, *fn(sb)) for name, fn in PROBES.items()]
            for name, ok, seen in results:
                failed += not ok
                checks.add_row(name, "[green]yes[/]" if ok else "[red]NO[/]", seen[:90])
            console.print(checks)
            return 1 if failed else 0
    finally:
        os.environ.pop("MATHFORGE_DOCTOR_SECRET", None)
