"""``mathforge init-model``: a tokenizer + randomly initialised Llama, the offline stand-in for a base model."""

from __future__ import annotations

from pathlib import Path

from mathforge.train.config import InitModelConfig

TEXT_FIELDS = ("question", "solution", "prompt", "completion", "text", "problem", "answer")


def read_texts(paths: list[Path], limit: int) -> list[str]:
    from mathforge.io import DataError, read_json_or_jsonl

    texts: list[str] = []
    for path in map(Path, paths):
        if path.suffix == ".txt":
            if not path.exists():
                raise DataError("file not found", path)
            texts.extend(line for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        else:
            for _, row in read_json_or_jsonl(path):
                texts.extend(row[f] for f in TEXT_FIELDS if isinstance(row.get(f), str))
        if len(texts) >= limit:
            break
    return texts[:limit]


def run(cfg: InitModelConfig) -> Path:
    from mathforge.train.init_model import init_model

    texts = read_texts(cfg.data, cfg.max_texts)
    if cfg.data and not texts:
        from mathforge.io import DataError

        raise DataError(
            "no text to train the tokenizer on (no text fields in these files)", cfg.data[0], field="data"
        )
    return init_model(cfg.out, cfg.size, texts=texts, vocab_size=cfg.vocab_size, seed=cfg.seed)


def report(cfg: InitModelConfig, out: Path) -> int:
    print(f"wrote {out}\n{(out / 'init_info.json').read_text()}")
    return 0
