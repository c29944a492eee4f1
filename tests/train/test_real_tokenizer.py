"""Loss masking and one LoRA step on the real pretrained model (SmolLM2-135M-Instruct, `smollm2` fixture).

The toy-tokenizer checks (test_masking.py) cannot show what a real byte-level BPE does at the fences: its
pre-tokenizer glues a space to what follows (``Output: -3.5`` is ``Output``, ``:``, ``Ġ-``, ...), digits
are single tokens, and ``\\n`` before a fence may or may not be its own token. Here every label is checked
against an independent byte-level derivation, token by token, on SmolLM2's own tokenizer and chat template.
"""

from __future__ import annotations

import json

import pytest

from mathforge.solution import build_prompt, output_spans, parse, render
from mathforge.solution.prompts import TIR_SYSTEM
from mathforge.train import IGNORE, encode_example

TORA = {
    "several-blocks": (
        "First the product.\n```python\nprint(317 * 24)\n```\n```output\n7608\n```\n"
        "Then the sum.\n```python\nprint(7608 + 5)\n```\n```output\n7613\n```\nThe answer is \\boxed{7613}."
    ),
    "negative-decimal": "```python\nprint(-7 / 2)\n```\n```output\n-3.5\n```\nSo \\boxed{-3.5}.",
    "traceback": (
        "Try it.\n```python\nprint(x)\n```\n```output\nNameError: name 'x' is not defined\n```\n"
        "Define x first.\n```python\nx = 4\nprint(x * x)\n```\n```output\n16\n```\n\\boxed{16}"
    ),
    "leading-spaces": "```python\nprint(f'{7:>4}')\n```\n```output\n   7\n```\nPadded: \\boxed{7}.",
    "sympy-list": "```python\nfrom sympy import *\nprint(solve(x**2 - x - 6))\n```\n```output\n[-2, 3]\n```\n"
    "The roots are \\boxed{-2, 3}.",
    "empty-output": "Nothing printed.\n```python\nx = 1\n```\n```output\n\n```\nSo x is \\boxed{1}.",
    "unicode": "½ ≈ 0.5?\n```python\nprint('½ ≈ 0.5 ✓')\n```\n```output\n½ ≈ 0.5 ✓\n```\n\\boxed{\\frac{1}{2}}",
}
MARIO = {
    "positive": "<p>\nCompute.\n</p>\n<code>\nprint(2 + 3)\n</code>\nOutput: 5\n<p>\nSo \\boxed{5}.\n</p>",
    "negative": "<p>\nCompute.\n</p>\n<code>\nprint(2 - 3)\n</code>\nOutput: -1\n<p>\nSo \\boxed{-1}.\n</p>",
    "error": "<code>\nprint(y)\n</code>\nOutput: NameError: name 'y' is not defined\n<p>\nRetry.\n</p>",
}


@pytest.fixture(scope="module")
def tok(smollm2):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2)


@pytest.fixture(scope="module")
def prompt(tok):
    return build_prompt("What is 317 * 24 + 5?", "chat", tok, system=TIR_SYSTEM)


def _byte_table() -> dict[str, int]:
    """GPT-2's printable-char -> byte table (what byte-level BPE token strings are written in)."""
    bs = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    )
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


TABLE = _byte_table()


def _token_bytes(tok, ids: list[int]) -> list[tuple[int, int]]:
    """Each token's byte range in the text the ids spell (independent of offset_mapping)."""
    pos, out = 0, []
    for piece in tok.convert_ids_to_tokens(ids):
        n = len(bytes(TABLE[ch] for ch in piece))
        out.append((pos, pos + n))
        pos += n
    return out


def _check(tok, prompt: str, completion: str, fmt: str) -> dict:
    """Token-exact: prompt masked, each completion token trained iff none of its bytes is interpreter text,
    EOS trained. Returns the decoded trained/masked text and the tokens that straddle a span edge."""
    enc = encode_example(tok, prompt, completion, solution_format=fmt)
    n_prompt = len(tok(prompt)["input_ids"])
    assert enc.labels[:n_prompt] == [IGNORE] * n_prompt, "every prompt token is masked"
    assert enc.input_ids[-1] == enc.labels[-1] == tok.eos_token_id, "the model learns to end (<|im_end|>)"
    ids, labels = enc.input_ids[n_prompt:-1], enc.labels[n_prompt:-1]
    raw = completion.encode()
    assert tok.convert_tokens_to_string(tok.convert_ids_to_tokens(ids)).encode() == raw
    spans = [
        (len(completion[:a].encode()), len(completion[:b].encode())) for a, b in output_spans(completion, fmt)
    ]
    inside = bytearray(len(raw))
    for a, b in spans:
        inside[a:b] = b"\x01" * (b - a)
    straddling = []
    for i, ((a, b), tid, label) in enumerate(zip(_token_bytes(tok, ids), ids, labels, strict=True)):
        interp = any(inside[a:b])
        assert label == (IGNORE if interp else tid), f"token {i} {tok.convert_ids_to_tokens(tid)!r}"
        if interp and not all(inside[a:b]):
            straddling.append(tok.convert_ids_to_tokens(tid))
    trained = tok.decode([t for t in enc.labels if t != IGNORE], skip_special_tokens=True)
    masked = tok.decode([t for t, lab in zip(ids, labels, strict=True) if lab == IGNORE])
    return {
        "trained": trained,
        "masked": masked,
        "straddling": straddling,
        "spans": output_spans(completion, fmt),
    }


