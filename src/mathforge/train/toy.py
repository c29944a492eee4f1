"""A toy tool-integrated model for tests and benchmarks: a tiny Llama overfit on ~30 ToRA-format solutions.

Each example is a simple arithmetic question answered by one program, its output and a boxed answer::

    Question: What is 317 * 24 + 5?
    Answer:
    Let's compute it.
    ```python
    print(317 * 24 + 5)
    ```
    ```output
    7613
    ```
    The answer is \\boxed{7613}.

:func:`build_toy_tir_model` trains until a check passes, not for a fixed number of steps: floating-point
training results differ across CPUs, so a fixed budget that overfits on one machine can leave a problem
unsolved on another. After each round the model answers every training prompt greedily (in one batch,
as the tests and benchmarks run it, with the program executed); training goes on, round by round, until all
of them are solved or ``MAX_ROUNDS`` is reached, and the count is recorded in ``toy_check.json``. Tests that
assert on the model's answers read that record and still leave a margin (a different batch shape can flip
a near-tie in the last float bits).

The model is cached per configuration by :func:`cached_toy_tir_model` (a file lock makes parallel test
workers build it once).
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path

from mathforge.solution import Code, Output, Text, build_prompt, render

TOY_VERSION = 2  # bump when the examples or the training change: invalidates cached models
MAX_ROUNDS = 4  # training rounds of TOY_STAGE["max_steps"] each, at most, until every example is solved

# small enough to overfit in well under a minute on a busy 2-core CPU, large enough to copy digits reliably
TOY_MODEL = dict(
    hidden_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=4,
    intermediate_size=384,
    max_position_embeddings=256,
)
TOY_STAGE = dict(
    name="tir",
    prompt_format="plain",
    solution_format="tora",
    max_steps=100,
    lr=5e-3,
    lr_scheduler="cosine",
    warmup_ratio=0.05,
    batch_size=30,
    max_length=256,
    packing=False,
    save_steps=0,
    logging_steps=25,
    seed=0,
)


# the same task on a ~10M-parameter model (20x the toy): its tokens cost about what a CPU spends on a real
# model's per token relative to the sandbox, so benchmarks can show the loop's overhead at a realistic ratio
SIZES = {
    "toy": ({}, {}),
    "small": (
        dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=6, num_key_value_heads=6,
             intermediate_size=1024),
        dict(lr=2e-3, max_steps=150),
    ),
}  # fmt: skip


def toy_tir_examples(n: int = 30, seed: int = 0) -> list[dict]:
    """``n`` distinct questions ``a * b + c`` with ToRA-format solutions: rows with question, solution,
    answer, and the rendered prompt/completion (prompt format ``plain``)."""
    rng = random.Random(seed)
    rows, seen = [], set()
    while len(rows) < n:
        a, b, c = rng.randint(100, 999), rng.randint(10, 99), rng.randint(1, 99)
        if (a, b, c) in seen:
            continue
        seen.add((a, b, c))
        expr, value = f"{a} * {b} + {c}", a * b + c
        question = f"What is {expr}?"
        solution = render(
            [
                Text("Let's compute it."),
                Code(f"print({expr})"),
                Output(str(value)),
                Text(f"The answer is \\boxed{{{value}}}."),
            ],
            "tora",
        )
        rows.append(
            {
                "id": f"toy-{len(rows)}",
                "question": question,
                "solution": solution,
                "answer": str(value),
                "prompt": build_prompt(question, "plain"),
                "completion": solution,
            }
        )
    return rows


def build_toy_tir_model(
    out_dir: str | Path, n: int = 30, seed: int = 0, model: dict | None = None, **stage_overrides
) -> Path:
    """Init a tiny model on the toy texts and overfit it on the toy examples; returns the model folder.

    ``model`` overrides the architecture (``TOY_MODEL``), ``stage_overrides`` the training stage."""
    import torch

    from mathforge.train.init_model import init_model
    from mathforge.train.stages import train

    out_dir = Path(out_dir)
    rows = toy_tir_examples(n, seed)
    work = out_dir / "_work"
    work.mkdir(parents=True, exist_ok=True)
    data = work / "toy.jsonl"
    data.write_text(
        "".join(json.dumps({"prompt": r["prompt"], "completion": r["completion"]}) + "\n" for r in rows)
    )
    base = init_model(
        work / "base",
        "tiny",
        texts=[r["prompt"] + r["completion"] for r in rows],
        vocab_size=320,
        seed=seed,
        **{**TOY_MODEL, **(model or {})},
    )
    stage = {**TOY_STAGE, **stage_overrides, "data": [str(data)]}
    # one thread: on a shared, busy CPU two threads per process spin against each other (~5x slower measured)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start, rounds = str(base), []
        for k in range(MAX_ROUNDS):  # later rounds continue from the last one, at a lower learning rate
            later = {"name": f"round-{k}", "lr": stage["lr"] / 2, "warmup_ratio": 0.0} if k else {}
            [trained] = train({"output_dir": str(work / "run"), "base_model": start,
                               "stages": [{**stage, **later, "name": f"round-{k}"}]})  # fmt: skip
            start = str(trained)
            rounds.append(solved_count(trained, rows))
            if rounds[-1] == len(rows):
                break
    finally:
        torch.set_num_threads(threads)
    for item in trained.iterdir():  # the final checkpoint becomes out_dir itself
        if item.is_file():
            shutil.copy2(item, out_dir / item.name)
    (out_dir / "toy_examples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    check = {"solved": rounds[-1], "of": len(rows), "solved_after_each_round": rounds,
             "steps_per_round": stage["max_steps"]}  # fmt: skip
    (out_dir / "toy_check.json").write_text(json.dumps(check))
    shutil.rmtree(work, ignore_errors=True)
    return out_dir


def solved_count(model_dir: str | Path, rows: list[dict]) -> int:
    """How many examples the model solves: greedy, all in one batch, its program run, the boxed answer right."""
    from mathforge.infer import run_tir
    from mathforge.llm import GenParams, HFBackend
    from mathforge.sandbox import Sandbox

    problems = [_Toy(r["id"], r["question"]) for r in rows]
    answers = {r["id"]: r["answer"] for r in rows}
    backend = HFBackend(model_dir, device="cpu", batch_size=len(rows))
    with Sandbox(workers=1, light_workers=0) as sandbox:
        trajs = run_tir(backend, problems, params=GenParams(max_tokens=96), max_rounds=2, sandbox=sandbox)
    return sum(t.answer == answers[t.problem_id] for t in trajs)


class _Toy:
    def __init__(self, id: str, question: str):
        self.id, self.question = id, question


def toy_check(model_dir: str | Path) -> dict:
    """What :func:`build_toy_tir_model` measured: ``{"solved": k, "of": n, ...}``."""
    return json.loads((Path(model_dir) / "toy_check.json").read_text())


def toy_cache_key(n: int = 30, seed: int = 0, size: str = "toy") -> str:
    import tokenizers
    import torch
    import transformers
    import trl

    spec = {
        "v": TOY_VERSION,
        "n": n,
        "seed": seed,
        "model": {**TOY_MODEL, **SIZES[size][0]},
        "stage": {**TOY_STAGE, **SIZES[size][1]},
        "libs": [torch.__version__, transformers.__version__, trl.__version__, tokenizers.__version__],
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def cached_toy_tir_model(cache_root: str | Path, n: int = 30, seed: int = 0, size: str = "toy") -> Path:
    """The toy model under ``cache_root/<hash>/``, built once (file-locked across processes) and reused.

    ``size``: a key of ``SIZES`` ("small" takes about 4 minutes to train on one core)."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
    from filelock import FileLock

    root = Path(cache_root)
    root.mkdir(parents=True, exist_ok=True)
    key = toy_cache_key(n, seed, size)
    final = root / key
    with FileLock(str(root / f"{key}.lock")):
        if (final / "model.safetensors").exists() and (final / "toy_examples.jsonl").exists():
            return final
        tmp = root / f"{key}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        build_toy_tir_model(tmp, n, seed, model=SIZES[size][0], **SIZES[size][1])
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)  # atomic: a reader never sees a half-written model
    return final


