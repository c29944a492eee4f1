"""Loss masking, checked token by token against an independent byte-level derivation."""

from __future__ import annotations

import pytest

from mathforge.solution import output_spans
from mathforge.train import IGNORE, build_tokenizer, encode_example

SEVERAL_BLOCKS = (
    "First the product.\n```python\nprint(317 * 24)\n```\n```output\n7608\n```\n"
    "Then the sum.\n```python\nprint(7608 + 5)\n```\n```output\n7613\n```\nThe answer is \\boxed{7613}."
)
BACKTICKS = (
    "Show the markdown.\n```python\nprint('``x`` and ```not a fence')\n```\n"
    "```output\n``x`` and ```not a fence\n```\nDone: `x`."
)
UNICODE = (
    "Ángulo π/6 → sin = ½ 😀.\n```python\nprint('½ ≈ 0.5 ✓ 数学')\n```\n```output\n½ ≈ 0.5 ✓ 数学\n```\n"
    "Résultat: \\boxed{\\frac{1}{2}} — fin."
)
EMPTY_OUTPUT = "Nothing printed.\n```python\nx = 1\n```\n```output\n\n```\nSo x is \\boxed{1}."
CASES = [SEVERAL_BLOCKS, BACKTICKS, UNICODE, EMPTY_OUTPUT]


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer(CASES * 3 + ["Question: what?\nAnswer:\n"], vocab_size=400)


def _bytes_to_unicode() -> dict[str, int]:
    """GPT-2's byte <-> printable-char table (what byte-level BPE token strings are written in)."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


def _expected_trained(tokenizer, completion: str, token_ids: list[int]) -> list[bool]:
    """Independent of offset_mapping: walk each token's bytes through the UTF-8 encoding of the completion
    and mark the token trained iff none of its bytes falls inside an output span."""
    table = _bytes_to_unicode()
    raw = completion.encode("utf-8")
    masked_bytes = bytearray(len(raw))
    for start, end in output_spans(completion, "tora"):
        b0, b1 = len(completion[:start].encode()), len(completion[:end].encode())
        masked_bytes[b0:b1] = b"\x01" * (b1 - b0)
    pos, out = 0, []
    for tok in tokenizer.convert_ids_to_tokens(token_ids):
        piece = bytes(table[ch] for ch in tok)
        assert raw[pos : pos + len(piece)] == piece, "tokens must spell the completion's bytes in order"
        out.append(not any(masked_bytes[pos : pos + len(piece)]))
        pos += len(piece)
    assert pos == len(raw)
    return out


@pytest.mark.parametrize("completion", CASES, ids=["several-blocks", "backticks", "unicode", "empty-output"])
def test_labels_token_by_token(tokenizer, completion):
    prompt = "Question: what?\nAnswer:\n"
    enc = encode_example(tokenizer, prompt, completion)
    n_prompt = len(tokenizer(prompt)["input_ids"])
    assert enc.input_ids[0] == tokenizer.bos_token_id
    assert enc.labels[:n_prompt] == [IGNORE] * n_prompt  # the whole prompt, <s> included
    assert enc.input_ids[-1] == enc.labels[-1] == tokenizer.eos_token_id  # the model learns to stop
    body_ids, body_labels = enc.input_ids[n_prompt:-1], enc.labels[n_prompt:-1]
    expected = _expected_trained(tokenizer, completion, body_ids)
    for i, (tid, label, keep) in enumerate(zip(body_ids, body_labels, expected, strict=True)):
        assert label == (tid if keep else IGNORE), f"token {i} {tokenizer.convert_ids_to_tokens(tid)!r}"


@pytest.mark.parametrize("completion", CASES, ids=["several-blocks", "backticks", "unicode", "empty-output"])
def test_trained_text_keeps_fences_and_drops_outputs(tokenizer, completion):
    prompt = "Question: what?\nAnswer:\n"
    enc = encode_example(tokenizer, prompt, completion)
    trained = tokenizer.decode([t for t in enc.labels if t != IGNORE], skip_special_tokens=True)
    spans = output_spans(completion, "tora")
    without_outputs = "".join(
        completion[a:b]
        for a, b in zip([0] + [e for _, e in spans], [s for s, _ in spans] + [len(completion)], strict=True)
    )
    # every opening ```output fence is trained (it is the stop string); no output text is
    assert trained.count("```output") == completion.count("```output") == len(spans)
    assert trained == without_outputs


def test_several_blocks_masks_exactly_the_interpreter_text(tokenizer):
    enc = encode_example(tokenizer, "Q\n", SEVERAL_BLOCKS)
    masked_completion = [t for t, lab in zip(enc.input_ids, enc.labels, strict=True) if lab == IGNORE]
    text = tokenizer.decode(masked_completion[len(tokenizer("Q\n")["input_ids"]) :])
    assert text == "7608\n```\n7613\n```\n"


def test_mask_outputs_off_trains_everything_but_the_prompt(tokenizer):
    enc = encode_example(tokenizer, "Q\n", SEVERAL_BLOCKS, mask_outputs=False)
    n_prompt = len(tokenizer("Q\n")["input_ids"])
    assert all(lab != IGNORE for lab in enc.labels[n_prompt:])


def test_mario_format_masks_output_lines(tokenizer):
    completion = "<p>\nCompute.\n</p>\n<code>\nprint(2 + 3)\n</code>\nOutput: 5\n<p>\nSo \\boxed{5}.\n</p>"
    enc = encode_example(tokenizer, "Q\n", completion, solution_format="mario")
    trained = tokenizer.decode([t for t in enc.labels if t != IGNORE], skip_special_tokens=True)
    assert "Output: " in trained and "5\n<p>" not in trained and trained.endswith("So \\boxed{5}.\n</p>")


def test_truncation_keeps_the_start_and_flags_it(tokenizer):
    full = encode_example(tokenizer, "Question: what?\nAnswer:\n", SEVERAL_BLOCKS)
    cut = encode_example(tokenizer, "Question: what?\nAnswer:\n", SEVERAL_BLOCKS, max_length=20)
    assert cut.truncated and not full.truncated
    assert cut.input_ids == full.input_ids[:20] and cut.labels == full.labels[:20]


def test_digits_are_single_tokens(tokenizer):
    ids = tokenizer("print(31724)", add_special_tokens=False)["input_ids"]
    pieces = tokenizer.convert_ids_to_tokens(ids)
    assert pieces[-6:] == ["3", "1", "7", "2", "4", ")"]
