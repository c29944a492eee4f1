"""`mathforge sandbox doctor`: which protections the kernel granted, and attack probes that check them."""

from __future__ import annotations

import os
import socket
import tempfile
import time
import uuid

from mathforge.sandbox.pool import Sandbox

_ORDER = [
    "network_namespace", "pid_namespace", "process_group", "temp_dir", "stdio",
    "environment", "rlimits", "unprivileged_uid", "capabilities", "landlock", "seccomp",
]  # fmt: skip


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


PROBES = {
    "network (TCP to a 127.0.0.1 listener)": _probe_network,
    "write outside temp dir": _probe_write,
    "fork / subprocess": _probe_fork,
    "kill parent / zygote": _probe_kill,
    "memory limit (8 GiB bytearray)": _probe_memory,
    "wall-clock timeout (busy loop)": _probe_timeout,
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
