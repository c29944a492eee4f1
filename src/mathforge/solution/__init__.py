"""The code-nested solution format, shared by synthesis, training and inference.

A solution is a list of segments: ``Text``, ``Code`` (a python block the model wrote) and ``Output``
(what the interpreter printed). Two surface formats are supported:

* ``tora`` (default)::

      Some reasoning.
      ```python
      print(48 / 2)
      ```
      ```output
      24.0
      ```
      So the answer is \\boxed{24}.

* ``mario``: ``<p>`` text steps, ``<code>`` blocks and ``Output:`` lines (MARIO's format)::

      <p>
      Some reasoning.
      </p>
      <code>
      print(48 / 2)
      </code>
      Output: 24.0
      <p>
      So the answer is $\\boxed{24}$.
      </p>
"""

from mathforge.solution.boxed import last_boxed
from mathforge.solution.format import (
    FORMATS,
    Code,
    Output,
    Segment,
    SolutionFormat,
    Text,
    answer_end,
    get_format,
    last_code,
    output_spans,
    parse,
    render,
)
from mathforge.solution.prompts import (
    PROMPT_FORMATS,
    SHOT_SEPARATOR,
    SYSTEM_PROMPTS,
    PromptFormat,
    build_prompt,
    get_prompt_format,
    messages,
    system_for,
)

__all__ = [
    "FORMATS",
    "SHOT_SEPARATOR",
    "SYSTEM_PROMPTS",
    "PROMPT_FORMATS",
    "Code",
    "Output",
    "PromptFormat",
    "Segment",
    "SolutionFormat",
    "Text",
    "build_prompt",
    "get_format",
    "get_prompt_format",
    "last_boxed",
    "answer_end",
    "last_code",
    "messages",
    "output_spans",
    "parse",
    "render",
    "system_for",
]
