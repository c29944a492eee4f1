"""An outcome value model (OVM, Yu et al. 2023; MARIO's third ingredient): the generator's backbone plus a
scalar head that reads, at every token of a solution, how likely the solution is to end correct.

Training (a ``train`` stage with ``type: ovm`` on :class:`~mathforge.rows.ValueRow` files from ``mathforge
ovm data``): each solution is encoded as for SFT (:func:`mathforge.train.masking.encode_example`: prompt and
interpreter-output tokens are masked), and

    loss = alpha * MSE(value at each scored token, the solution's 0/1 outcome)
           + lm_weight * next-token loss on the correct solutions only

where the scored tokens are every model-written token (``targets: token``, OVM), the last token of each step
and of the solution (``step``), or the last token only (``last``: an outcome reward model). The head is a
linear map of the last hidden state (optionally after a learned gain and bias, and squashed into (0, 1)).

Saved as an ordinary model folder (the merged backbone, loadable as a generator too) plus
``value_head.safetensors`` and ``value_head.json``; :meth:`ValueModel.load` gives back identical scores.
A solution's score is the value at its last scored token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mathforge.train.config import StageConfig, ValueConfig
from mathforge.train.masking import IGNORE, encode_example

HEAD_WEIGHTS = "value_head.safetensors"
HEAD_CONFIG = "value_head.json"


def _torch():
    import torch

    return torch


def build_head(hidden_size: int, cfg: ValueConfig):
    torch = _torch()
    nn = torch.nn

    class ValueHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.affine = cfg.affine
            self.squash = cfg.squash
            if cfg.affine:
                self.gain = nn.Parameter(torch.ones(hidden_size))
                self.bias = nn.Parameter(torch.zeros(hidden_size))
            self.linear = nn.Linear(hidden_size, 1)
            nn.init.zeros_(self.linear.weight)  # start from a constant value: the data's base rate is learned
            nn.init.constant_(self.linear.bias, 0.5 if cfg.squash == "none" else 0.0)

        def forward(self, hidden):
            if self.affine:
                hidden = hidden * self.gain + self.bias
            z = self.linear(hidden.float()).squeeze(-1)
            return (1 + torch.tanh(z)) / 2 if self.squash == "tanh" else z

    return ValueHead()


class ValueModel:
    """A backbone (any causal LM) with a value head. ``values(input_ids, attention_mask)`` -> [B, T] values."""

    def __init__(self, backbone, head, cfg: ValueConfig):
        self.backbone, self.head, self.cfg = backbone, head, cfg

    def outputs(self, input_ids, attention_mask=None, **kwargs):
        """(logits, values): one forward pass of the backbone, the head on its last hidden state."""
        out = self.backbone(
            input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True, **kwargs
        )
        return out.logits, self.head(out.hidden_states[-1])

    def save(self, folder: str | Path, tokenizer=None) -> None:
        from safetensors.torch import save_file

        folder = Path(folder)
        self.backbone.save_pretrained(folder, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(folder)
        state = {k: v.detach().contiguous().cpu() for k, v in self.head.state_dict().items()}
        save_file(state, str(folder / HEAD_WEIGHTS))
        (folder / HEAD_CONFIG).write_text(json.dumps(self.cfg.model_dump(), indent=2) + "\n")

    @classmethod
    def load(cls, folder: str | Path, device: str = "cpu") -> tuple[ValueModel, object]:
        """The value model saved in ``folder`` and its tokenizer."""
        from safetensors.torch import load_file
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from mathforge.io import DataError

        folder = Path(folder)
        if not (folder / HEAD_CONFIG).exists():
            raise DataError(f"not a value model (no {HEAD_CONFIG}): train a stage of type ovm first", folder)
        cfg = ValueConfig(**json.loads((folder / HEAD_CONFIG).read_text()))
        backbone = AutoModelForCausalLM.from_pretrained(folder, dtype=_torch().float32).to(device).eval()
        head = build_head(backbone.config.hidden_size, cfg)
        head.load_state_dict(load_file(str(folder / HEAD_WEIGHTS)))
        return cls(backbone, head.to(device).eval(), cfg), AutoTokenizer.from_pretrained(folder)


# -- data --------------------------------------------------------------------------------------------------
def scored_positions(
    labels: list[int], input_ids: list[int], targets: str, newline_ids: set[int]
) -> list[bool]:
    """Which tokens the value loss reads: model-written (trained) ones, all / at step ends / the last."""
    trained = [lab != IGNORE for lab in labels]
    last = max((i for i, t in enumerate(trained) if t), default=None)
    if targets == "token":
        return trained
    if targets == "last":
        return [i == last for i in range(len(trained))]
    out = []
    for i, t in enumerate(trained):
        next_masked = i + 1 >= len(trained) or not trained[i + 1]
        out.append(t and (input_ids[i] in newline_ids or next_masked or i == last))
    return out


def newline_token_ids(tokenizer) -> set[int]:
    """Ids of tokens whose text ends a line (a step of a solution)."""
    vocab = tokenizer.get_vocab()
    return {i for piece, i in vocab.items() if "\n" in tokenizer.convert_tokens_to_string([piece])}


def encode_value_rows(tokenizer, stage: StageConfig, rows) -> tuple[list[dict], dict]:
    """Encoded rows (input_ids, labels, value_mask, outcome) of :class:`ValueRow` examples, plus counts."""
    from mathforge.train.data import to_examples

    examples = to_examples(rows, stage.prompt_format, tokenizer, stage.system_prompt)
    newlines = newline_token_ids(tokenizer) if stage.value.targets == "step" else set()
    out, dropped = [], 0
    for row, ex in zip(rows, examples, strict=True):
        enc = encode_example(tokenizer, ex.prompt, ex.completion, solution_format=ex.format,
                             mask_outputs=stage.mask_outputs, max_length=stage.max_length)  # fmt: skip
        mask = scored_positions(enc.labels, enc.input_ids, stage.value.targets, newlines)
        if not any(mask):
            dropped += 1
            continue
        out.append({"input_ids": enc.input_ids, "labels": enc.labels, "value_mask": [int(m) for m in mask],
                    "outcome": float(row.correct)})  # fmt: skip
    correct = sum(r["outcome"] for r in out)
    return out, {"samples": len(out), "dropped": dropped, "correct": int(correct), "incorrect": len(out) - int(correct),
                 "trained_tokens_per_epoch": sum(sum(lab != IGNORE for lab in r["labels"]) for r in out),
                 "tokens_per_epoch": sum(len(r["input_ids"]) for r in out)}  # fmt: skip


@dataclass
class ValueCollator:
    pad_id: int

    def __call__(self, features: list[dict]) -> dict:
        torch = _torch()
        width = max(len(f["input_ids"]) for f in features)

        def pad(key, value):
            return torch.tensor([f[key] + [value] * (width - len(f[key])) for f in features])

        ids = pad("input_ids", self.pad_id)
        return {
            "input_ids": ids,
            "attention_mask": torch.tensor(
                [[1] * len(f["input_ids"]) + [0] * (width - len(f["input_ids"])) for f in features]
            ),  # fmt: skip
            "labels": pad("labels", IGNORE),
            "value_mask": pad("value_mask", 0),
            "outcome": torch.tensor([f["outcome"] for f in features], dtype=torch.float32),
        }


def value_loss(values, logits, labels, value_mask, outcome, cfg: ValueConfig):
    """(total, mse, lm) as in the module docstring."""
    torch = _torch()
    mask = value_mask.float()
    mse = (((values - outcome[:, None]) ** 2) * mask).sum() / mask.sum().clamp(min=1)
    lm = torch.zeros((), device=values.device)
    if cfg.lm_weight > 0 and bool((outcome > 0.5).any()):
        keep = outcome > 0.5
        shift_logits = logits[keep, :-1].float()
        shift_labels = labels[keep, 1:]
        lm = torch.nn.functional.cross_entropy(shift_logits.reshape(-1, shift_logits.shape[-1]),
                                               shift_labels.reshape(-1), ignore_index=IGNORE)  # fmt: skip
    return cfg.alpha * mse + cfg.lm_weight * lm, mse, lm


def build_value_trainer(stage: StageConfig, model_path, out_dir: Path, callbacks: list | None = None):
    """A transformers ``Trainer`` whose model is backbone + value head and whose loss is :func:`value_loss`."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer

    from mathforge.rows import ValueRow
    from mathforge.train.data import load_rows
    from mathforge.train.stages import sft_config

    torch = _torch()
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    rows = load_rows(stage.data, stage.limit, stage.solution_format, stage.name, row_type=ValueRow)
    encoded, stats = encode_value_rows(tokenizer, stage, rows)
    backbone = AutoModelForCausalLM.from_pretrained(model_path, dtype="auto")
    if stage.lora is not None:
        from peft import LoraConfig, get_peft_model

        backbone = get_peft_model(backbone, LoraConfig(r=stage.lora.r, lora_alpha=stage.lora.alpha,
                                                       lora_dropout=stage.lora.dropout,
                                                       target_modules=stage.lora.target_modules,
                                                       task_type="CAUSAL_LM"))  # fmt: skip
    head = build_head(backbone.config.hidden_size, stage.value)

    class Wrapped(torch.nn.Module):  # one module for the Trainer: backbone and head optimised together
        def __init__(self):
            super().__init__()
            self.backbone, self.head = backbone, head
            self.config = backbone.config

        def forward(self, input_ids, attention_mask, labels, value_mask, outcome):
            out = self.backbone(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            values = self.head(out.hidden_states[-1])
            loss, mse, lm = value_loss(values, out.logits, labels, value_mask, outcome, stage.value)
            return {"loss": loss, "values": values, "mse": mse.detach(), "lm": lm.detach()}

    args = sft_config(stage, out_dir)
    args.remove_unused_columns = False  # value_mask and outcome must reach the collator
    model = Wrapped()
    trainer = Trainer(model=model, args=args, train_dataset=Dataset.from_list(encoded),
                      data_collator=ValueCollator(tokenizer.pad_token_id), callbacks=callbacks)  # fmt: skip
    trainer.value_parts = (backbone, head)
    return trainer, tokenizer, stats


def save_value_model(trainer, tokenizer, stage: StageConfig, out_dir: Path) -> None:
    backbone, head = trainer.value_parts
    if not trainer.is_world_process_zero():
        return
    if stage.lora is not None:
        backbone = backbone.merge_and_unload()
    ValueModel(backbone, head, stage.value).save(out_dir, tokenizer)


# -- scoring -------------------------------------------------------------------------------------------------
def score_solutions(model: ValueModel, tokenizer, items: list[tuple[str, str, str]], batch_size: int = 8,
                    mask_outputs: bool = True) -> list[dict]:  # fmt: skip
    """``items``: (prompt, solution, format). For each: ``score`` (the value at the last model-written token)
    and ``values`` (one per model-written token, in order). One forward pass per batch."""
    torch = _torch()
    out: list[dict] = []
    encoded = [
        encode_example(tokenizer, p, s, solution_format=f, mask_outputs=mask_outputs) for p, s, f in items
    ]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    with torch.inference_mode():
        for i in range(0, len(encoded), batch_size):
            chunk = encoded[i : i + batch_size]
            batch = ValueCollator(pad)([{"input_ids": e.input_ids, "labels": e.labels, "value_mask": [0],
                                         "outcome": 0.0} for e in chunk])  # fmt: skip
            device = next(model.backbone.parameters()).device
            _, values = model.outputs(batch["input_ids"].to(device), batch["attention_mask"].to(device))
            for j, e in enumerate(chunk):
                trained = [k for k, lab in enumerate(e.labels) if lab != IGNORE]
                row = values[j, trained].float().cpu().tolist()
                out.append({"score": row[-1] if row else float("nan"), "values": row})
    return out
