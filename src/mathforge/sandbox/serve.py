"""``mathforge sandbox serve``: the sandbox pool behind HTTP (routes: :mod:`mathforge.sandbox.service`).

It binds 127.0.0.1 unless told otherwise; binding any other address needs a token (``--token-file``, or
``MATHFORGE_SANDBOX_TOKEN``) or an explicit ``--insecure-no-token``: whoever reaches an unauthenticated
server runs code on the machine (inside the sandbox, but still).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from contextlib import contextmanager
from pathlib import Path

from mathforge.config import Config, redefault, setting
from mathforge.io import DataError
from mathforge.sandbox.config import SandboxConfig

TOKEN_ENV = "MATHFORGE_SANDBOX_TOKEN"


class ServeConfig(Config):
    """Serve the sandbox over HTTP: stateless runs, sessions, SandboxFusion's and NeMo-Skills' shapes."""

    host: str = setting("127.0.0.1", "address to bind (another than loopback needs a token)")
    port: int = setting(8000, "port (0: any free one; --url-file says which)", ge=0, le=65535)
    token_file: str | None = setting(
        None, f"file holding the bearer token clients must send (default: ${TOKEN_ENV}, else none)", io="in"
    )
    insecure_no_token: bool = setting(False, "allow a non-loopback address without a token")
    url_file: str | None = setting(None, "write the server's URL here once it answers (for job scripts)",
                                   io="out")  # fmt: skip
    max_concurrency: int | None = setting(
        None, "cells executing at once; more wait in line (default: 2 per zygote, the pool's own limit)", ge=1
    )
    max_sessions: int = setting(256, "live sessions at most (then 429)", ge=1)
    idle_timeout: float = setting(600.0, "close sessions idle this many seconds (0: never)", ge=0)
    max_code_kb: int = setting(1024, "largest program accepted, in KiB (larger: 413)", ge=1)
    max_timeout: float = setting(60.0, "largest per-cell timeout a request may ask for, in seconds", gt=0)
    sandbox_workers: int | None = redefault(SandboxConfig, "sandbox_workers", None)
    sandbox_timeout: float = redefault(SandboxConfig, "sandbox_timeout", 5.0)
    sandbox_memory: int = redefault(SandboxConfig, "sandbox_memory", 2048)
    log_level: str = setting("warning", "uvicorn's log level (info shows every request)")

    def token(self) -> str | None:
        if self.token_file:
            try:
                token = Path(self.token_file).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise DataError(
                    f"cannot read the token: {exc}", self.token_file, field="token_file"
                ) from None
            if not token:
                raise DataError("the token file is empty", self.token_file, field="token_file")
            return token
        return os.environ.get(TOKEN_ENV, "").strip() or None


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(cfg: ServeConfig) -> dict:
    """Serve until SIGINT/SIGTERM; returns the final stats."""
    import uvicorn

    from mathforge.sandbox.pool import Sandbox
    from mathforge.sandbox.service import ServiceLimits, create_app

    token = cfg.token()
    if not loopback(cfg.host) and token is None and not cfg.insecure_no_token:
        raise DataError(f"binding {cfg.host} without a token lets anyone who reaches it run code: give "
                        f"--token-file (or ${TOKEN_ENV}), or --insecure-no-token", field="host")  # fmt: skip
    sandbox = Sandbox(workers=cfg.sandbox_workers, timeout=cfg.sandbox_timeout, memory=cfg.sandbox_memory << 20,
                      max_sessions=cfg.max_sessions)  # fmt: skip
    try:
        zygotes = len(sandbox.info)
        limits = ServiceLimits(max_concurrency=cfg.max_concurrency or 2 * zygotes,
                               max_code_bytes=cfg.max_code_kb << 10, max_timeout=cfg.max_timeout,
                               idle_timeout=cfg.idle_timeout or None, max_sessions=cfg.max_sessions)  # fmt: skip
        app = create_app(sandbox, token=token, limits=limits)
        config = uvicorn.Config(app, host=cfg.host, port=cfg.port, log_level=cfg.log_level, access_log=False,
                                lifespan="on", timeout_graceful_shutdown=10)  # fmt: skip
        server = _make_server(config, lambda port: _ready(cfg, port))
        server.run()
        return app.state.service.stats()
    finally:
        sandbox.close()


def _ready(cfg: ServeConfig, port: int) -> None:
    host = socket.gethostname() if cfg.host in ("0.0.0.0", "::") else cfg.host
    url = f"http://{host}:{port}"
    print(f"mathforge sandbox serving on {url}", file=sys.stderr, flush=True)
    if cfg.url_file:
        path = Path(cfg.url_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(url + "\n", encoding="utf-8")
        os.replace(tmp, path)  # a reader sees the whole URL or no file


def _make_server(config, on_ready):
    """uvicorn's server, telling ``on_ready(port)`` when it listens (uvicorn is imported only to serve)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            if self.started:
                port = self.servers[0].sockets[0].getsockname()[1] if self.servers else self.config.port
                on_ready(port)

    return Server(config)


def report(cfg: ServeConfig, stats: dict) -> int:
    print(f"served {stats['requests']} requests, {stats['executions']} executions; stopped", file=sys.stderr)
    return 0


@contextmanager
def sandbox_servers(n: int = 1, *, workers: int = 1, token: str | None = None, args=(), startup_timeout=120.0,
                    log_dir=None):  # fmt: skip
    """Start ``n`` ``mathforge sandbox serve`` processes on 127.0.0.1 (tests, benchmarks); yields their
    :class:`ServedSandbox` handles (``.url``, ``.proc``, ``.kill()``) once each listens, and stops them after."""
    import subprocess
    import tempfile
    import time

    procs: list[ServedSandbox] = []
    with tempfile.TemporaryDirectory(prefix="mathforge-serve-") as tmp:
        env = {**os.environ, TOKEN_ENV: token or ""}
        try:
            for i in range(n):
                url_file = Path(tmp) / f"{i}.url"
                log = open(Path(log_dir or tmp) / f"sandbox-serve-{i}.log", "ab")  # noqa: SIM115 - closed below
                cmd = [sys.executable, "-m", "mathforge.cli", "sandbox", "serve", "--port", "0", "--url-file",
                       str(url_file), "--sandbox-workers", str(workers), *map(str, args)]  # fmt: skip
                proc = subprocess.Popen(
                    cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
                procs.append(ServedSandbox(proc, url_file, log))
            deadline = time.monotonic() + startup_timeout
            for s in procs:
                while not s.url_file.exists():
                    if s.proc.poll() is not None:
                        raise RuntimeError(
                            f"sandbox serve exited with {s.proc.returncode}: {s.log_text()[-2000:]}"
                        )
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"sandbox serve did not listen within {startup_timeout:.0f}s")
                    time.sleep(0.1)
                s.url = s.url_file.read_text(encoding="utf-8").strip()
            yield procs
        finally:
            for s in procs:
                s.stop()


class ServedSandbox:
    def __init__(self, proc, url_file: Path, log):
        self.proc, self.url_file, self.log, self.url = proc, url_file, log, ""

    def kill(self) -> None:
        """SIGKILL the server's whole process group (its zygotes and children too)."""
        import signal

        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def stop(self) -> None:
        import signal
        import subprocess

        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                self.kill()
        self.log.close()

    def log_text(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(encoding="utf-8", errors="replace")
