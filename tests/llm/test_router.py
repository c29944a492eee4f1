"""RouterBackend over several OpenAI-compatible servers (scripted ones on 127.0.0.1: fast, no model).

The real-model version (three `transformers serve`, one killed mid-run) is tests/evaluate/test_scale_out.py.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from mathforge.llm import GenParams, affinity
from mathforge.llm.openai_backend import RequestFailed
from mathforge.llm.router import RouterBackend


def _servers(fault_server, n, fault_for=None):
    """n scripted servers, each answering with its own name (so a reply shows where it was served)."""
    return [fault_server(fault_for=(fault_for or {}).get(i), text_for=lambda body, i=i: f"server{i}")
            for i in range(n)]  # fmt: skip


async def _samples(router, n_samples, turns, prompt=lambda s, t: f"sample {s} turn {t}"):
    """Each sample makes ``turns`` requests inside its own affinity (as the tool-integrated loop does)."""

    async def one(s):
        with affinity(("p", s)):
            out = []
            for t in range(turns):
                (c,) = await router.agenerate(prompt(s, t), GenParams(max_tokens=4))
                out.append(c.text)
                await asyncio.sleep(0.01)  # the program runs between turns
            return out

    try:
        return await asyncio.gather(*(one(s) for s in range(n_samples)))
    finally:
        await router.aclose()


def test_a_samples_turns_stay_on_one_server_and_new_samples_spread(fault_server):
    servers = _servers(fault_server, 3)
    with servers[0], servers[1], servers[2]:
        router = RouterBackend([s.url for s in servers], "m", concurrency=4, health_interval=0)
        answers = asyncio.run(_samples(router, 6, 3))
    assert all(len(set(a)) == 1 for a in answers)  # every turn of a sample on the server of its first
    assert Counter(a[0] for a in answers) == {"server0": 2, "server1": 2, "server2": 2}
    stats = router.stats()
    assert stats["requests"] == 18 and stats["samples_moved"] == 0
    assert {u: e["requests"] for u, e in stats["endpoints"].items()} == {s.url: 6 for s in servers}
    assert all(e["tokens"] == 6 * 3 and e["mean_latency_s"] > 0 for e in stats["endpoints"].values())


def test_a_failing_server_is_taken_out_and_its_samples_move_without_loss_or_duplicates(fault_server):
    servers = _servers(fault_server, 3, fault_for={1: lambda body: "status:503"})
    with servers[0], servers[1], servers[2]:
        router = RouterBackend([s.url for s in servers], "m", concurrency=4, health_interval=0, eject_after=2,
                               cooldown=60)  # fmt: skip
        answers = asyncio.run(_samples(router, 9, 2))
    assert len(answers) == 9 and all(len(a) == 2 for a in answers)  # every request answered exactly once
    assert all(t != "server1" for a in answers for t in a)
    assert all(len(set(a)) == 1 for a in answers)  # a moved sample stays where it moved
    bad = router.stats()["endpoints"][servers[1].url]
    assert bad["state"] == "down" and bad["ejections"] == 1 and bad["errors"] >= 2
    assert "503" in bad["last_error"]
    assert router.stats()["samples_moved"] == bad["errors"] and router.stats()["failed_requests"] == 0
    # once out, the server gets nothing more: only the requests that found it failing reached it
    assert len(servers[1].requests) == bad["errors"]


def test_a_bad_request_fails_at_once_and_does_not_count_against_the_server(fault_server):
    servers = _servers(fault_server, 2, fault_for={0: lambda b: "status:400", 1: lambda b: "status:400"})
    with servers[0], servers[1]:
        router = RouterBackend([s.url for s in servers], "m", health_interval=0, eject_after=1)
        with pytest.raises(RequestFailed) as err:
            router.generate(["x"], GenParams(max_tokens=4))
    assert err.value.status == 400 and not err.value.retryable
    assert len(servers[0].requests) + len(servers[1].requests) == 1  # not sent anywhere else
    assert all(e["state"] == "up" for e in router.stats()["endpoints"].values())


def test_every_server_failing_gives_up_after_max_retries(fault_server):
    servers = _servers(fault_server, 2, fault_for={0: lambda b: "status:503", 1: lambda b: "status:503"})
    with servers[0], servers[1]:
        router = RouterBackend([s.url for s in servers], "m", health_interval=0, max_retries=3, cooldown=0.01,
                               backoff=0.01)  # fmt: skip
        with pytest.raises(RequestFailed, match="503"):
            router.generate(["x"], GenParams(max_tokens=4))
    assert len(servers[0].requests) + len(servers[1].requests) == 4  # 1 + max_retries, spread over both


def test_health_checks_take_out_a_server_that_is_gone(fault_server):
    servers = _servers(fault_server, 2)
    with servers[0]:
        servers[1].__enter__()
        gone = servers[1]
        router = RouterBackend([s.url for s in servers], "m", health_interval=0.05)
        gone.__exit__(None, None, None)  # nothing listens there any more

        async def main():
            try:
                assert await router.check(router.endpoints[0]) is True
                await router.agenerate("x", GenParams(max_tokens=4))  # starts the checks in this loop
                for _ in range(100):
                    if not router.endpoints[1].up():
                        break
                    await asyncio.sleep(0.02)
            finally:
                await router.aclose()

        asyncio.run(main())
    ep = router.stats()["endpoints"][gone.url]
    assert ep["state"] == "down" and "health check" in ep["last_error"]
    assert gone.requests == []  # taken out by the check alone


def test_a_server_slow_to_answer_its_check_does_not_delay_noticing_one_that_is_gone(fault_server):
    # each server has its own watcher: with one check round for all, the gone server would wait behind the
    # busy server's late answer (3 s here), and a short run could end before it was taken out
    servers = _servers(fault_server, 2)
    servers[0].health_delay = 3.0
    with servers[0]:
        servers[1].__enter__()
        gone = servers[1]
        router = RouterBackend([s.url for s in servers], "m", health_interval=0.05, health_timeout=10)
        seen_out_after: list[float] = []

        async def main():
            try:
                await router.agenerate("x", GenParams(max_tokens=4))  # starts the checks in this loop
                gone.__exit__(None, None, None)
                start = time.monotonic()
                while time.monotonic() - start < 2.5:  # well before the slow server's first check answers
                    if not router.endpoints[1].up():
                        seen_out_after.append(time.monotonic() - start)
                        break
                    await asyncio.sleep(0.02)
            finally:
                await router.aclose()

        asyncio.run(main())
    assert seen_out_after, "the gone server was still in service 2.5 s after it stopped listening"
    assert router.endpoints[0].up()  # late is not down


def test_load_backend_one_url_is_a_plain_client_several_a_router(tmp_path):
    from mathforge.llm import load_backend
    from mathforge.llm.config import BackendConfig
    from mathforge.llm.openai_backend import OpenAIBackend

    one = load_backend(BackendConfig(model="m", base_url="http://127.0.0.1:1/v1"))
    assert type(one) is OpenAIBackend  # a router in front of a fleet (sgl-router) is one endpoint
    urls = tmp_path / "urls.txt"
    urls.write_text("http://127.0.0.1:2/v1\n# the first again: counted once\nhttp://127.0.0.1:1/v1\n")
    cfg = BackendConfig(model="m", base_url="http://127.0.0.1:1/v1", base_urls_file=str(urls), concurrency=3)
    router = load_backend(cfg)
    assert isinstance(router, RouterBackend)
    assert [e.url for e in router.endpoints] == ["http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1"]
    assert router.max_batch == 6 and router.concurrent
    assert cfg.paths("in") == [("base_urls_file", str(urls), "file")]  # a served model is not a local path