def write_toy_recipe_inputs(out_dir: str | Path, n: int = 200, seed: int = 0) -> Path:
    """Data and base model for ``recipes/tiny-two-stage.yaml``: ``cot.jsonl`` (question + CoT solution),
    ``code.jsonl`` (question + ToRA solution) and ``base/`` (tiny random Llama)."""
    from mathforge.train.init_model import init_model

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = toy_tir_examples(n, seed)
    cot = []
    for r in rows:
        a, rest = r["question"].removeprefix("What is ").removesuffix("?").split(" * ")
        b, c = rest.split(" + ")
        product = int(a) * int(b)
        cot.append(
            {
                "question": r["question"],
                "solution": f"{a} * {b} = {product}. {product} + {c} = {r['answer']}. "
                f"The answer is \\boxed{{{r['answer']}}}.",
            }
        )
    (out / "cot.jsonl").write_text("".join(json.dumps(r) + "\n" for r in cot))
    (out / "code.jsonl").write_text(
        "".join(json.dumps({"question": r["question"], "solution": r["solution"]}) + "\n" for r in rows)
    )
    texts = [r["prompt"] + r["completion"] for r in rows] + [c["solution"] for c in cot]
    init_model(out / "base", "tiny", texts=texts, vocab_size=512, seed=seed)
    return out


if __name__ == "__main__":
    import sys

    print(write_toy_recipe_inputs(sys.argv[1] if len(sys.argv) > 1 else "runs/tiny"))
