"""The sandbox service's routes, in-process (FastAPI's test client over the real pool): the shapes of the
native API, SandboxFusion's and NeMo-Skills', sessions, limits, and bad requests answered with a clear 4xx
while the service keeps serving. The served processes and the remote client: test_remote.py."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from fastapi.testclient import TestClient

from mathforge.sandbox.service import ServiceLimits, create_app

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def client(sandbox):
    limits = ServiceLimits(max_concurrency=2, max_code_bytes=2048, max_timeout=10, idle_timeout=None,
                           max_sessions=4)  # fmt: skip
    with TestClient(create_app(sandbox, token=TOKEN, limits=limits)) as c:
        c.headers["Authorization"] = f"Bearer {TOKEN}"
        yield c


def test_stateless_run_returns_the_exec_result(client):
    r = client.post("/v1/run", json={"code": "print(6 * 7)"})
    assert r.status_code == 200
    body = r.json()
    assert body["stdout"] == "42\n" and body["status"] == "ok" and body["error"] == ""
    r = client.post("/v1/run", json={"code": "1/0"})
    assert r.json()["status"] == "error" and r.json()["error"] == "ZeroDivisionError: division by zero"
    assert client.post("/v1/run", json={"code": "6 * 7", "repl": True}).json()["stdout"].strip() == "42"


def test_a_session_keeps_state_across_cells_and_ends_on_delete(client):
    sid = client.post("/v1/sessions", json={}).json()["session"]
    assert client.post(f"/v1/sessions/{sid}/run", json={"code": "x = 21"}).json()["status"] == "ok"
    r = client.post(f"/v1/sessions/{sid}/run", json={"code": "print(x * 2)"}).json()
    assert r["stdout"] == "42\n" and r["restarts"] == 0
    assert client.delete(f"/v1/sessions/{sid}").json() == {"closed": sid}
    r = client.post(f"/v1/sessions/{sid}/run", json={"code": "print(x)"})
    assert r.status_code == 404 and "unknown session" in r.json()["error"]


def test_sandboxfusion_run_code_shape(client):
    r = client.post("/run_code", json={"code": "print('hello')", "language": "python", "run_timeout": 5,
                                       "memory_limit_MB": 1024, "args": []})  # fmt: skip
    body = r.json()
    assert body["status"] == "Success" and body["message"] == "" and body["compile_result"] is None
    assert body["files"] == {} and body["executor_pod_name"] is None
    run = body["run_result"]
    assert run["status"] == "Finished" and run["return_code"] == 0 and run["stdout"] == "hello\n"
    assert isinstance(run["execution_time"], float) and run["stderr"] == ""
    failed = client.post("/run_code", json={"code": "import sys\nsys.stderr.write('oops\\n')\nraise KeyError(3)",
                                            "language": "python"}).json()  # fmt: skip
    assert failed["status"] == "Failed" and failed["run_result"]["return_code"] == 1
    assert failed["run_result"]["stderr"] == "oops\nKeyError: 3\n"
    slow = client.post(
        "/run_code", json={"code": "while True: pass", "language": "python", "run_timeout": 0.5}
    )
    assert slow.json()["run_result"]["status"] == "TimeLimitExceeded"
    assert slow.json()["run_result"]["return_code"] is None and slow.json()["status"] == "Failed"
    for bad, word in (({"language": "cpp"}, "Python only"), ({"stdin": "1 2"}, "stdin"),
                      ({"files": {"a.txt": "eA=="}}, "files")):  # fmt: skip
        r = client.post("/run_code", json={"code": "print(1)", "language": "python", **bad})
        assert r.status_code == 400 and word in r.json()["error"]


def test_nemo_skills_execute_shape_with_sessions_made_on_first_use(client):
    r = client.post("/execute", json={"generated_code": "x = 21\nx * 2", "timeout": 5, "language": "ipython",
                                      "session_id": "sample-17"})  # fmt: skip
    assert r.json() == {"process_status": "completed", "stdout": "42", "stderr": ""}
    r = client.post("/execute", json={"generated_code": "print(x)\nundefined_name", "timeout": 5,
                                      "session_id": "sample-17"}).json()  # fmt: skip
    assert r["process_status"] == "error" and r["stdout"] == "21\n" and "NameError" in r["stderr"]
    assert "sample-17" in client.get("/sessions").json()["sessions"]
    assert client.delete("/sessions/sample-17").status_code == 200
    plain = client.post(
        "/execute", json={"generated_code": "1 + 1", "timeout": 5, "language": "python"}
    ).json()
    assert plain == {"process_status": "completed", "stdout": "", "stderr": ""}  # no IPython display
    late = client.post("/execute", json={"generated_code": "while True: pass", "timeout": 0.5}).json()
    assert late["process_status"] == "timeout"


def test_bad_requests_get_a_clear_4xx_and_the_service_keeps_serving(client):
    cases = [
        (
            dict(content=b'{"code": "print(1)"', headers={"Content-Type": "application/json"}),
            400,
            "malformed JSON",
        ),
        (dict(content=b"[1, 2]"), 422, "JSON object"),
        (dict(json={"cod": "print(1)"}), 422, "code"),
        (dict(json={"code": "print(1)", "timeout": 99}), 422, "over this server's limit"),
        (dict(json={"code": "x = 1\n" * 400}), 413, "at most 2048 bytes"),
        (dict(content=b"{" + b" " * 70_000 + b"}"), 413, "request body"),
    ]
    for kwargs, status, words in cases:
        r = client.post("/v1/run", **kwargs)
        assert r.status_code == status and words in r.json()["error"], (kwargs.keys(), r.text)
    assert client.post("/v1/sessions/no-such-id/run", json={"code": "1"}).status_code == 404
    assert client.delete("/v1/sessions/no-such-id").status_code == 404
    missing = client.post("/v1/run", json={"code": "print(1)"}, headers={"Authorization": ""})
    assert missing.status_code == 401 and "missing bearer token" in missing.json()["error"]
    wrong = client.post("/v1/run", json={"code": "print(1)"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    assert (
        client.get("/health", headers={"Authorization": ""}).json()["status"] == "ok"
    )  # probes need no token
    assert client.post("/v1/run", json={"code": "print('still here')"}).json()["stdout"] == "still here\n"
    stats = client.get("/stats").json()
    assert stats["rejected"] >= len(cases) + 4 and isinstance(stats["zygotes"], list)


def test_max_sessions_is_a_429_and_closing_makes_room(client):
    opened = []
    for _ in range(8):
        r = client.post("/v1/sessions", json={})
        if r.status_code != 200:
            break
        opened.append(r.json()["session"])
    assert len(opened) == 4 and r.status_code == 429 and "max_sessions" in r.json()["error"]
    client.delete(f"/v1/sessions/{opened.pop()}")
    opened.append(client.post("/v1/sessions", json={}).json()["session"])
    for sid in opened:
        client.delete(f"/v1/sessions/{sid}")


def test_requests_past_the_concurrency_budget_wait_in_line_instead_of_failing(sandbox):
    import httpx

    limits = ServiceLimits(max_concurrency=1, idle_timeout=None)
    app = create_app(sandbox, limits=limits)

    async def main():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as c:
            replies = await asyncio.gather(*(
                c.post("/v1/run", json={"code": f"import time\ntime.sleep(0.2)\nprint({i})"}) for i in range(4)
            ))  # fmt: skip
            return replies, (await c.get("/stats")).json()

    replies, stats = asyncio.run(main())
    assert [r.json()["stdout"] for r in replies] == [f"{i}\n" for i in range(4)]
    assert stats["max_queued"] >= 3 and stats["executions"] == 4 and stats["by_status"] == {"ok": 4}


def test_idle_sessions_are_closed_and_say_so(sandbox):
    from mathforge.sandbox.service import ServiceState

    state = ServiceState(sandbox, ServiceLimits(idle_timeout=0.05))

    async def main():
        sid = await state.open_session()
        await state.run_in_session(sid, "x = 1", timeout=None, repl=None)
        time.sleep(0.1)
        assert state.close_idle() == 1
        with pytest.raises(Exception) as err:
            state.entry(sid)
        return err.value

    err = asyncio.run(main())
    assert err.status == 404 and "idle" in err.message
    assert json.dumps(state.stats())  # serializable as /stats answers it


def test_serving_beyond_loopback_needs_a_token(monkeypatch, tmp_path):
    from mathforge.io import DataError
    from mathforge.sandbox.serve import ServeConfig, loopback, serve

    monkeypatch.delenv("MATHFORGE_SANDBOX_TOKEN", raising=False)
    assert ServeConfig().host == "127.0.0.1" and loopback("127.0.0.1") and loopback("::1")
    with pytest.raises(DataError, match="without a token") as err:
        serve(ServeConfig(host="0.0.0.0"))  # refused before any process starts
    assert err.value.field == "host"
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(DataError, match="empty"):
        ServeConfig(host="0.0.0.0", token_file=str(tmp_path / "empty")).token()
