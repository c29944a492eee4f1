"""#12.4/#12.10: every class of bad server reply becomes a clear RequestFailed (after retries), never a crash,
a hang or a bad completion; a reply trickled a byte at a time is cut off by the request deadline."""

from __future__ import annotations

import pytest

from mathforge.llm import GenParams, OpenAIBackend
from mathforge.llm.openai_backend import RequestFailed


def _backend(url, api="completions", **kw):
    kw = {"max_retries": 1, "backoff": 0.01, "timeout": 5.0, **kw}
    return OpenAIBackend(url, "m", api=api, **kw)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("status:400", "HTTP 400"),
        ("status:503", "HTTP 503"),
        ("html", "502 Bad Gateway"),
        ("truncated", "JSONDecodeError"),
        ("empty_choices", "no choices"),
        ("content_number", "not a string"),
        ("reset", "Connection error"),
    ],
)
@pytest.mark.parametrize("api", ["completions", "chat"])
def test_each_fault_fails_the_request_with_a_clear_error(fault_server, fault, message, api):
    with fault_server(lambda body: fault) as srv:
        b = _backend(srv.url, api)
        with pytest.raises(RequestFailed, match=message) as err:
            b.generate(["q"], GenParams(max_tokens=3))
    assert "attempt" in str(err.value)
    # a bad request is not retried; everything else is (once, here)
    assert len(srv.requests) == (1 if fault == "status:400" else 2)
    assert b.stats()["failed_requests"] == 1


def test_content_as_a_list_of_parts_is_joined_not_cached_as_a_list(fault_server):
    with fault_server(lambda body: "content_list", text_for=lambda body: "hello") as srv:
        (out,) = _backend(srv.url, "chat").generate(["q"], GenParams(max_tokens=3))
    assert out[0].text == "hello"


def test_a_server_trickling_bytes_is_held_to_the_request_deadline(fault_server):
    """A per-read timeout would wait for the whole ~10 s trickle; the request deadline ends it, so the
    request fails instead of succeeding (the behaviour, not a time, is asserted)."""
    with fault_server(lambda body: "drip", text_for=lambda body: "x" * 40) as srv:
        b = _backend(srv.url, max_retries=0, timeout=1.0)
        with pytest.raises(RequestFailed, match="deadline"):
            b.generate(["q"], GenParams(max_tokens=3))
