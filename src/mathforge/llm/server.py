"""Start a local ``transformers serve`` for a model folder (tests, benchmarks, the offline demo)."""

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
    import httpx

    port = port or free_port()
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
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"transformers serve exited with {proc.returncode} (command: {' '.join(cmd)})"
                )
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"transformers serve did not answer /health within {startup_timeout:.0f}s")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        if out is not subprocess.DEVNULL:
            out.close()
