"""Dedup keys, majority vote, decontamination and the filter pipeline (no model needed)."""

from __future__ import annotations

from mathforge.rows import QuestionRow
from mathforge.synthesize.filters import NgramIndex, code_key, cot_key, dedup, majority
from mathforge.synthesize.synth import filter_samples


def _same(pairs):
    return [float(a) == float(b) for a, b in pairs]


class FakeGrader:
    def equiv_many(self, pairs):
        return _same(pairs)


def test_cot_key_is_the_equation_list():
    a = "She has 3 * 4 = 12 apples, then 12 + 5 = 17. \\boxed{17}"
    b = "First, 3*4=12. Adding the 5 she found gives 12+5 = 17 apples. The answer is \\boxed{17}."
    c = "She has 4 * 3 = 12 apples, then 12 + 5 = 17. \\boxed{17}"
    assert cot_key(a) == cot_key(b) == ("3*4=12", "12+5=17")
    assert cot_key(a) != cot_key(c)


def test_code_key_ignores_names_comments_and_layout():
    a = "```python\napples = 3 * 4  # per box\nprint(apples + 5)\n```\n```output\n17\n```"
    b = "Let me compute.\n```python\nx = 3*4\n\nprint(x+5)\n```\n```output\n17\n```\nSo 17."
    c = "```python\nx = 3 * 4\nprint(x - 5)\n```"
    assert code_key(a) == code_key(b) != code_key(c)
    f1 = '```python\ndef solve():\n    """doc"""\n    total = 2 + 2\n    return total\nprint(solve())\n```'
    f2 = "```python\ndef answer():\n    t = 2 + 2\n    return t\nprint(answer())\n```"
    assert code_key(f1) == code_key(f2)


def test_dedup_keeps_first_and_counts():
    kept, removed = dedup([{"k": 1, "i": 0}, {"k": 2, "i": 1}, {"k": 1, "i": 2}], key=lambda r: r["k"])
    assert [r["i"] for r in kept] == [0, 1] and removed == 1


def test_majority_needs_min_agreement():
    best, classes = majority(["4", "4.0", "5", None], _same, 0.5)
    assert best == classes[0] and classes[1] == classes[0] and classes[3] == -1
    assert majority(["4", "5", "6", "4"], _same, 0.6)[0] is None


def test_ngram_decontamination():
    test_q = (
        "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins."
    )
    index = NgramIndex([test_q, "What is 2+2?"], n=13)
    assert index.contaminated("Here is a problem. " + test_q.upper())
    assert not index.contaminated(
        "Janet's ducks lay 16 eggs per day. How many eggs in a week if she sells them?"
    )
    assert index.contaminated("what is 2 + 2")  # shorter than n words: exact match after normalisation
    assert not index.contaminated("What is 3+3?")


def test_filter_pipeline_counts_each_filter():
    qs = [
        QuestionRow(id="q1", question="Known: 3 boxes of 4 apples plus 5. How many?", gold="17"),
        QuestionRow(
            id="q2",
            question="New question with no label: 2 + 2 apples?",
            source_id="src",
            method="mm_numbers",
            answer_source="new",
        ),  # fmt: skip
        QuestionRow(
            id="q3",
            question="Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes.",
            gold="9",
        ),
        QuestionRow(id="q4", question="New question where nobody agrees: 1 + 1?", answer_source="new"),
    ]
    eq = "3 * 4 = 12, 12 + 5 = 17 \\boxed{17}"
    code = "```python\nprint(3*4+5)\n```\n```output\n17\n```\n\\boxed{17}"
    samples = [
        {"qid": "q1", "mode": "cot", "sample": 0, "text": eq, "answer": "17"},
        {"qid": "q1", "mode": "cot", "sample": 1, "text": eq, "answer": "17"},  # duplicate of 0
        {"qid": "q1", "mode": "cot", "sample": 2, "text": "3 * 4 = 11 \\boxed{16}", "answer": "16"},  # wrong
        {"qid": "q1", "mode": "code", "sample": 0, "text": code, "answer": "17", "self_debug": True},
        {"qid": "q1", "mode": "code", "sample": 1, "text": "no answer", "answer": None},
        {"qid": "q2", "mode": "cot", "sample": 0, "text": "2 + 2 = 4", "answer": "4"},
        {"qid": "q2", "mode": "cot", "sample": 1, "text": "2 * 2 = 4", "answer": "4"},
        {"qid": "q2", "mode": "code", "sample": 0, "text": "2 + 3 = 5", "answer": "5"},
        {"qid": "q3", "mode": "cot", "sample": 0, "text": "16 - 3 - 4 = 9", "answer": "9"},
        {"qid": "q4", "mode": "cot", "sample": 0, "text": "1 + 1 = 2", "answer": "2"},
        {"qid": "q4", "mode": "cot", "sample": 1, "text": "1 + 1 = 3", "answer": "3"},
        {"qid": "q4", "mode": "cot", "sample": 2, "text": "1 + 1 = 1", "answer": "1"},
    ]
    index = NgramIndex(
        ["Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes."]
    )
    kept, removed = filter_samples(qs, samples, FakeGrader(), 0.6, index)
    assert removed == {"no_answer": 1, "wrong": 2, "duplicate": 1, "contaminated": 1, "no_majority": 3}
    assert sorted(r.id for r in kept) == ["q1/code/0", "q1/cot/0", "q2/cot/0", "q2/cot/1"]
    q2 = [r for r in kept if r.qid == "q2"]
    assert all(r.gold == "4" and r.gold_from == "majority_vote" and r.method == "mm_numbers" for r in q2)
    code = next(r for r in kept if r.id == "q1/code/0")
    assert code.self_debug is True and (code.mode, code.format) == ("code", "tora")  # typed rows for training
    assert next(r for r in kept if r.id == "q1/cot/0").mode == "cot"


def test_test_set_index_over_the_data_folder(data_dir):
    from mathforge.data import load_problems
    from mathforge.synthesize.filters import test_set_index

    index, counts = test_set_index(data_dir)
    assert (
        counts["gsm8k"] == 1319 and counts["math"] == 5000 and set(counts) >= {"svamp", "asdiv", "gsm_hard"}
    )
    test = load_problems("gsm8k", split="test", data_dir=data_dir)
    assert all(index.contaminated(p.question) for p in test)
    train = load_problems("gsm8k", split="train", data_dir=data_dir)
    flagged = sum(index.contaminated(p.question) for p in train)
    assert 0 < flagged < 0.01 * len(train)  # measured: 9 of 7473 share a 13-gram with a test question
