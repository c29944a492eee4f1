"""OpenAIBackend against a small local HTTP server started in the test (no real model needed)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest

from mathforge.llm import BackendConfig, GenParams, OpenAIBackend, load_backend
from mathforge.llm.openai_backend import RequestFailed


class FakeServer:
    """Answers POST /v1/completions and /v1/chat/completions; ``failures`` are sent first, in order."""

    def __init__(self, failures=(), delay=0.0, choice_extra=None, text_for=None, kind="other"):
        self.failures = list(failures)
        self.delay = delay
        self.choice_extra = choice_extra or {}
        self.text_for = text_for or (lambda body: "echo:" + str(body.get("prompt") or body.get("messages")))
        self.bodies: list[dict] = []
        self.paths: list[str] = []
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        self.kind = kind
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                # only transformers serve has /v1/systemone (POST only: a GET answers 405)
                status = 405 if server.kind == "transformers" and self.path.endswith("/systemone") else 404
                self._send(status, {"detail": "x"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.bodies.append(body)
                    server.paths.append(self.path)
                    failure = server.failures.pop(0) if server.failures else None
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                try:
                    time.sleep(server.delay)
                    if failure is not None:
                        self._send(failure, {"error": {"message": f"scripted {failure}"}})
                        return
                    text = server.text_for(body)
                    if self.path.endswith("/chat/completions"):
                        choice = {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": text},
                            **server.choice_extra,
                        }
                        obj = "chat.completion"
                    else:
                        choice = {"index": 0, "finish_reason": "stop", "text": text, **server.choice_extra}
                        obj = "text_completion"
                    self._send(
                        200,
                        {
                            "id": "x",
                            "object": obj,
                            "created": 0,
                            "model": body["model"],
                            "choices": [choice],
                            "usage": {"prompt_tokens": 1, "completion_tokens": 5, "total_tokens": 6},
                        },
                    )
                finally:
                    with server.lock:
                        server.active -= 1

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def backend(url, **kw):
    kw.setdefault("backoff", 0.01)
    return OpenAIBackend(url, "tiny", **kw)


def test_retries_429_and_5xx_then_succeeds():
    with FakeServer(failures=[429, 500, 503]) as srv:
        b = backend(srv.url, max_retries=4)
        ((out,),) = b.generate(["hello"], GenParams(max_tokens=5))
    assert out.text == "echo:hello"
    assert out.tokens == 5
    assert b.retries == 3 and b.requests == 4
    assert len(srv.bodies) == 4
    assert srv.paths[0] == "/v1/completions"


def test_gives_up_after_max_retries():
    with FakeServer(failures=[500, 500, 500]) as srv:
        b = backend(srv.url, max_retries=2)
        with pytest.raises(RequestFailed, match="HTTP 500.*after 3 attempt") as err:
            b.generate(["hello"], GenParams(max_tokens=5))
    assert len(srv.bodies) == 3 and isinstance(err.value.__cause__, openai.InternalServerError)


def test_client_errors_are_not_retried():
    with FakeServer(failures=[422]) as srv:
        b = backend(srv.url, max_retries=5)
        with pytest.raises(RequestFailed, match="HTTP 422.*after 1 attempt") as err:
            b.generate(["hello"], GenParams(max_tokens=5))
    assert (
        len(srv.bodies) == 1
        and b.retries == 0
        and isinstance(err.value.__cause__, openai.UnprocessableEntityError)
    )


def test_timeouts_are_retried():
    with FakeServer(delay=0.5) as srv:
        b = backend(srv.url, max_retries=1, timeout=0.1)
        with pytest.raises(RequestFailed, match="deadline"):
            b.generate(["slow"], GenParams(max_tokens=5))
    assert b.retries == 1 and b.requests == 2


def test_request_body_carries_the_sampling_parameters():
    with FakeServer() as srv:
        b = backend(srv.url)
        outs = b.generate(
            ["p"], GenParams(max_tokens=9, temperature=0.7, top_p=0.9, n=3, stop=("```output",), seed=10)
        )
    assert len(outs[0]) == 3  # n samples = n requests (transformers serve ignores `n`)
    seeds = sorted(body["seed"] for body in srv.bodies)
    assert seeds == [10, 11, 12]
    body = srv.bodies[0]
    assert body["max_tokens"] == 9 and body["temperature"] == 0.7 and body["top_p"] == 0.9
    assert body["stop"] == ["```output"] and body["model"] == "tiny" and "n" not in body


def test_concurrency_is_bounded():
    with FakeServer(delay=0.15) as srv:
        b = backend(srv.url, concurrency=2)
        outs = b.generate([f"p{i}" for i in range(6)], GenParams(max_tokens=3))
    assert [o[0].text for o in outs] == [f"echo:p{i}" for i in range(6)]
    assert srv.max_active == 2 and b.max_in_flight == 2


def test_stop_string_kept_by_the_server_is_cut_right_after_it():
    # transformers serve: the stop string is in the text, plus whatever its last token carried
    with FakeServer(text_for=lambda body: "```python\nprint(1)\n```\n```output\nxx") as srv:
        ((out,),) = backend(srv.url).generate(["p"], GenParams(max_tokens=50, stop=("```output",)))
    assert out.text == "```python\nprint(1)\n```\n```output"
    assert out.stop == "```output" and out.finish_reason == "stop"


def test_stop_string_dropped_by_the_server_is_re_appended():
    # vLLM drops the stop string and reports it as stop_reason (SGLang: matched_stop)
    for field in ("stop_reason", "matched_stop"):
        with FakeServer(text_for=lambda body: "code\n```\n", choice_extra={field: "```output"}) as srv:
            ((out,),) = backend(srv.url).generate(["p"], GenParams(max_tokens=50, stop=("```output",)))
        assert out.text == "code\n```\n```output" and out.stop == "```output"
    # an EOS stop (no stop string reported) is left alone
    with FakeServer(text_for=lambda body: "done", choice_extra={"stop_reason": None}) as srv:
        ((out,),) = backend(srv.url).generate(["p"], GenParams(max_tokens=50, stop=("```output",)))
    assert out.text == "done" and out.stop is None


def test_chat_api_sends_messages_and_continues_an_assistant_turn():
    with FakeServer(text_for=lambda body: "ok") as srv:
        b = backend(srv.url, api="chat")
        b.generate(["What is 2+2?"], GenParams(max_tokens=5))
        partial = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "so far"}]
        b.generate([partial], GenParams(max_tokens=5))
    assert srv.paths == ["/v1/chat/completions"] * 2
    assert srv.bodies[0]["messages"] == [{"role": "user", "content": "What is 2+2?"}]
    assert srv.bodies[1]["continue_final_message"] is True
    assert srv.bodies[1]["add_generation_prompt"] is False


def test_agenerate_interleaves_within_one_event_loop():
    with FakeServer(delay=0.1) as srv:
        b = backend(srv.url, concurrency=8)

        async def main():
            outs = await asyncio.gather(*(b.agenerate(f"q{i}", GenParams(max_tokens=2)) for i in range(5)))
            await b.aclose()
            return outs

        outs = asyncio.run(main())
    assert [o[0].text for o in outs] == [f"echo:q{i}" for i in range(5)]
    assert srv.max_active == 5  # all five were in flight together


def test_load_backend_http_and_base_url_normalisation():
    b = load_backend(
        BackendConfig(model="name", base_url="http://127.0.0.1:9/", concurrency=3, request_timeout=7)
    )
    assert isinstance(b, OpenAIBackend)
    assert b.base_url == "http://127.0.0.1:9/v1" and b.model == b.name == "name"
    assert b.max_batch == b.concurrency == 3 and b.timeout == 7 and b.concurrent
    assert OpenAIBackend("http://h:1/v1", "m").base_url == "http://h:1/v1"


def test_sampling_on_transformers_serve_turns_do_sample_on():
    with FakeServer(kind="transformers") as srv:
        b = backend(srv.url)
        b.generate(["p"], GenParams(max_tokens=3))  # greedy: no probe, nothing extra
        b.generate(["p"], GenParams(max_tokens=3, temperature=0.8))
    assert b.server == "transformers"
    assert "generation_config" not in srv.bodies[0]
    assert json.loads(srv.bodies[1]["generation_config"]) == {"do_sample": True}
    with FakeServer(kind="other") as srv:
        b = backend(srv.url)
        b.generate(["p"], GenParams(max_tokens=3, temperature=0.8))
    assert b.server == "other" and "generation_config" not in srv.bodies[0]


def test_min_tokens_goes_where_each_server_reads_it():
    with FakeServer(kind="transformers") as srv:
        backend(srv.url).generate(["p"], GenParams(max_tokens=9, min_tokens=9))
    assert json.loads(srv.bodies[0]["generation_config"]) == {"min_new_tokens": 9}
    with FakeServer(kind="other") as srv:
        backend(srv.url).generate(["p"], GenParams(max_tokens=9, min_tokens=9))
    assert srv.bodies[0]["min_tokens"] == 9 and "generation_config" not in srv.bodies[0]
