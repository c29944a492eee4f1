"""Run a training recipe: one TRL ``SFTTrainer`` pass per stage, each starting from the previous stage.

Layout of ``output_dir``::

    <stage>/                  final HF checkpoint of the stage (safetensors + tokenizer) + train_summary.json
    <stage>/checkpoint-N/     intermediate Trainer checkpoints (a re-run resumes from the last one)
    <stage>/adapter/          LoRA stages only: the PEFT adapter (the stage folder holds the merged model)

A stage whose ``train_summary.json`` exists is finished and skipped on re-run; a stage with checkpoints
but no summary resumes from its last checkpoint (optimizer, scheduler, data order and step restored).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from pathlib import Path

from mathforge.io import DataError
from mathforge.train.attention import register_packed_sdpa
from mathforge.train.config import StageConfig, TrainConfig, load_recipe
from mathforge.train.data import load_rows, to_examples
from mathforge.train.masking import IGNORE, encode_example

log = logging.getLogger("mathforge.train")

SUMMARY = "train_summary.json"


def run(cfg: TrainConfig) -> list[Path] | list[dict]:
    """``mathforge train``: every stage (one checkpoint folder each), or with ``dry_run`` the plan only."""
    return plan(cfg) if cfg.dry_run else train(cfg)


def report(cfg: TrainConfig, result) -> int:
    if cfg.dry_run:
        for p in result:
            print(f"stage {p['stage']}: {p['from']} -> {p['to']}  rows={p['rows']} (cot {p['cot']}, code "
                  f"{p['code']}; formats {p['formats']}) epochs={p['epochs']} max_steps={p['max_steps']} "
                  f"lr={p['lr']} packing={p['packing']} lora={p['lora']}")  # fmt: skip
    else:
        for path in result:
            print(path)
    return 0


def plan(cfg: TrainConfig) -> list[dict]:
    """Validate every stage's rows (without a tokenizer: nothing is downloaded) and say what would run."""
    source, out = cfg.base_model, []
    from mathforge.rows import SolutionRow, ValueRow

    for stage in cfg.resolved_stages():
        row_type = ValueRow if stage.type == "ovm" else SolutionRow
        rows = load_rows(stage.data, stage.limit, stage.solution_format, stage.name, row_type=row_type)
        modes = Counter(r.mode for r in rows)
        out.append({
            "stage": stage.name, "from": source, "to": str(Path(cfg.output_dir) / stage.name), "rows": len(rows),
            "cot": modes["cot"], "code": modes["code"],
            "formats": dict(Counter(r.format for r in rows if r.mode == "code")) or "-",
            "epochs": stage.epochs, "max_steps": stage.max_steps, "lr": stage.lr, "packing": stage.packing,
            "lora": "yes" if stage.lora else "no",
        })  # fmt: skip
        source = out[-1]["to"]
    return out


def train(recipe_or_config, callbacks: list | None = None) -> list[Path]:
    """Run every stage of a recipe (path to YAML, dict or :class:`TrainConfig`); one checkpoint per stage."""
    recipe: TrainConfig = load_recipe(recipe_or_config)
    check_inputs(recipe)
    model_path = recipe.base_model
    outputs: list[Path] = []
    for stage in recipe.resolved_stages():
        stage_dir = Path(recipe.output_dir) / stage.name
        if (stage_dir / SUMMARY).exists():
            log.warning("stage %r already finished (%s exists): skipped", stage.name, stage_dir / SUMMARY)
        else:
            run_stage(stage, model_path, stage_dir, callbacks=callbacks)
        outputs.append(stage_dir)
        model_path = str(stage_dir)  # the next stage starts from this one's weights
    return outputs


def check_inputs(recipe: TrainConfig) -> None:
    """Before any model is loaded: every stage's data file exists and the base model is a model folder (or,
    online, a hub id), so bad input is one clear error, not a traceback from deep inside a library."""
    from mathforge.llm import check_model_path

    for stage in recipe.resolved_stages():
        for path in stage.data:
            if not Path(path).is_file():
                raise DataError(f"file not found (data of stage {stage.name!r})", path, field="data")
    check_model_path(recipe.base_model)


