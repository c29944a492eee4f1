"""Cluster job scripts: Slurm sbatch templates (no containers) for model servers, sandbox servers, a sharded
client array job and the merge step, rendered by ``mathforge cluster slurm``."""
