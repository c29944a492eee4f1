"""The sandbox settings a stage exposes (``sandbox_*`` keys), declared once for every stage that runs code."""

from __future__ import annotations

from mathforge.config import Config, setting


class SandboxConfig(Config):
    """How model-written programs run: see :class:`mathforge.sandbox.Sandbox` for the isolation."""

    sandbox_workers: int | None = setting(
        None, "sandbox zygote processes that fork the programs (default: one per CPU core)"
    )
    sandbox_timeout: float = setting(5.0, "wall-clock seconds one program may run before it is killed")
    sandbox_memory: int = setting(2048, "address-space limit of one program, in MiB")

    def make_sandbox(self, **overrides):
        """A :class:`~mathforge.sandbox.Sandbox` with these settings (the caller closes it)."""
        from mathforge.sandbox.pool import Sandbox

        kwargs = dict(
            workers=self.sandbox_workers, timeout=self.sandbox_timeout, memory=self.sandbox_memory << 20
        )
        return Sandbox(**{**kwargs, **overrides})
