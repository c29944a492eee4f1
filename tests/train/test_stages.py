"""Staged SFT on a micro model: chaining, loss, resume, LoRA, packing. Few steps each (CPU)."""

from __future__ import annotations

import json
import logging

import pytest

pytestmark = pytest.mark.slow


def _weights(path):
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def _summary(path) -> dict:
    return json.loads((path / "train_summary.json").read_text())


class _Snapshot:
    """Trainer callback that copies the weights the moment training starts (once per stage)."""

    def __new__(cls):
        from transformers import TrainerCallback

        class Snap(TrainerCallback):
            def __init__(self):
                self.at_start = []

            def on_train_begin(self, args, state, control, model=None, **kwargs):
                self.at_start.append({k: v.detach().clone() for k, v in model.state_dict().items()})

        return Snap()


def test_stage_two_starts_from_stage_one(tmp_path, make_stage, micro_base, cot_jsonl, tir_jsonl):
    import torch

    from mathforge.train import train

    snap = _Snapshot()
    recipe = {
        "output_dir": str(tmp_path / "run"),
        "base_model": str(micro_base),
        "stages": [make_stage(cot_jsonl, name="cot"), make_stage(tir_jsonl, name="code")],
    }
    cot, code = train(recipe, callbacks=[snap])
    assert (cot.name, code.name) == ("cot", "code")
    base_w, cot_w, code_w = _weights(micro_base), _weights(cot), _weights(code)
    start_1, start_2 = snap.at_start
    name = "model.layers.0.mlp.down_proj.weight"
    assert torch.equal(start_1[name], base_w[name])
    assert not torch.equal(cot_w[name], base_w[name])  # stage 1 trained
    for key, value in cot_w.items():  # stage 2 began exactly where stage 1 ended
        assert torch.equal(start_2[key], value), key
    assert not torch.equal(code_w[name], cot_w[name])
    s1, s2 = _summary(cot), _summary(code)
    assert s2["base_model"] == str(cot) and s1["base_model"] == str(micro_base)
    assert s1["global_step"] == s2["global_step"] == 4
    assert len(s1["loss_curve"]) == 4 and s1["tokens_seen"] > 0 and s1["tokens_per_s"] > 0
    # a re-run finds both stages finished and trains nothing
    mtime = (code / "model.safetensors").stat().st_mtime_ns
    assert train(recipe) == [cot, code]
    assert (code / "model.safetensors").stat().st_mtime_ns == mtime


def test_loss_decreases(tmp_path, make_stage, micro_base, tir_jsonl):
    from mathforge.train import train

    [out] = train(
        {
            "output_dir": str(tmp_path),
            "base_model": str(micro_base),
            "stages": [make_stage(tir_jsonl, max_steps=12, lr=1e-2)],
        }
    )
    losses = [p["loss"] for p in _summary(out)["loss_curve"]]
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3


def test_interrupted_run_resumes_from_its_checkpoint(tmp_path, make_stage, micro_base, tir_jsonl):
    import torch
    from transformers import TrainerCallback

    from mathforge.train import train

    class Crash(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 4:
                raise KeyboardInterrupt("simulated crash after the step-3 checkpoint")

    cfg = make_stage(tir_jsonl, max_steps=6, save_steps=3)
    recipe = {"output_dir": str(tmp_path / "resumed"), "base_model": str(micro_base), "stages": [cfg]}
    with pytest.raises(KeyboardInterrupt):
        train(recipe, callbacks=[Crash()])
    out = tmp_path / "resumed" / "sft"
    assert (out / "checkpoint-3").is_dir() and not (out / "train_summary.json").exists()
    [resumed] = train(recipe)
    summary = _summary(resumed)
    assert summary["start_step"] == 3 and summary["resumed_from"].endswith("checkpoint-3")
    assert summary["global_step"] == 6
    # same result as a run that was never interrupted (optimizer, scheduler, data order all restored)
    [straight] = train(
        {"output_dir": str(tmp_path / "straight"), "base_model": str(micro_base), "stages": [cfg]}
    )
    a, b = _weights(resumed), _weights(straight)
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-5), key


def test_lora_adapter_saves_loads_and_merges(tmp_path, make_stage, micro_base, tir_jsonl):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from mathforge.train import train

    lora = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
    [out] = train(
        {
            "output_dir": str(tmp_path),
            "base_model": str(micro_base),
            "stages": [make_stage(tir_jsonl, lora=lora, lr=1e-2)],
        }
    )
    assert (out / "adapter" / "adapter_config.json").exists()
    assert (out / "adapter" / "adapter_model.safetensors").exists()
    base = AutoModelForCausalLM.from_pretrained(micro_base)
    base_q = base.model.layers[0].self_attn.q_proj.weight.detach().clone()
    peft_model = PeftModel.from_pretrained(base, out / "adapter")
    merged_here = peft_model.merge_and_unload()
    saved = AutoModelForCausalLM.from_pretrained(out)  # the stage folder holds the merged model
    q_here = merged_here.model.layers[0].self_attn.q_proj.weight
    q_saved = saved.model.layers[0].self_attn.q_proj.weight
    assert torch.allclose(q_here, q_saved, atol=1e-6)
    assert not torch.allclose(q_saved, base_q)  # the adapter learnt something
    k_saved = saved.model.layers[0].self_attn.k_proj.weight  # not a LoRA target: untouched
    assert torch.equal(
        k_saved, AutoModelForCausalLM.from_pretrained(micro_base).model.layers[0].self_attn.k_proj.weight
    )


