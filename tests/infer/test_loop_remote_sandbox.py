"""The tool-integrated loop against two `mathforge sandbox serve` processes on 127.0.0.1 (real servers, the
remote client, a scripted model): sessions keep state across rounds through the service, are spread over
both servers, and a session whose server is killed is rebuilt on the other."""

from __future__ import annotations

import asyncio
import time

import pytest

from mathforge.infer import run_tir
from mathforge.sandbox import Sandbox
from mathforge.sandbox.remote import RemoteSandbox, RemoteSandboxError
from mathforge.sandbox.serve import sandbox_servers

TOKEN = "test-token-1234"


@pytest.fixture(scope="module")
def servers():
    with sandbox_servers(2, token=TOKEN) as procs:
        yield procs


def _script(n: int) -> list[str]:
    """Round 1 defines x, round 2 uses it: only a session that kept its state prints 2n."""
    return [f"Set it.\n```python\nx = {n}\nprint(x)\n```\n```output", "Double it.\n```python\nprint(x * 2)\n```\n```output",
            "So the answer is \\boxed{done}."]  # fmt: skip


def test_sessions_keep_state_across_rounds_through_the_service(scripted, problem, servers):
    problems = [problem(f"q{i}", f"Double {i}") for i in range(6)]
    backend = scripted({p.question: _script(10 + i) for i, p in enumerate(problems)}, concurrent=True)
    with Sandbox(remote=[s.url for s in servers], token=TOKEN, timeout=5) as sb:
        assert isinstance(sb, RemoteSandbox)
        trajs = run_tir(backend, problems, sandbox=sb, max_rounds=3)
        for _ in range(50):  # sessions are closed in the background (nothing waits on a close)
            stats = sb.stats()
            if all(s["server"]["sessions"] == 0 for s in stats):
                break
            time.sleep(0.1)
    for i, t in enumerate(trajs):
        assert t.error is None
        assert [e.output for e in t.executions] == [str(10 + i), str(2 * (10 + i))]
    opened = [s["server"]["sessions_opened"] for s in stats]
    assert sum(opened) == 6 and min(opened) >= 2  # fewest in flight: both servers got sessions
    assert all(s["server"]["sessions"] == 0 for s in stats)  # every session was closed


def test_stage_settings_make_a_remote_sandbox(servers, tmp_path):
    from mathforge.sandbox.config import SandboxConfig

    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    urls = tmp_path / "sandboxes.txt"
    urls.write_text(f"{servers[1].url}\n")
    cfg = SandboxConfig(
        sandbox_url=[servers[0].url], sandbox_urls_file=str(urls), sandbox_token_file=str(token)
    )
    with cfg.make_sandbox() as sb:
        assert [e.url for e in sb.balancer.endpoints] == [s.url for s in servers]
        assert [r.stdout for r in sb.run_many([f"print({i} ** 2)" for i in range(8)])] == [
            f"{i**2}\n" for i in range(8)
        ]
        assert asyncio.run(sb.arun("print('async')")).stdout == "async\n"


def test_a_missing_token_is_an_error_not_a_result(servers, monkeypatch):
    monkeypatch.delenv("MATHFORGE_SANDBOX_TOKEN", raising=False)
    with RemoteSandbox([servers[0].url]) as sb, pytest.raises(RemoteSandboxError, match="401"):
        sb.run("print(1)")


def test_a_killed_server_moves_its_session_to_the_other_with_its_state():
    with sandbox_servers(2) as procs, RemoteSandbox([p.url for p in procs], timeout=5) as sb:
        s = sb.session().open()
        assert s.run("import math\nx = math.factorial(5)").ok
        home = next(p for p in procs if p.url == s.url)
        home.kill()
        r = s.run("print(x + 1)")  # the server is gone: rebuilt on the other by replaying the cells
        assert r.stdout == "121\n" and s.restarts == 1 and s.url != home.url
        assert [sb.run(f"print({i})").stdout for i in range(4)] == ["0\n", "1\n", "2\n", "3\n"]
        s.close()
        client = sb.balancer.stats()
        assert client[home.url]["errors"] >= 1
