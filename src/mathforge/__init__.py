"""mathforge: build and evaluate tool-integrated math-reasoning LLMs.

Pipeline stages (one package each): data -> augment -> synthesize -> train -> infer -> evaluate.
Shared services: sandbox (isolated Python), answer (extraction + grading), llm (backends),
solution (the code-nested format).
"""

__version__ = "0.1.0"
