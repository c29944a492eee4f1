"""The settings of ``mathforge cluster slurm`` (what the rendered job scripts run, and where)."""

from __future__ import annotations

import re
import shlex
from typing import Literal

from pydantic import field_validator

from mathforge.config import Config, setting

#: stages the client array job can run, and whether they run programs (then they get the sandbox servers)
CLIENT_STAGES = {"evaluate": True, "synthesize": True, "augment teacher": False}


class ClusterConfig(Config):
    """N model servers (vLLM or SGLang), M sandbox servers, S client shards and the merge, as Slurm jobs."""

    out: str = setting("cluster", "folder for the rendered scripts (submit.sh and four .sbatch files)", io="out",
                       kind="dir")  # fmt: skip
    name: str = setting("mathforge", "job name prefix")
    run_dir: str = setting(
        help="a folder on the shared filesystem: server URLs, logs, the token, the outputs (relative: to workdir)"
    )
    workdir: str | None = setting(
        None, "the folder every job runs in, so setup and the stage's relative paths resolve from it (on the "
        "shared filesystem; default: the folder you render from, made absolute)")  # fmt: skip
    setup: str = setting("source .venv/bin/activate",
                         "shell line(s) each job runs first, in workdir, to get the environment (a venv; no "
                         "container)")  # fmt: skip
    model: str = setting(help="the model the servers load (a path on the shared filesystem, or a hub id)")
    served_name: str | None = setting(None, "the name the servers give it (default: --model)")
    server: Literal["vllm", "sglang"] = setting("vllm", "the model server")
    model_servers: int = setting(2, "model servers (one Slurm array task each)", ge=1)
    gpus_per_server: int = setting(1, "GPUs per model server (tensor parallel size)", ge=1)
    server_cpus: int = setting(8, "CPUs per model server task", ge=1)
    server_port: int = setting(8000, "model servers' port", ge=1, le=65535)
    server_args: str = setting("", "more arguments for `vllm serve` / `sglang.launch_server`")
    sandbox_servers: int = setting(1, "sandbox servers (CPU-only array tasks)", ge=0)
    sandbox_workers: int = setting(16, "zygote workers per sandbox server (about one per core)", ge=1)
    sandbox_port: int = setting(8100, "sandbox servers' port", ge=1, le=65535)
    stage: Literal["evaluate", "synthesize", "augment teacher"] = setting("evaluate", "what the clients run")
    stage_args: str = setting("--dataset math500 --mode tir", "the stage's own arguments (not --out/--shard)")
    shards: int = setting(4, "client shards (one array task each; --shard I/N)", ge=1)
    client_cpus: int = setting(4, "CPUs per client task", ge=1)
    partition: str | None = setting(None, "Slurm partition of the GPU jobs")
    cpu_partition: str | None = setting(None, "Slurm partition of the CPU jobs (default: --partition)")
    account: str | None = setting(None, "Slurm account")
    time: str = setting("04:00:00", "time limit of each job")
    wait_minutes: int = setting(30, "how long a client waits for every server to come up (it starts with those "
                                    "up by then, if any)", ge=1)  # fmt: skip

    @field_validator("name")
    @classmethod
    def _job_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
            raise ValueError("letters, digits, '.', '_' and '-' only")
        return value

    @field_validator("stage_args", "server_args")
    @classmethod
    def _shell_words(cls, value: str) -> str:
        shlex.split(value)  # unbalanced quotes fail here, not in a job hours later
        return value

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        if not re.fullmatch(r"(\d+-)?\d{1,3}(:\d{2}){0,2}", value):
            raise ValueError("a Slurm time: MM, HH:MM:SS or D-HH:MM:SS")
        return value