@pytest.mark.parametrize("strategy", ["bfd", "flatten"])
def test_packing_counts_every_token_once(tmp_path, make_stage, micro_base, tir_jsonl, strategy):
    from mathforge.train import train

    [out] = train(
        {
            "output_dir": str(tmp_path),
            "base_model": str(micro_base),
            "stages": [
                make_stage(
                    tir_jsonl,
                    max_steps=-1,
                    epochs=1,
                    packing_strategy=strategy,
                    batch_size=1 if strategy == "bfd" else 4,
                    max_length=256,
                )
            ],
        }
    )
    s = _summary(out)
    # no padding: the non-pad tokens seen in one epoch are exactly the dataset's tokens
    assert s["tokens_seen"] == s["tokens_per_epoch"]
    if strategy == "bfd":  # 16 samples of ~70 tokens fit in 5 bins of 256
        assert s["global_step"] < 16
    else:
        assert s["global_step"] == 4


@pytest.mark.parametrize("attn", ["sdpa", "mathforge_packed_sdpa"])
def test_packed_batch_has_no_cross_sample_attention(micro_base, tir_jsonl, attn):
    """Per-token losses and gradients of a padding-free packed batch equal those of the same samples padded,
    with stock SDPA (block-diagonal mask from position_ids) and with mathforge's per-sample attention."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    from mathforge.train import StageConfig, encode_dataset
    from mathforge.train.attention import register_packed_sdpa

    register_packed_sdpa()
    tokenizer = AutoTokenizer.from_pretrained(micro_base)
    reference = AutoModelForCausalLM.from_pretrained(micro_base, attn_implementation="sdpa")
    model = AutoModelForCausalLM.from_pretrained(micro_base, attn_implementation=attn)
    rows, _ = encode_dataset(tokenizer, StageConfig(data=[str(tir_jsonl)], limit=3))
    rows[1] = {k: v[:40] for k, v in rows[1].items()}  # different lengths, so padding is really exercised

    def token_losses(net, batch):
        keep = (
            "input_ids",
            "attention_mask",
            "position_ids",
            "cu_seq_lens_q",
            "cu_seq_lens_k",
            "max_length_q",
            "max_length_k",
        )
        # use_cache=False as SFTTrainer calls it: with a cache the model would not look for packed sequences
        logits = net(**{k: v for k, v in batch.items() if k in keep}, use_cache=False).logits
        lbl = batch["labels"][:, 1:]
        loss = torch.nn.functional.cross_entropy(
            logits[:, :-1].transpose(1, 2), lbl, reduction="none", ignore_index=-100
        )
        return loss[lbl != -100]

    padded = DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id)(rows)
    packed = DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id, padding_free=True)(rows)
    assert packed["input_ids"].shape[0] == 1 and "attention_mask" not in packed
    want, got = token_losses(reference, padded), token_losses(model, packed)
    assert torch.allclose(want, got, atol=1e-5)
    want.sum().backward()
    got.sum().backward()
    for (name, p_ref), p in zip(reference.named_parameters(), model.parameters(), strict=True):
        assert torch.allclose(p_ref.grad, p.grad, atol=1e-4), name
    # sanity: without the restarting position_ids (one long sample) the same packed row does mix samples
    with torch.no_grad():
        mixed = token_losses(reference, {"input_ids": packed["input_ids"], "labels": packed["labels"]})
    assert not torch.allclose(want.detach(), mixed, atol=1e-5)


def test_truncation_is_counted_and_warned(tmp_path, make_stage, micro_base, tir_jsonl, caplog):
    from mathforge.train import train

    with caplog.at_level(logging.WARNING, logger="mathforge.train"):
        [out] = train(
            {
                "output_dir": str(tmp_path),
                "base_model": str(micro_base),
                "stages": [make_stage(tir_jsonl, max_steps=1, max_length=40)],
            }
        )
    s = _summary(out)
    assert s["truncated"] == 16 and s["samples"] == 16
    assert any("16 of 16 samples longer than max_length=40" in r.getMessage() for r in caplog.records)


def test_gradient_checkpointing_and_flatten_packing_train(tmp_path, make_stage, micro_base, tir_jsonl):
    """The memory-saving option runs through TRL and gives the same first-step loss as without it."""
    from mathforge.train import train

    def first_loss(name, **kw):
        [out] = train(
            {
                "output_dir": str(tmp_path / name),
                "base_model": str(micro_base),
                "stages": [make_stage(tir_jsonl, max_steps=2, packing_strategy="flatten", **kw)],
            }
        )
        return _summary(out)["loss_curve"][0]["loss"], _summary(out)["config"]["gradient_checkpointing"]

    plain, off = first_loss("plain")
    checkpointed, on = first_loss("ckpt", gradient_checkpointing=True)
    assert on and not off
    assert abs(plain - checkpointed) < 1e-4
