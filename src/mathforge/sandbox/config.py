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
    sandbox_url: list[str] = setting(
        [],
        "run programs on `mathforge sandbox serve` servers instead of in-process (several: each cell or "
        "session goes to the one with the fewest in flight; the servers' own workers and memory apply)",
    )
    sandbox_urls_file: str | None = setting(
        None, "a file of sandbox server URLs, one per line (# comments), added to --sandbox-url", io="in"
    )
    sandbox_token_file: str | None = setting(
        None, "file holding the sandbox servers' bearer token (default: $MATHFORGE_SANDBOX_TOKEN)", io="in"
    )

    def sandbox_urls(self) -> list[str]:
        """Every sandbox server URL given (the file is read now); empty: the sandbox runs in-process."""
        from mathforge.balance import check_url, read_url_list

        urls = [check_url(u, "sandbox_url") for u in self.sandbox_url]
        if self.sandbox_urls_file:
            urls += read_url_list(self.sandbox_urls_file, "sandbox_urls_file")
        return list(dict.fromkeys(urls))

    def make_sandbox(self, **overrides):
        """A :class:`~mathforge.sandbox.Sandbox` with these settings (the caller closes it): over HTTP
        (:class:`~mathforge.sandbox.remote.RemoteSandbox`) when sandbox servers are named."""
        urls = self.sandbox_urls()
        if urls:
            from mathforge.sandbox.remote import RemoteSandbox

            return RemoteSandbox(urls, overrides.pop("timeout", self.sandbox_timeout),
                                 token_file=self.sandbox_token_file, **overrides)  # fmt: skip
        from mathforge.sandbox.pool import Sandbox

        kwargs = dict(
            workers=self.sandbox_workers, timeout=self.sandbox_timeout, memory=self.sandbox_memory << 20
        )
        return Sandbox(**{**kwargs, **overrides})
