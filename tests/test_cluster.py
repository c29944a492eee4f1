"""The Slurm templates, rendered and dry-run: every script parses as bash, submit.sh submits the four jobs with
the right dependencies (sbatch is a stub that records its calls), and a client task finds the servers' URL
files and runs its shard (mathforge is a stub that records its arguments). No Slurm needed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mathforge.cli import main
from mathforge.cluster.config import ClusterConfig
from mathforge.cluster.render import render, render_scripts

STUB = """#!/bin/bash
echo "$(basename "$0") $*" >> "$CALLS"
case "$(basename "$0")" in sbatch) echo $((1000 + $(wc -l < "$CALLS")));; esac
"""


def _config(tmp_path, **kw) -> ClusterConfig:
    values = dict(out=str(tmp_path / "scripts"), run_dir=str(tmp_path / "run"), model="/models/tora-code-7b",
                  served_name="tora", model_servers=4, gpus_per_server=2, sandbox_servers=2, shards=8,
                  stage_args="--dataset math500 --mode tir --n 4", partition="gpu", cpu_partition="cpu",
                  setup="true")  # fmt: skip
    return ClusterConfig(**{**values, **kw})


def _stubs(tmp_path, *names) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in names:
        (bin_dir / name).write_text(STUB)
        (bin_dir / name).chmod(0o755)
    calls = tmp_path / "calls.txt"
    calls.write_text("")
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(calls)}


@pytest.mark.skipif(shutil.which("bash") is None, reason="the scripts are bash")
def test_every_rendered_script_is_valid_bash(tmp_path):
    for server in ("vllm", "sglang"):
        for name, text in render_scripts(_config(tmp_path, server=server)).items():
            path = tmp_path / f"{server}-{name}"
            path.write_text(text)
            check = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
            assert check.returncode == 0, (name, check.stderr)


def test_the_scripts_say_what_each_job_runs(tmp_path):
    s = render_scripts(_config(tmp_path))
    assert "#SBATCH --array=0-3" in s["models.sbatch"] and "#SBATCH --gpus-per-node=2" in s["models.sbatch"]
    assert "vllm serve /models/tora-code-7b --served-model-name tora" in s["models.sbatch"]
    assert (
        "--tensor-parallel-size 2" in s["models.sbatch"] and "#SBATCH --partition=gpu" in s["models.sbatch"]
    )
    assert "#SBATCH --array=0-1" in s["sandboxes.sbatch"] and "gpus" not in s["sandboxes.sbatch"]
    assert (
        "mathforge sandbox serve --host 0.0.0.0" in s["sandboxes.sbatch"]
        and "--token-file" in s["sandboxes.sbatch"]
    )
    assert "#SBATCH --array=0-7" in s["clients.sbatch"] and '--shard "$TASK/8"' in s["clients.sbatch"]
    assert "mathforge merge" in s["merge.sbatch"] and "scancel" in s["merge.sbatch"]
    assert (
        "python -m sglang.launch_server"
        in render_scripts(_config(tmp_path, server="sglang"))["models.sbatch"]
    )
    teacher = render_scripts(_config(tmp_path, stage="augment teacher"))["clients.sbatch"]
    assert "sandbox" not in teacher and "augment-teacher.jsonl" in teacher  # a stage that runs no code


def test_submit_chains_the_jobs_with_their_dependencies(tmp_path):
    cfg = _config(tmp_path)
    render(cfg)
    env = _stubs(tmp_path, "sbatch")
    out = subprocess.run([f"{cfg.out}/submit.sh"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    calls = Path(env["CALLS"]).read_text().splitlines()
    assert calls == [
        "sbatch --parsable models.sbatch",
        "sbatch --parsable sandboxes.sbatch",
        "sbatch --parsable --dependency=after:1001:1002 clients.sbatch",
        "sbatch --parsable --dependency=afterany:1003 --export=ALL,SERVER_JOBS=1001 1002 merge.sbatch",
    ]
    token = Path(cfg.run_dir) / "sandbox.token"
    assert len(token.read_text().strip()) == 64 and token.stat().st_mode & 0o077 == 0  # the owner's only
    assert "merge 1004" in out.stdout


def test_a_client_task_runs_its_shard_against_the_servers_that_came_up(tmp_path):
    cfg = _config(tmp_path, model_servers=2, sandbox_servers=1, wait_minutes=1)
    render(cfg)
    run = Path(cfg.run_dir)
    for kind, urls in (
        ("models", ["http://n1:8000/v1", "http://n2:8000/v1"]),
        ("sandboxes", ["http://c1:8100"]),
    ):
        (run / "endpoints" / kind).mkdir(parents=True)
        for i, url in enumerate(urls):
            (run / "endpoints" / kind / f"{i}.url").write_text(url + "\n")
    env = {**_stubs(tmp_path, "mathforge"), "SLURM_ARRAY_TASK_ID": "5"}
    out = subprocess.run(
        ["bash", f"{cfg.out}/clients.sbatch"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    (call,) = Path(env["CALLS"]).read_text().splitlines()
    assert call.startswith(
        "mathforge evaluate --dataset math500 --mode tir --n 4 --model tora --base-urls-file "
    )
    assert f"--shard 5/8 --out {run}/eval" in call
    assert (run / "endpoints" / "models-5.txt").read_text().split() == [
        "http://n1:8000/v1",
        "http://n2:8000/v1",
    ]
    assert f"--sandbox-token-file {run}/sandbox.token" in call


def test_the_verb_writes_the_scripts_and_bad_settings_are_refused(tmp_path, capsys):
    code = main(
        ["cluster", "slurm", "--run-dir", str(tmp_path / "run"), "--model", "m", "--out", str(tmp_path / "s")]
    )
    assert code == 0 and sorted(p.name for p in (tmp_path / "s").iterdir()) == sorted(
        ["models.sbatch", "sandboxes.sbatch", "clients.sbatch", "merge.sbatch", "submit.sh"]
    )
    with pytest.raises(ValueError, match="quotation"):
        _config(tmp_path, stage_args="--dataset 'math500")
    with pytest.raises(ValueError, match="Slurm time"):
        _config(tmp_path, time="four hours")


def test_jobs_run_where_they_were_rendered_so_the_default_setup_resolves(tmp_path, monkeypatch):
    # a project with its venv: activating it puts its (stub) mathforge on PATH
    project = tmp_path / "project"
    venv_bin = project / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "activate").write_text('export PATH="$(pwd)/.venv/bin:$PATH"\n')
    (venv_bin / "mathforge").write_text('#!/bin/bash\necho "$(pwd) $*" >> "$CALLS"\n')
    (venv_bin / "mathforge").chmod(0o755)
    monkeypatch.chdir(project)
    cfg = ClusterConfig(out=str(tmp_path / "scripts"), run_dir="run", model="m", model_servers=1,
                        sandbox_servers=0, shards=2, wait_minutes=1)  # fmt: skip  # the default setup
    assert cfg.setup == "source .venv/bin/activate"
    render(cfg)
    run_dir = project / "run"  # a relative run_dir is the project's too
    (run_dir / "endpoints" / "models").mkdir(parents=True)
    (run_dir / "endpoints" / "models" / "0.url").write_text("http://n1:8000/v1\n")
    calls = tmp_path / "calls.txt"
    calls.write_text("")
    env = {**os.environ, "CALLS": str(calls), "SLURM_ARRAY_TASK_ID": "1"}
    # Slurm starts a job where it was submitted: submit.sh's folder, the scripts'
    out = subprocess.run(["bash", "clients.sbatch"], cwd=cfg.out, env=env, capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    (call,) = calls.read_text().splitlines()
    assert call.startswith(f"{project} evaluate ") and f"--out {run_dir}/eval" in call
    assert f"#SBATCH --output={run_dir}/logs/" in (tmp_path / "scripts" / "merge.sbatch").read_text()
