"""An evaluate run as the compact data the page draws: problems, samples, segments, summary, breakdowns.

What makes the file small without losing what a reader needs:

* a run's prompts share their worked examples and template: the common head and tail are stored once and
  each problem keeps only its own middle (its question), and not at all when it equals the question another
  run already stored;
* a transcript is stored once, as segments (text, code, output): an execution's code and output are the
  text's own blocks, matched in order, so only its status and time are added;
* a block longer than ``max_chars`` keeps its head and tail with a note of what was cut (the full text stays
  in predictions.jsonl).
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter, defaultdict

from mathforge.rows import PredictionRow, sniff_format
from mathforge.solution import Code, Output, parse
from mathforge.view.sources import EvalRun

_LABEL = re.compile(r"[A-Za-z]+: ")
MAX_CHARS = 6000  # per text, code or output block: one runaway print() must not make the page heavy
Z95 = 1.959963984540054


class Problems:
    """The problems of every run, once each (id, gold, subject, level, dataset, question), by index."""

    def __init__(self) -> None:
        self.items: list[dict] = []
        self.index: dict[str, int] = {}

    def add(self, row: PredictionRow, question: str) -> tuple[int, bool]:
        """The problem's index, and whether ``question`` is the one already stored."""
        if row.id in self.index:
            i = self.index[row.id]
            return i, self.items[i]["q"] == question
        self.index[row.id] = len(self.items)
        self.items.append(
            {
                "id": row.id,
                "gold": row.gold,
                "subject": row.subject,
                "level": level_name(row.level),
                "dataset": row.dataset or None,
                "q": question,
            }  # fmt: skip
        )
        return len(self.items) - 1, True


def level_name(level: str | None) -> str | None:
    """ "3" -> "Level 3" (the spelling metrics.json uses)."""
    if level is None:
        return None
    return level if level.lower().startswith("level") else f"Level {level}"


def run_payload(run: EvalRun, problems: Problems, max_chars: int = MAX_CHARS) -> dict:
    by_problem: dict[str, list[PredictionRow]] = defaultdict(list)
    for row in run.rows:
        by_problem[row.id].append(row)
    head, tail = prompt_frame([samples[0].prompt for samples in by_problem.values()])
    fmt = run.config.get("solution_format")
    cut = Counter()
    items = []
    for samples in by_problem.values():
        samples.sort(key=lambda r: r.sample)
        prompt = samples[0].prompt
        middle = prompt[len(head) : len(prompt) - len(tail)] if prompt else ""
        index, same = problems.add(samples[0], middle.strip())
        items.append(
            {
                "p": index,
                "pm": None if same else middle,
                "s": [sample_payload(r, fmt, max_chars, cut) for r in samples],
            }  # fmt: skip
        )
    return {
        "kind": "eval",
        "name": run.name,
        "path": str(run.path),
        "config": run.config,
        "notes": run.notes
        + (
            [
                f"{cut['blocks']} long blocks shortened to {max_chars} characters (the full "
                "text is in the predictions file)"
            ]
            if cut["blocks"]
            else []
        ),  # fmt: skip
        "prompt_head": head,
        "prompt_tail": tail,
        "summary": summarize(run),
        "breakdowns": breakdowns(run.rows),
        "problems": items,
    }


def prompt_frame(prompts: list[str]) -> tuple[str, str]:
    """The head and tail every distinct prompt shares, cut at line breaks so no question loses a word."""
    distinct = list(dict.fromkeys(p for p in prompts if p))
    if len(distinct) < 2:
        return "", ""
    head = os.path.commonprefix(distinct)
    head = head[: head.rfind("\n") + 1]
    label = _LABEL.match(os.path.commonprefix([p[len(head) :] for p in distinct]))
    head += label.group(0) if label else ""  # "Question: " before every question belongs to the frame
    rests = [p[len(head) :] for p in distinct]
    tail = os.path.commonprefix([r[::-1] for r in rests])[::-1]
    tail = tail[tail.find("\n") :] if "\n" in tail else ""
    return head, tail


def sample_payload(row: PredictionRow, fmt: str | None, max_chars: int, cut: Counter) -> dict:
    out = {
        "k": row.sample,
        "c": int(row.correct),
        "a": row.answer,
        "g": row.grade_status,
        "f": row.finish,
        "tok": row.tokens,
        "seg": segments(row, fmt or sniff_format(row.text), max_chars, cut),
        "ex": [[e.status, round(e.duration, 3), e.replaced] for e in row.executions],
    }
    if row.mode != "tir":
        out["m"] = row.mode
    return out