def encode_dataset(tokenizer, stage: StageConfig) -> tuple[list[dict], dict]:
    """Tokenized, masked rows for a stage plus counts (rows, truncated, dropped, trained tokens)."""
    source = load_rows(stage.data, stage.limit, stage.solution_format, stage.name)
    examples = to_examples(source, stage.prompt_format, tokenizer, stage.system_prompt)
    rows, truncated, dropped, trained = [], 0, 0, 0
    for ex in examples:
        enc = encode_example(
            tokenizer,
            ex.prompt,
            ex.completion,
            solution_format=ex.format,  # the row's own format decides what is masked
            mask_outputs=stage.mask_outputs,
            max_length=stage.max_length,
        )
        truncated += enc.truncated
        n_trained = sum(label != IGNORE for label in enc.labels)
        if n_trained == 0:  # truncation cut the whole completion: nothing to learn from this row
            dropped += 1
            continue
        trained += n_trained
        rows.append(enc.as_row())
    if truncated:
        log.warning(
            "stage %r: %d of %d samples longer than max_length=%d were truncated (%d dropped: "
            "nothing left to train on)",
            stage.name,
            truncated,
            len(examples),
            stage.max_length,
            dropped,
        )
    stats = {
        "samples": len(rows),
        "by_mode": dict(Counter(e.mode for e in examples)),
        "by_format": dict(Counter(e.format for e in examples if e.mode == "code")),
        "truncated": truncated,
        "dropped": dropped,
        "trained_tokens_per_epoch": trained,
        "tokens_per_epoch": sum(len(r["input_ids"]) for r in rows),
    }
    return rows, stats


def _checkpointing_arg() -> str:
    from trl import SFTConfig

    fields = getattr(SFTConfig, "__dataclass_fields__", {})
    return "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"


def sft_config(stage: StageConfig, out_dir: Path):
    """The TRL ``SFTConfig`` for a stage (the one place recipe fields map onto TRL/transformers)."""
    import torch
    from trl import SFTConfig

    bf16 = stage.bf16
    if bf16 == "auto":
        bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    bfd = stage.packing and stage.packing_strategy == "bfd"
    checkpointing_arg = _checkpointing_arg()
    return SFTConfig(
        output_dir=str(out_dir),
        num_train_epochs=stage.epochs,
        max_steps=stage.max_steps,
        per_device_train_batch_size=stage.batch_size,
        gradient_accumulation_steps=stage.grad_accum,
        learning_rate=stage.lr,
        lr_scheduler_type=stage.lr_scheduler,
        warmup_steps=stage.warmup_ratio,  # a float < 1 is a ratio of the total steps
        weight_decay=stage.weight_decay,
        logging_steps=stage.logging_steps,
        save_strategy="steps" if stage.save_steps > 0 else "no",
        save_steps=max(stage.save_steps, 1),
        save_total_limit=stage.save_total_limit,
        seed=stage.seed,
        data_seed=stage.seed,
        bf16=bool(bf16),
        # transformers 5 renamed the option (the old name still works, with a FutureWarning)
        **{checkpointing_arg: stage.gradient_checkpointing},
        # rows arrive tokenized, masked and truncated (encode_dataset): TRL only packs/batches them
        max_length=stage.max_length if bfd else None,
        packing=bfd,
        packing_strategy="bfd",
        padding_free=stage.packing,  # no attention_mask, position_ids restart per sample
        completion_only_loss=False,
        include_num_input_tokens_seen="non_padding",
        # without a GPU: under `accelerate launch`/torchrun this makes the ranks a gloo (MULTI_CPU) group
        use_cpu=not torch.cuda.is_available(),
        report_to="none",
        disable_tqdm=bool(os.environ.get("MATHFORGE_NO_PROGRESS")),
        dataloader_num_workers=0,
    )


