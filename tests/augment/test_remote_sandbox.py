"""augment code unchanged against two `mathforge sandbox serve` processes on 127.0.0.1 (--sandbox-url,
--sandbox-token-file): the same rows and rejects, byte for byte, as with the in-process sandbox."""

from __future__ import annotations

from pathlib import Path

from mathforge.augment.config import AugmentCodeConfig
from mathforge.augment.stages import run_code
from mathforge.sandbox import Sandbox
from mathforge.sandbox.serve import sandbox_servers

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "augment_gsm8k_mini.jsonl"
TOKEN = "test-token-augment"


def test_augment_code_through_the_sandbox_service_gives_the_in_process_rows(tmp_path):
    local = tmp_path / "local" / "code.jsonl"
    run_code(AugmentCodeConfig(dataset=str(MINI), out=str(local), sandbox_workers=1))
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    remote = tmp_path / "remote" / "code.jsonl"
    with sandbox_servers(2, token=TOKEN) as servers:
        cfg = AugmentCodeConfig(dataset=str(MINI), out=str(remote), sandbox_url=[s.url for s in servers],
                                sandbox_token_file=str(token))  # fmt: skip
        stats = run_code(cfg)
        with Sandbox(remote=[s.url for s in servers], token=TOKEN) as sb:
            executions = [s["server"]["executions"] for s in sb.stats()]
    assert stats["total"] == 8 and stats["converted"] >= 1
    assert remote.read_bytes() == local.read_bytes()
    rejects = local.with_suffix(".rejects.jsonl")
    if rejects.exists():
        assert remote.with_suffix(".rejects.jsonl").read_bytes() == rejects.read_bytes()
    assert sum(executions) >= stats["converted"] and min(executions) >= 1  # the servers ran it, both of them
