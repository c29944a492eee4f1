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


MARIO = "<p>\nCompute.\n</p>\n<code>\nprint(2 + 3)\n</code>\nOutput: 5\n<p>\nSo \\boxed{5}.\n</p>"


def _stage_rows(tmp_path, rows):
    import json

    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _trained_text(tokenizer, row: dict) -> str:
    return tokenizer.decode([t for t in row["labels"] if t != IGNORE], skip_special_tokens=True)


@pytest.mark.parametrize("declared", [None, "mario"])
def test_a_mario_row_is_masked_by_its_own_format_in_a_default_stage(tokenizer, tmp_path, declared):
    """The row's format travels into masking: a MARIO row among ToRA rows in a default (auto) stage has its
    Output: line masked, and the ToRA row its ```output block, whatever the row says or leaves out."""
    from mathforge.train import StageConfig, encode_dataset

    mario = {"question": "what?", "solution": MARIO} | ({"format": declared} if declared else {})
    path = _stage_rows(tmp_path, [{"question": "what?", "solution": SEVERAL_BLOCKS}, mario])
    rows, stats = encode_dataset(tokenizer, StageConfig(data=[str(path)], max_length=512))
    tora_text, mario_text = (_trained_text(tokenizer, r) for r in rows)
    assert "7608\n```" not in tora_text and "```output\n" in tora_text
    assert (
        "Output: " in mario_text
        and "5\n<p>" not in mario_text
        and mario_text.endswith("So \\boxed{5}.\n</p>")
    )
    assert stats["by_format"] == {"tora": 1, "mario": 1} and stats["by_mode"] == {"code": 2}


def test_a_row_that_disagrees_with_its_stage_is_an_error_naming_file_line_and_field(tokenizer, tmp_path):
    from mathforge.io import DataError
    from mathforge.train import StageConfig, encode_dataset

    path = _stage_rows(
        tmp_path, [{"question": "q", "solution": SEVERAL_BLOCKS}, {"question": "q", "solution": MARIO}]
    )
    with pytest.raises(DataError, match="declares solution_format 'tora'") as err:
        encode_dataset(tokenizer, StageConfig(name="code", data=[str(path)], solution_format="tora"))
    assert (err.value.path, err.value.line, err.value.field) == (str(path), 2, "format")
    # a row whose declared format its own text contradicts is refused too (it would train on its output)
    path = _stage_rows(tmp_path, [{"question": "q", "solution": MARIO, "format": "tora"}])
    with pytest.raises(DataError, match="MARIO's tags") as err:
        encode_dataset(tokenizer, StageConfig(data=[str(path)]))
    assert (err.value.line, err.value.field) == (1, "format")
