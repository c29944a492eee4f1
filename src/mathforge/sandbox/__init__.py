"""mathforge.sandbox: isolated, stateful, fast execution of model-written Python.

``Sandbox`` keeps warm "zygote" processes (math, fractions, numpy, sympy, scipy imported) that fork
one isolated child per stateless cell or per ``Session``. See ``isolation`` for the protections and
``mathforge sandbox doctor`` for which ones the running kernel grants.
"""

from mathforge.sandbox.pool import DEFAULT_PRELOAD, Sandbox, Session
from mathforge.sandbox.result import STATUSES, ExecResult, render, truncate_middle

__all__ = ["DEFAULT_PRELOAD", "STATUSES", "ExecResult", "Sandbox", "Session", "render", "truncate_middle"]