def build_trainer(
    stage: StageConfig, model_path: str | Path, out_dir: str | Path, callbacks: list | None = None
):
    """The configured TRL ``SFTTrainer`` for a stage, plus the tokenizer and dataset counts."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    rows, stats = encode_dataset(tokenizer, stage)
    args = sft_config(stage, Path(out_dir))
    attn = stage.attn_implementation
    if attn is None and stage.packing:
        attn = register_packed_sdpa()  # per-sample attention: no wasted L x L work on packed rows
    model = AutoModelForCausalLM.from_pretrained(
        model_path, dtype="auto", **({"attn_implementation": attn} if attn else {})
    )
    peft_config = None
    if stage.lora is not None:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=stage.lora.r,
            lora_alpha=stage.lora.alpha,
            lora_dropout=stage.lora.dropout,
            target_modules=stage.lora.target_modules,
            task_type="CAUSAL_LM",
        )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=callbacks,
    )
    return trainer, tokenizer, stats


def run_stage(
    stage: StageConfig, model_path: str | Path, out_dir: str | Path, callbacks: list | None = None
) -> Path:
    """Fine-tune ``model_path`` on the stage's data; write the checkpoint and ``train_summary.json``."""
    from transformers.trainer_utils import get_last_checkpoint

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if stage.type == "ovm":
        from mathforge.train.value import build_value_trainer

        trainer, tokenizer, stats = build_value_trainer(stage, model_path, out_dir, callbacks)
    else:
        trainer, tokenizer, stats = build_trainer(stage, model_path, out_dir, callbacks)
    last = get_last_checkpoint(str(out_dir))
    if last:
        log.warning("stage %r: resuming from %s", stage.name, last)
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=last)
    elapsed = time.perf_counter() - started
    _save(trainer, tokenizer, stage, out_dir)
    if trainer.is_world_process_zero():
        summary = _summary(trainer, stage, model_path, out_dir, stats, result, elapsed, last)
        (out_dir / SUMMARY).write_text(json.dumps(summary, indent=2))
    trainer.accelerator.wait_for_everyone()
    log.info(
        "stage %r: rank %d of %d finished", stage.name, trainer.args.process_index, trainer.args.world_size
    )
    return out_dir


def _save(trainer, tokenizer, stage: StageConfig, out_dir: Path) -> None:
    if stage.type == "ovm":
        from mathforge.train.value import save_value_model

        save_value_model(trainer, tokenizer, stage, out_dir)
        return
    if stage.lora is None:
        trainer.save_model(str(out_dir))
        return
    trainer.save_model(str(out_dir / "adapter"))
    if stage.lora.merge and trainer.is_world_process_zero():
        merged = trainer.accelerator.unwrap_model(trainer.model).merge_and_unload()
        merged.save_pretrained(out_dir, safe_serialization=True)
        tokenizer.save_pretrained(out_dir)


def _summary(trainer, stage, model_path, out_dir, stats, result, elapsed, resumed_from) -> dict:
    state = trainer.state
    history = [h for h in state.log_history if "loss" in h]
    start_step = int(Path(resumed_from).name.split("-")[-1]) if resumed_from else 0
    session_tokens = state.num_input_tokens_seen - getattr(trainer, "_initial_num_input_tokens_seen", 0)
    return {
        "stage": stage.name,
        "base_model": str(model_path),
        "output_dir": str(out_dir),
        "global_step": state.global_step,
        "world_size": trainer.args.world_size,
        "resumed_from": str(resumed_from) if resumed_from else None,
        "start_step": start_step,
        "epochs": state.epoch,
        **stats,
        "tokens_seen": state.num_input_tokens_seen,
        "train_runtime_s": round(elapsed, 3),
        "tokens_per_s": round(session_tokens / elapsed, 1) if elapsed > 0 else None,
        "train_loss": result.training_loss,
        "loss_curve": [{"step": h["step"], "loss": h["loss"], "lr": h.get("learning_rate")} for h in history],
        "config": stage.model_dump(),
    }
