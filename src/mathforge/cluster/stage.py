"""This package's verb in the registry: ``cluster slurm``."""

from mathforge.cluster.config import ClusterConfig
from mathforge.registry import Stage

STAGES = [
    Stage(
        "cluster slurm",
        ClusterConfig,
        run="mathforge.cluster.render:render",
        report="mathforge.cluster.render:report",
        help="write Slurm job scripts: N model servers, M sandbox servers, a sharded client array, the merge",
        description="Render the Slurm templates (no containers) into --out: models.sbatch (an array of vLLM or "
        "SGLang servers, each writing its URL to RUN_DIR/endpoints/models/ once healthy), sandboxes.sbatch "
        "(`mathforge sandbox serve` with a bearer token), clients.sbatch (an array job: `mathforge STAGE "
        "--shard I/N --base-urls-file ... --sandbox-urls-file ...`), merge.sbatch (`mathforge merge`, then "
        "the servers are cancelled) and submit.sh, which submits them with their dependencies. Nothing is "
        "submitted: read the scripts, then run submit.sh.",
    ),
]
