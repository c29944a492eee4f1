"""Probe: how fast a toy Llama learns the demo's copy pre-training rows in a plain PyTorch loop.

The reference the demo's own copy stage (through mathforge.train / TRL) is compared with in docs/DEMO.md.
Usage (TOKENIZER: a demo run's OUT/init folder):

    python benchmarks/demo_copy_probe.py LR BATCH STEPS copy|digits LAYERS HIDDEN [SEED [TOKENIZER]]

copy: the demo's copy_rows ("Copy: <line>" -> the line); digits: copies of lines of numbers only.

Prints, every 50 steps: step, mean loss on the completions, wall seconds, CPU seconds.
"""

import random
import sys
import time

import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from mathforge.demo.tasks import copy_rows

torch.set_num_threads(1)


lr, bs, steps, kind, layers, hidden = (
    float(sys.argv[1]),
    int(sys.argv[2]),
    int(sys.argv[3]),
    sys.argv[4],
    int(sys.argv[5]),
    int(sys.argv[6]),
)
seed = int(sys.argv[7]) if len(sys.argv) > 7 else 0
tok = AutoTokenizer.from_pretrained(sys.argv[8] if len(sys.argv) > 8 else "runs/demo/init")
rows = copy_rows(seed, 4000)
if kind == "digits":
    r2 = random.Random(seed)
    rows = []
    for _ in range(4000):
        line = " ".join(str(r2.randint(1, 99999)) for _ in range(r2.randint(2, 5)))
        rows.append({"prompt": f"Copy: {line}\n", "completion": line})
elif kind != "copy":
    sys.exit(f"unknown kind {kind!r}: copy or digits")
enc = []
for r in rows:
    p = tok(r["prompt"])["input_ids"]
    c = tok(r["completion"], add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    enc.append((p + c, [-100] * len(p) + c))
torch.manual_seed(seed)
cfg = LlamaConfig(
    vocab_size=len(tok),
    hidden_size=hidden,
    num_hidden_layers=layers,
    num_attention_heads=4,
    num_key_value_heads=4,
    intermediate_size=2 * hidden,
    max_position_embeddings=512,
    tie_word_embeddings=True,
    bos_token_id=tok.bos_token_id,
    eos_token_id=tok.eos_token_id,
    pad_token_id=tok.pad_token_id,
)
m = LlamaForCausalLM(cfg)
opt = torch.optim.AdamW(m.parameters(), lr, weight_decay=0.0)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1, (s + 1) / 20))
rng = random.Random(seed)
t0 = time.perf_counter()
c0 = time.process_time()
acc = 0
for step in range(1, steps + 1):
    batch = rng.sample(enc, bs)
    L = max(len(x) for x, _ in batch)
    ids = torch.tensor([x + [tok.pad_token_id] * (L - len(x)) for x, _ in batch])
    lab = torch.tensor([y + [-100] * (L - len(y)) for _, y in batch])
    att = (torch.arange(L)[None] < torch.tensor([len(x) for x, _ in batch])[:, None]).long()
    loss = m(input_ids=ids, attention_mask=att, labels=lab).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step()
    sched.step()
    opt.zero_grad()
    acc += loss.item()
    if step % 50 == 0:
        print(
            step,
            round(acc / 50, 3),
            round(time.perf_counter() - t0),
            round(time.process_time() - c0),
            flush=True,
        )
        acc = 0
