"""mathforge.sandbox: isolated, stateful, fast execution of model-written Python.

``Sandbox`` keeps warm "zygote" processes that fork one isolated child per stateless cell or per
``Session``: full zygotes (math, fractions, numpy, sympy, scipy imported and exercised) and lean ones
(standard library only) for cells whose imports they cover. Every child runs in an empty network
namespace and a PID namespace with its own /proc, as a unique unprivileged uid, under Landlock (reads
only the Python installation, writes only its own size- and inode-limited tmpfs) and seccomp (no
sockets, fork, exec, memfd or IPC objects), with rlimits, a scrubbed environment, no stdin, capped
output and a wall-clock SIGKILL of its process group. Nothing a child sends is trusted.
``mathforge sandbox doctor`` shows which layers and limits the running kernel grants;
docs/SANDBOX.md is the security model.

Sessions keep globals in one persistent child, stopped between cells; if it dies (timeout, memory
limit, crash) the next cell runs in a new child rebuilt by replaying the earlier successful cells
(see ``Session``).

    with Sandbox() as sb:
        sb.run("print(2 + 2)").stdout            # '4\\n'
        with sb.session() as s:
            s.run("x = 21")
            render(s.run("print(x * 2)"))        # '42'
"""

from mathforge.sandbox.result import STATUSES, ExecResult, render, truncate_middle

_POOL_NAMES = ("DEFAULT_PRELOAD", "LIGHT_PRELOAD", "Sandbox", "Session", "TooManySessions")


def __getattr__(name: str):
    # Lazy: the zygotes import this package too, and the lean ones should not pay for asyncio & co.
    if name in _POOL_NAMES:
        from mathforge.sandbox import pool

        return getattr(pool, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["STATUSES", "ExecResult", "render", "truncate_middle", *_POOL_NAMES]
