"""Start local ``transformers serve`` processes for a model folder (tests, benchmarks, the offline demo)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServedURL(str):
    """A server's base URL (a plain ``str`` to every caller) that also knows its process: ``.proc``,
    ``.kill()`` (SIGKILL of the server's process group, as a crashed node would go)."""

    proc: subprocess.Popen

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


@contextmanager
def transformers_server(
    model: str | os.PathLike,
    *,
    port: int | None = None,
    device: str = "cpu",
    threads: int | None = 1,
    startup_timeout: float = 180.0,
    log: str | os.PathLike | None = None,
    continuous_batching: bool = False,
):
    """Run ``transformers serve MODEL`` on 127.0.0.1 (a free port by default); yields the base URL
    (``http://127.0.0.1:PORT/v1``) once ``/health`` answers, and kills the server's process group after.

    ``threads``: OMP/torch threads of the server (1 suits tiny models on a shared CPU).
    ``continuous_batching``: serve concurrent requests together (``--continuous-batching``); without it
    ``transformers serve`` answers one request at a time, so a concurrent client's requests queue behind
    each other (a real model's evaluation then crawls: that, not a hang, is what a 400 s wait was).
    """
    with transformers_servers(model, 1, ports=[port] if port else None, device=device, threads=threads,
                              startup_timeout=startup_timeout, logs=[log] if log else None,
                              continuous_batching=continuous_batching) as (url,):  # fmt: skip
        yield url


@contextmanager
def transformers_servers(
    model: str | os.PathLike,
    n: int,
    *,
    ports: list[int] | None = None,
    device: str = "cpu",
    threads: int | None = 1,
    startup_timeout: float = 180.0,
    logs: list | None = None,
    continuous_batching: bool = False,
):
    """``n`` servers of one model, started at once (their startups overlap); yields their
    :class:`ServedURL` s once every ``/health`` answers."""
    started: list[tuple[ServedURL, object]] = []
    try:
        for i in range(n):
            started.append(_start(model, (ports or [None] * n)[i] or free_port(), device, threads,
                                  (logs or [None] * n)[i], continuous_batching))  # fmt: skip
        deadline = time.monotonic() + startup_timeout
        for url, _ in started:
            _wait_healthy(url, deadline, startup_timeout)
        yield [url for url, _ in started]
    finally:
        for url, out in started:
            _stop(url.proc)
            if out is not subprocess.DEVNULL:
                out.close()


def _start(
    model, port: int, device: str, threads: int | None, log, continuous_batching: bool = False
) -> tuple[ServedURL, object]:
    exe = Path(sys.executable).with_name("transformers")
    cmd = [
        str(exe) if exe.exists() else (shutil.which("transformers") or "transformers"),
        "serve",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--device",
        device,
        "--log-level",
        "warning",
        *(["--continuous-batching"] if continuous_batching else []),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed by the caller
    url = ServedURL(f"http://127.0.0.1:{port}/v1")
    url.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url.proc.cmd = cmd  # type: ignore[attr-defined]
    return url, out


def _wait_healthy(url: ServedURL, deadline: float, startup_timeout: float) -> None:
    import httpx

    root = url.removesuffix("/v1")
    while True:
        if url.proc.poll() is not None:
            raise RuntimeError(f"transformers serve exited with {url.proc.returncode} "
                               f"(command: {' '.join(url.proc.cmd)})")  # fmt: skip
        try:
            if httpx.get(f"{root}/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"transformers serve did not answer /health within {startup_timeout:.0f}s")
        time.sleep(0.5)


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