def _without(text: str, spans) -> str:
    ends = [0] + [e for _, e in spans]
    return "".join(text[a:b] for a, b in zip(ends, [s for s, _ in spans] + [len(text)], strict=True))


@pytest.mark.parametrize("name", list(TORA))
def test_tora_masks_exactly_the_interpreter_text(tok, prompt, name):
    completion = TORA[name]
    got = _check(tok, prompt, completion, "tora")
    expected = _without(completion, got["spans"])
    if name == "leading-spaces":
        # "\n" followed by spaces is one pre-token ("ĊĠĠ"): it holds the interpreter's spaces, so it is masked
        # and the "\n" after ```output goes untrained with it. That "\n" is the loop's anyway (generation
        # stops at "```output" and the loop writes the rest), so the stop string itself stays trained.
        assert got["straddling"] == ["ĊĠĠ"]
        expected = expected.replace("```output\n", "```output")
    else:
        # no other token crosses a span edge: "\n" before the output and the closing fence are tokens of
        # their own, so the model-written text is trained in full and the interpreter's text masked in full
        assert got["straddling"] == []
    assert got["trained"] == expected
    masked = "".join(completion[a:b] for a, b in got["spans"])
    assert got["masked"] == ("\n" + masked if got["straddling"] else masked)
    assert got["trained"].count("```output") == completion.count("```output") == len(got["spans"])
    assert got["trained"].count("```python") == completion.count("```python")


@pytest.mark.parametrize("name", list(MARIO))
def test_mario_masks_the_output_line(tok, prompt, name):
    completion = MARIO[name]
    got = _check(tok, prompt, completion, "mario")
    assert got["trained"].count("Output:") == completion.count("Output:")
    assert "</code>" in got["trained"] and got["trained"].rstrip().endswith("</p>")
    if name == "positive":  # a digit is its own token: "Output: " (the stop string) is trained whole
        assert got["straddling"] == [] and got["trained"] == _without(completion, got["spans"])
    else:
        # the pre-tokenizer glues the stop string's space to the output ("Ġ-", "ĠName"): that token holds
        # interpreter text, so it is masked, and only the space of the stop string goes untrained with it.
        # Inference sees the same token (a round's prompt is re-tokenized in full), so the two agree.
        assert len(got["straddling"]) == 1 and got["straddling"][0].startswith("Ġ")
        assert got["trained"] == _without(completion, got["spans"]).replace("Output: ", "Output:")


def test_gsm8k_conversions_in_both_formats(tok, prompt, data_dir):
    """Real code-nested solutions (GSM8K train chains converted LLM-free, sandbox-checked): token-exact in
    ToRA and re-rendered as MARIO."""
    from mathforge.augment import convert_many, load_gsm8k
    from mathforge.sandbox import Sandbox

    problems = load_gsm8k(data_dir / "gsm8k" / "train.jsonl", limit=40)
    with Sandbox(workers=1, light_workers=1) as sandbox:
        solutions = [conv.solution for _, conv in convert_many(problems, sandbox) if conv.ok]
    assert len(solutions) >= 20
    for solution in solutions:
        got = _check(tok, prompt, solution, "tora")
        assert got["straddling"] == [] and got["trained"] == _without(solution, got["spans"])
        mario = render(parse(solution, "tora"), "mario")
        _check(tok, prompt, mario, "mario")  # token-exact; GSM8K outputs are non-negative numbers, mostly


def test_one_lora_step_on_the_real_model(smollm2, tmp_path):
    """One optimizer step of a LoRA stage (PEFT) on SmolLM2 with short chat-format code-nested rows: the
    adapter is saved, only the adapter moved, and the loss is a pretrained model's, not a random one's."""
    from safetensors.torch import load_file

    from mathforge.train import train

    rows = [{"question": q, "solution": s, "mode": "code"} for q, s in (
        ("What is 317 * 24 + 5?", TORA["several-blocks"]),
        ("Compute -7 / 2.", TORA["negative-decimal"]),
    )]  # fmt: skip
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    lora = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"], "merge": False}
    stage = dict(name="code", data=[str(data)], prompt_format="chat", max_steps=1, batch_size=2, max_length=256,
                 lr=1e-3, warmup_ratio=0, lr_scheduler="constant", logging_steps=1, save_steps=0, lora=lora)  # fmt: skip
    [out] = train({"output_dir": str(tmp_path / "run"), "base_model": str(smollm2), "stages": [stage]})
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["global_step"] == 1
    (first,) = summary["loss_curve"]
    # ln(49152) = 10.8 is a model that knows nothing; the pretrained one reads these texts far better
    assert 0.1 < first["loss"] < 5.0, first
    adapter = load_file(out / "adapter" / "adapter_model.safetensors")
    assert adapter and all("lora_" in k and ("q_proj" in k or "v_proj" in k) for k in adapter)
    # LoRA's B starts at zero: after one step at lr 1e-3 it has moved
    assert any(float(v.abs().max()) > 0 for k, v in adapter.items() if "lora_B" in k)
    assert not (out / "model.safetensors").exists()  # merge: false keeps the base untouched on disk
