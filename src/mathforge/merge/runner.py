"""``run(cfg)`` of ``mathforge merge``: find the shards, check they belong together and are complete, join.

Order: an item's position in the loaded order is known from its shard (``I + k*N`` for shard I's k-th item,
see :mod:`mathforge.shard`); merged rows are sorted by it (and by sample), rows of one item keep the order
their shard wrote them in. That is the order an unsharded run writes a file output in, so with
deterministic decoding the merged file is byte for byte the unsharded one; an evaluate run's
``predictions.jsonl`` is written as samples finish, so its merged form is the canonical order (the rows
are the same; ``gen_seconds``, ``exec_seconds`` and each execution's ``duration`` are measurements).

Completeness: a shard with no manifest, one that did not finish, or one whose work failed for some items
is named; for evaluate every (id, sample) its manifest lists must have a row, and the missing ones are
named. Nothing is written then, unless ``--partial``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mathforge.io import DataError, read_jsonl, write_json, write_jsonl
from mathforge.merge.config import MergeConfig
from mathforge.shard import MANIFEST, MANIFEST_SUFFIX, Shard, shard_file

_DIR = re.compile(r"shard-(\d+)-of-(\d+)")


def run(cfg: MergeConfig) -> dict:
    out = Path(cfg.out)
    if out.suffix in (".jsonl", ".json"):
        found = {_index(p.name.removesuffix(MANIFEST_SUFFIX).rsplit(".", 1)[-1]): p
                 for p in out.parent.glob(f"{out.stem}.shard-*-of-*{MANIFEST_SUFFIX}")}  # fmt: skip
        kind = "file"
    else:
        found = {_index(p.parent.name): p for p in out.glob(f"shard-*-of-*/{MANIFEST}")}
        kind = "dir"
    if not found:
        where = (
            f"{out.stem}.shard-I-of-N{MANIFEST_SUFFIX} beside it" if kind == "file" else "shard-I-of-N/ in it"
        )
        raise DataError(f"no shards found ({where}): run the stage with --shard I/N first", out, field="out")
    manifests = _check_manifests(found)
    result = _merge_dir(cfg, out, manifests) if kind == "dir" else _merge_file(cfg, out, manifests)
    return {"kind": kind, "out": str(out), **result}


def _index(label: str) -> tuple[int, int]:
    m = _DIR.fullmatch(label)
    if not m:
        raise DataError(f"not a shard name: {label!r}", field="out")
    return int(m.group(1)), int(m.group(2))


def _check_manifests(found: dict[tuple[int, int], Path]) -> dict:
    """{index: manifest} after checking they are shards of one run; missing shards are reported later."""
    counts = sorted({n for _, n in found})
    if len(counts) > 1:
        raise DataError(f"shards of different splits are here (N = {', '.join(map(str, counts))}): "
                        "merge one split at a time (move the others away)", field="out")  # fmt: skip
    manifests: dict[int, dict] = {}
    for (index, count), path in sorted(found.items()):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"unreadable shard manifest: {exc}", path) from None
        data["_path"] = path
        if (data.get("index"), data.get("count")) != (index, count):
            raise DataError(
                f"the manifest says shard {data.get('shard')}, its name says {index}/{count}", path
            )
        manifests[index] = data
    first = manifests[min(manifests)]
    seen: dict[str, int] = {}
    for index, data in manifests.items():
        for key in ("stage", "total"):
            if data.get(key) != first.get(key):
                raise DataError(f"shard {index}/{data['count']} has {key} {data.get(key)!r}, shard "
                                f"{first['shard']} has {first.get(key)!r}: not parts of one run",
                                data["_path"], field=key)  # fmt: skip
        expected = Shard(index, data["count"]).size(data["total"])
        if len(data["ids"]) != expected:
            raise DataError(f"shard {data['shard']} lists {len(data['ids'])} items, {expected} expected of "
                            f"{data['total']}: the shards loaded different items", data["_path"], field="ids")  # fmt: skip
        for i in data["ids"]:
            if i in seen:
                raise DataError(f"item {i!r} is in shards {seen[i]} and {index}: the shards loaded different "
                                "orders", data["_path"], field="ids")  # fmt: skip
            seen[i] = index
    return manifests


def _positions(manifests: dict) -> dict[str, int]:
    return {i: m["index"] + k * m["count"] for m in manifests.values() for k, i in enumerate(m["ids"])}


def _problems(manifests: dict) -> dict:
    """Missing shards, unfinished ones, and items whose work failed."""
    count = next(iter(manifests.values()))["count"]
    total = next(iter(manifests.values()))["total"]
    missing_shards = [f"{i}/{count} ({Shard(i, count).size(total)} items)" for i in range(count)
                      if i not in manifests]  # fmt: skip
    unfinished = [m["shard"] for m in manifests.values() if not m.get("finished")]
    incomplete = sorted({i for m in manifests.values() for i in m.get("incomplete", [])})
    failed = {m["shard"]: m["requests_failed"] for m in manifests.values() if m.get("requests_failed")}
    return {"shards": count, "found": sorted(manifests), "missing_shards": missing_shards,
            "unfinished": unfinished, "incomplete": incomplete, "requests_failed": failed}  # fmt: skip


def _complete(p: dict) -> bool:
    return not (p["missing_shards"] or p["unfinished"] or p["incomplete"] or p["requests_failed"]
                or p.get("missing"))  # fmt: skip


# ------------------------------------------------------------------------------------------ evaluate
def _merge_dir(cfg: MergeConfig, out: Path, manifests: dict) -> dict:
    from mathforge.evaluate.config import EvaluateConfig
    from mathforge.evaluate.metrics import summarize
    from mathforge.evaluate.report import pick_example, render_report
    from mathforge.rows import PredictionRow, read_rows, write_rows

    positions = _positions(manifests)
    configs, rows, failed, shard_info = {}, [], [], []
    for index, m in manifests.items():
        folder = m["_path"].parent
        try:
            configs[index] = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"the shard has no readable config.json: {exc}", folder) from None
        own = set(m["ids"])
        preds = folder / "predictions.jsonl"
        for line, row in read_rows(preds, PredictionRow) if preds.exists() else ():
            if row.id not in own:
                raise DataError(f"a row for {row.id!r}, which is not this shard's", preds, line, "id")
            rows.append(row)
        if (folder / "failed.jsonl").exists():
            failed += [r for _, r in read_jsonl(folder / "failed.jsonl")]
        metrics = _read_json(folder / "metrics.json")
        shard_info.append({"shard": m["shard"], "rows": sum(r.id in own for r in rows),
                           "wall_seconds": metrics.get("timing", {}).get("wall_seconds"),
                           **({"backend": metrics["backend"]} if "backend" in metrics else {})})  # fmt: skip
    first = configs[min(configs)]
    for index, c in configs.items():
        for key in [*EvaluateConfig.resume_keys(), "dataset_sha256", "n"]:
            if c.get(key) != first.get(key):
                raise DataError(f"shard {index} ran with {key} = {c.get(key)!r}, shard {min(configs)} with "
                                f"{first.get(key)!r}: not parts of one run",
                                manifests[index]["_path"].parent / "config.json", field=key)  # fmt: skip
    n = int(first.get("n", 1))
    have = {(r.id, r.sample) for r in rows}
    problems = _problems(manifests)
    problems["missing"] = [f"{i} sample {s}" for i in sorted(positions, key=positions.get) for s in range(n)
                           if (i, s) not in have]  # fmt: skip
    complete = _complete(problems)
    result = {"stage": "evaluate", "rows": len(rows), "complete": complete, **problems, "written": False}
    if not complete and not cfg.partial:
        return result
    rows.sort(key=lambda r: (positions[r.id], r.sample))
    config = {**first, "shard": None, "merged_shards": problems["shards"]}
    with cfg.make_grader() as grader:
        metrics = {"config": config, **summarize(rows, grader.equiv_many, n)}
    if failed:
        metrics["failed"] = {"samples": len(failed), "first": failed[:5]}
    if not complete:
        metrics["partial"] = describe(problems)
    metrics["timing"] = {
        "shards": problems["shards"],
        "wall_seconds_max": max((s["wall_seconds"] or 0.0 for s in shard_info), default=0.0),
        "wall_seconds_sum": sum(s["wall_seconds"] or 0.0 for s in shard_info),
        "tokens": sum(r.tokens for r in rows),
        "generation_seconds": sum(r.gen_seconds for r in rows),
        "execution_seconds": sum(r.exec_seconds for r in rows),
    }
    metrics["shards"] = shard_info
    write_rows(out / "predictions.jsonl", rows)
    write_json(out / "config.json", config)
    write_jsonl(out / "failed.jsonl", failed)
    write_json(out / "metrics.json", metrics)
    (out / "report.md").write_text(render_report(metrics, pick_example(rows)), encoding="utf-8")
    return {**result, "written": True, "metrics": metrics}


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# ------------------------------------------------------------------------------------- file outputs
def _merge_file(cfg: MergeConfig, out: Path, manifests: dict) -> dict:
    positions = _positions(manifests)
    problems = _problems(manifests)
    first = manifests[min(manifests)]
    complete = _complete(problems)
    result = {"stage": first["stage"], "complete": complete, **problems, "written": False, "files": {}}
    if not complete and not cfg.partial:
        return result
    for suffix, unit in first.get("units", {}).items():
        target = out.with_name(f"{out.stem}{suffix}{out.suffix}")
        merged: list[tuple[int, int, dict]] = []
        for index, m in manifests.items():
            part = out.with_name(f"{out.stem}.{Shard(index, m['count']).label}{suffix}{out.suffix}")
            if not part.exists():
                continue  # e.g. no rejects in this shard
            for line, row in read_jsonl(part):
                key = row.get(unit)
                if str(key) not in positions:
                    raise DataError(f"a row for {key!r}, which no shard lists", part, line, unit)
                merged.append((positions[str(key)], len(merged), row))
        merged.sort(key=lambda x: (x[0], x[1]))
        write_jsonl(target, (row for _, _, row in merged))
        result["files"][str(target)] = len(merged)
    stats = [
        _read_json(shard_file(out, Shard(i, m["count"])).with_suffix(".stats.json"))
        for i, m in manifests.items()
    ]
    if any(stats):
        summed = _sum_stats([s for s in stats if s])
        summed["shards"] = problems["shards"]
        if not complete:
            summed["partial"] = describe(problems)
        write_json(out.with_suffix(".stats.json"), summed)
        result["stats"] = summed
    return {**result, "written": True}


def _sum_stats(parts: list[dict]) -> dict:
    """Counts add up; any other value is kept where every shard has the same one (rates and the like,
    which do not add, are left out)."""
    out: dict = {}
    for key in dict.fromkeys(k for p in parts for k in p):
        values = [p[key] for p in parts if key in p]
        if all(isinstance(v, dict) for v in values):
            out[key] = _sum_stats(values)
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            out[key] = sum(values)
        elif all(v == values[0] for v in values) and len(values) == len(parts):
            out[key] = values[0]
    return out


def describe(p: dict) -> str:
    parts = []
    if p["missing_shards"]:
        parts.append(f"shards not found: {', '.join(p['missing_shards'])}")
    if p["unfinished"]:
        parts.append(f"shards that did not finish: {', '.join(p['unfinished'])}")
    if p["incomplete"]:
        parts.append(f"{len(p['incomplete'])} items whose work failed: {', '.join(p['incomplete'][:10])}")
    if p["requests_failed"]:
        parts.append(
            "failed requests: " + ", ".join(f"shard {s}: {n}" for s, n in p["requests_failed"].items())
        )
    if p.get("missing"):
        more = f" (+{len(p['missing']) - 20} more)" if len(p["missing"]) > 20 else ""
        parts.append(f"{len(p['missing'])} samples missing: {', '.join(p['missing'][:20])}{more}")
    return "; ".join(parts)


def report(cfg: MergeConfig, result: dict) -> int:
    what = f"{result['rows']} rows" if "rows" in result else ", ".join(
        f"{Path(f).name}: {n} rows" for f, n in result.get("files", {}).items())  # fmt: skip
    print(f"{result['stage']}: {len(result['found'])} of {result['shards']} shards found ({what})")
    if not result["complete"]:
        print(f"incomplete: {describe(result)}")
        print(
            "re-run the shards named (each resumes where it stopped), then merge again"
            + ("" if result["written"] else "; nothing was written (--partial writes what is there)")
        )
        return 1
    print(f"merged into {result['out']}")
    return 0
