"""Render the Slurm templates of ``mathforge/cluster/templates`` (Jinja2) from a :class:`ClusterConfig`.

The jobs meet on the shared filesystem, not through Slurm: each model or sandbox server writes its URL to
``RUN_DIR/endpoints/{models,sandboxes}/TASK.url`` once it answers, the client tasks wait for those files
and pass them as ``--base-urls-file`` / ``--sandbox-urls-file``; so a server that comes up late or dies is
handled by the router (it is retried later or taken out) and no address is written into a script.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from mathforge.cluster.config import CLIENT_STAGES, ClusterConfig
from mathforge.io import DataError

TEMPLATES = Path(__file__).with_name("templates")
SCRIPTS = ("models.sbatch", "sandboxes.sbatch", "clients.sbatch", "merge.sbatch", "submit.sh")


def render_scripts(cfg: ClusterConfig) -> dict[str, str]:
    """{file name: text} of every script (nothing written)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True,
                      autoescape=False)  # noqa: S701 - shell scripts, not HTML  # fmt: skip
    env.filters["sh"] = lambda value: shlex.quote(str(value))
    # made absolute now: submit.sh submits from the scripts' folder, and Slurm starts a job where it was
    # submitted, where a relative setup (source .venv/bin/activate) or run_dir does not resolve
    workdir = Path(cfg.workdir or os.getcwd()).expanduser().resolve()
    cfg = cfg.model_copy(update={"workdir": str(workdir), "run_dir": str(workdir / cfg.run_dir)})
    if any(c.isspace() for c in cfg.run_dir):  # #SBATCH lines cannot quote a path
        raise DataError("run_dir must not contain whitespace (Slurm's #SBATCH --output cannot quote it)",
                        field="run_dir")  # fmt: skip
    values = cfg.model_dump()
    values.update(
        served_name=cfg.served_name or cfg.model,
        cpu_partition=cfg.cpu_partition or cfg.partition,
        uses_sandbox=CLIENT_STAGES[cfg.stage] and cfg.sandbox_servers > 0,
        stage_out=stage_output(cfg),
    )
    return {name: env.get_template(name + ".j2").render(**values) for name in SCRIPTS}


def stage_output(cfg: ClusterConfig) -> str:
    """Where the client shards write (and the merge reads): a folder for evaluate, a JSONL file otherwise."""
    return str(
        Path(cfg.run_dir) / ("eval" if cfg.stage == "evaluate" else f"{cfg.stage.replace(' ', '-')}.jsonl")
    )


def render(cfg: ClusterConfig) -> list[Path]:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_scripts(cfg).items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        os.chmod(path, 0o755)
        written.append(path)
    return written


def report(cfg: ClusterConfig, written: list[Path]) -> int:
    print(f"wrote {', '.join(p.name for p in written)} to {cfg.out}; read them, then run {cfg.out}/submit.sh")
    return 0