def segments(row: PredictionRow, fmt: str, max_chars: int, cut: Counter) -> list[list]:
    """``["t", text]``, ``["c", code, i]``, ``["o", output, i, from_record]``: the transcript in order,
    with the i-th program matched to the i-th execution (-1: a program that was not run)."""
    execs = row.executions
    parts = parse(row.text, fmt)
    out: list[list] = []
    ran = 0  # programs seen so far
    for j, seg in enumerate(parts):
        if isinstance(seg, Code):
            index = ran if ran < len(execs) else -1
            out.append(["c", short(seg.code, max_chars, cut), index])
            shown = j + 1 < len(parts) and isinstance(parts[j + 1], Output)
            if index >= 0 and not shown:  # the text does not show this program's output (pot mode)
                out.append(["o", short(execs[index].output, max_chars, cut), index, 1])
            ran += 1
        elif isinstance(seg, Output):
            before = out[-1] if out else None
            index = before[2] if before and before[0] == "c" else -1
            out.append(["o", short(seg.output, max_chars, cut), index, 0])
        else:
            out.append(["t", short(seg.text, max_chars, cut)])
    for i in range(ran, len(execs)):  # executions the transcript does not show (a format mismatch)
        out.append(["c", short(execs[i].code, max_chars, cut), i])
        out.append(["o", short(execs[i].output, max_chars, cut), i, 1])
    return out


def short(text: str, max_chars: int, cut: Counter) -> str:
    if len(text) <= max_chars:
        return text
    cut["blocks"] += 1
    keep_head = max_chars * 3 // 4
    keep_tail = max_chars - keep_head
    return (f"{text[:keep_head]}\n… [{len(text) - max_chars:,} characters not shown: the full text is in the "
            f"predictions file] …\n{text[len(text) - keep_tail:]}")  # fmt: skip


def summarize(run: EvalRun) -> dict:
    """The summary cards: accuracy and its 95% interval, sampled scores, tool use, what went wrong."""
    rows, metrics = run.rows, run.metrics
    per_problem: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        per_problem[r.id].append(r.correct)
    n = max(len(v) for v in per_problem.values())
    correct = sum(r.correct for r in rows)
    low, high, method = accuracy_interval([sum(v) / len(v) for v in per_problem.values()], correct, n)
    statuses = Counter(e.status for r in rows for e in r.executions)
    grading = Counter(r.grade_status for r in rows)
    return {
        "problems": len(per_problem),
        "samples": len(rows),
        "n": n,
        "accuracy": correct / len(rows),
        "interval": [low, high],
        "interval_method": method,
        "scores": {k: v for k, v in metrics.items() if k.startswith(("maj@", "pass@"))},
        "executions": sum(statuses.values()),
        "executions_per_sample": sum(statuses.values()) / len(rows),
        "exec_status": dict(statuses.most_common()),
        "grading": {
            "timeout": grading["timeout"],
            "error": grading["error"],
            "no_answer": grading["no_answer"],
        },
        "finish": dict(Counter(r.finish or "?" for r in rows).most_common()),
        "invalid_text_outputs": sum(1 for r in rows for e in r.executions if e.replaced),
        "partial": metrics.get("partial"),
        "failed": (metrics.get("failed") or {}).get("samples", 0),
    }


def accuracy_interval(problem_means: list[float], correct: int, n: int) -> tuple[float, float, str]:
    """95% interval of the accuracy: Wilson's for one sample a problem; with several, a normal interval
    over problems (a problem's samples are not independent draws, so the problem is the unit)."""
    count = len(problem_means)
    if n == 1:
        p = correct / count
        denom = 1 + Z95**2 / count
        centre = (p + Z95**2 / (2 * count)) / denom
        half = Z95 * math.sqrt(p * (1 - p) / count + Z95**2 / (4 * count**2)) / denom
        return max(0.0, centre - half), min(1.0, centre + half), "Wilson score interval, 95%"
    mean = sum(problem_means) / count
    var = sum((m - mean) ** 2 for m in problem_means) / max(1, count - 1)
    half = Z95 * math.sqrt(var / count)
    return max(0.0, mean - half), min(1.0, mean + half), "normal interval over problems, 95%"


def breakdowns(rows: list[PredictionRow]) -> dict:
    """Accuracy (fraction of samples) per subject, level and dataset, where the rows name more than one."""
    out = {}
    for name, key in (("subject", lambda r: r.subject), ("level", lambda r: level_name(r.level)),
                      ("dataset", lambda r: r.dataset or None)):  # fmt: skip
        groups: dict[str, list[PredictionRow]] = defaultdict(list)
        for r in rows:
            groups[key(r) or "?"].append(r)
        if len(groups) > 1:
            out[name] = [
                {
                    "name": g,
                    "problems": len({r.id for r in v}),
                    "samples": len(v),
                    "accuracy": sum(r.correct for r in v) / len(v),
                }  # fmt: skip
                for g, v in sorted(groups.items(), key=lambda kv: _natural(kv[0]))
            ]
    return out


def _natural(name: str) -> tuple:
    """ "Level 10" after "Level 9"."""
    digits = "".join(ch for ch in name if ch.isdigit())
    return (name.rstrip("0123456789 "), int(digits) if digits else -1, name)
