"""Round trips of the code-nested solution formats, output spans and prompt templates."""

from __future__ import annotations

import pytest

from mathforge.solution import (
    Code,
    Output,
    Text,
    build_prompt,
    get_format,
    output_spans,
    parse,
    render,
)
from mathforge.solution.format import last_code

TORA_CANONICAL = [
    "Some reasoning.\n```python\nprint(48 / 2)\n```\n```output\n24.0\n```\nSo the answer is \\boxed{24}.",
    # two rounds, a multi-line program and a multi-line output, text with inline `code`
    "Let `x` be the count.\n```python\nx = 3\nfor i in range(2):\n    print(x * i)\n```\n```output\n0\n3\n```\n"
    "Now square it.\n```python\nprint(3**2)\n```\n```output\n9\n```\nThe answer is $\\boxed{9}$.",
    # an error traceback as output, then a corrected program
    "```python\nprint(1/0)\n```\n```output\nZeroDivisionError: division by zero\n```\nFix:\n"
    "```python\nprint(1/1)\n```\n```output\n1.0\n```\n\\boxed{1}",
    # an empty output block (a program that printed nothing)
    "```python\nx = 1\n```\n```output\n\n```\nNothing printed; \\boxed{1}",
]

MARIO_CANONICAL = [
    "<p>\nSome reasoning.\n</p>\n<code>\nprint(48 / 2)\n</code>\nOutput: 24.0\n<p>\nSo \\boxed{24}.\n</p>",
    "<code>\nfor i in range(2):\n    print(i)\n</code>\nOutput: 0\\n1\n<p>\nDone: $\\boxed{1}$\n</p>",
]

SEGMENTS = [
    [Text("Reason."), Code("print(1+1)"), Output("2"), Text("Thus \\boxed{2}.")],
    [Code("a = 2\nprint(a)"), Output("2\n"[:-1]), Code("print(a * 5)"), Output("10"), Text("\\boxed{10}")],
    [Text("Only words, \\boxed{3}.")],
    [
        Text("Step one."),
        Code("for i in range(3):\n    print(i)"),
        Output("0\n1\n2"),
        Text("The end \\boxed{2}"),
    ],
]


@pytest.mark.parametrize("text", TORA_CANONICAL)
def test_tora_text_round_trip(text):
    assert render(parse(text, "tora"), "tora") == text


@pytest.mark.parametrize("text", MARIO_CANONICAL)
def test_mario_text_round_trip(text):
    assert render(parse(text, "mario"), "mario") == text


@pytest.mark.parametrize("fmt", ["tora", "mario"])
@pytest.mark.parametrize("segs", SEGMENTS)
def test_segments_round_trip(segs, fmt):
    assert parse(render(segs, fmt), fmt) == segs


def test_parse_tora_segment_kinds():
    segs = parse(TORA_CANONICAL[1])
    assert [type(s).__name__ for s in segs] == ["Text", "Code", "Output", "Text", "Code", "Output", "Text"]
    assert segs[1] == Code("x = 3\nfor i in range(2):\n    print(x * i)")
    assert segs[2] == Output("0\n3")


def test_unterminated_code_block_stays_text():
    text = "Try:\n```python\nprint(1)\n"  # generation cut mid-block
    segs = parse(text)
    assert all(isinstance(s, Text) for s in segs)
    assert last_code(text) is None


def test_last_code_only_when_text_ends_in_code():
    assert last_code("Go.\n```python\nprint(2)\n```\n") == "print(2)"
    assert last_code("Go.\n```python\nprint(2)\n```") == "print(2)"  # EOS right after the fence
    assert last_code("```python\nprint(2)\n```\n```output\n2\n```\n") is None
    assert last_code("<code>\nprint(5)\n</code>\n", "mario") == "print(5)"


@pytest.mark.parametrize("text", TORA_CANONICAL)
def test_tora_output_spans_cover_exactly_the_interpreter_text(text):
    outputs = [s.output for s in parse(text) if isinstance(s, Output)]
    spans = output_spans(text, "tora")
    assert len(spans) == len(outputs)
    for (a, b), out in zip(spans, outputs, strict=True):
        # the opening fence (the stop string) is the model's; content + closing fence are the interpreter's
        assert text[:a].endswith("```output\n")
        assert text[a:b] in (out + "\n```\n", out + "\n```", "\n```\n")
    # everything outside the spans is what the model wrote: it still holds all the code
    model_text = "".join(
        text[b:a] for (_, b), (a, _) in zip([(0, 0), *spans], [*spans, (len(text), 0)], strict=True)
    )
    for seg in parse(text):
        if isinstance(seg, Code):
            assert seg.code in model_text
        if isinstance(seg, Output):
            assert f"```output\n{seg.output}\n```" not in model_text


def test_mario_output_spans():
    text = MARIO_CANONICAL[1]
    ((a, b),) = output_spans(text, "mario")
    assert text[:a].endswith("Output: ")
    assert text[a:b] == "0\\n1\n"


def test_stop_strings():
    assert get_format("tora").stop == "```output"
    assert get_format("mario").stop == "Output: "
    with pytest.raises(ValueError, match="unknown solution format"):
        get_format("nope")


def test_plain_and_tora_prompts():
    assert build_prompt("  What is 2+2? ", "plain") == "Question: What is 2+2?\nAnswer:\n"
    assert build_prompt("What is 2+2?", "tora") == "<|user|>\nWhat is 2+2?\n<|assistant|>\n"
    with pytest.raises(ValueError, match="unknown prompt format"):
        build_prompt("q", "nope")


def _chat_tokenizer(template: str | None):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.WordLevel({"[UNK]": 0, "hi": 1}, unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]")
    tok.chat_template = template
    return tok


def test_chat_prompt_uses_the_tokenizers_template():
    template = (
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}</{{ m['role'] }}>{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    tok = _chat_tokenizer(template)
    assert build_prompt("2+2?", "chat", tokenizer=tok) == "<user>2+2?</user><assistant>"
    assert build_prompt("2+2?", "chat", tokenizer=tok, system="Be brief.") == (
        "<system>Be brief.</system><user>2+2?</user><assistant>"
    )


def test_chat_prompt_without_template_is_an_error():
    with pytest.raises(ValueError, match="chat template"):
        build_prompt("q", "chat", tokenizer=_chat_tokenizer(None))
    with pytest.raises(ValueError, match="chat template"):
        build_prompt("q", "chat")
