"""HFBackend on a tiny random Llama: batching with left padding, stop strings, n samples, seeds."""

from __future__ import annotations

import pytest

from mathforge.io import DataError
from mathforge.llm import BackendConfig, GenParams, HFBackend, cut_at_stop, load_backend

PROMPTS = ["Question: What is 1 + 2?\nAnswer:\n", "The quick", "0123 + 45 = ( [ {"]


@pytest.fixture(scope="module")
def backend(random_llama):
    return HFBackend(random_llama, device="cpu", batch_size=8)


def test_batched_left_padded_generation_equals_one_at_a_time(random_llama, backend):
    params = GenParams(max_tokens=12)
    batched = backend.generate(PROMPTS, params)
    single = HFBackend(random_llama, device="cpu", batch_size=1)
    for prompt, outs in zip(PROMPTS, batched, strict=True):
        alone = single.generate([prompt], params)[0]
        assert [c.text for c in outs] == [c.text for c in alone]
    assert all(len(outs) == 1 for outs in batched)


def test_length_finish_and_token_count(backend):
    ((out,),) = backend.generate([PROMPTS[0]], GenParams(max_tokens=7))
    assert out.finish_reason == "length"
    assert out.tokens == 7
    assert out.stop is None
    # text is the continuation only: re-tokenising it gives about as many tokens back
    assert not out.text.startswith("Question:")


def test_stop_string_fires_and_stays_at_the_end(backend):
    ((free,),) = backend.generate([PROMPTS[1]], GenParams(max_tokens=30))
    assert len(free.text) > 8, "the random model must produce some text to cut"
    stop = free.text[5:8]
    first = free.text.find(stop)
    ((out,),) = backend.generate([PROMPTS[1]], GenParams(max_tokens=30, stop=(stop, "never-seen-string")))
    assert out.finish_reason == "stop"
    assert out.stop == stop
    assert out.text == free.text[: first + len(stop)]
    assert out.tokens < 30  # generation really stopped early, not only the text was cut


def test_stop_strings_stop_each_row_of_a_batch_on_its_own(backend):
    free = [o[0].text for o in backend.generate(PROMPTS, GenParams(max_tokens=25))]
    stop = free[0][3:6]
    outs = backend.generate(PROMPTS, GenParams(max_tokens=25, stop=(stop,)))
    for text, (out,) in zip(free, outs, strict=True):
        expected, fired = cut_at_stop(text, (stop,))
        assert out.text == expected
        assert out.stop == fired


def test_n_samples_and_seed(backend):
    params = GenParams(max_tokens=10, temperature=1.0, n=4, seed=7)
    a = backend.generate(PROMPTS[:2], params)
    b = backend.generate(PROMPTS[:2], params)
    assert [len(x) for x in a] == [4, 4]
    assert [[c.text for c in x] for x in a] == [[c.text for c in x] for x in b]
    assert len({c.text for c in a[0]}) > 1, "sampling at temperature 1 should give different samples"
    c = backend.generate(PROMPTS[:2], params.with_(seed=8))
    assert [[x.text for x in y] for y in c] != [[x.text for x in y] for y in a]


def test_agenerate_matches_generate(backend):
    import asyncio

    params = GenParams(max_tokens=8)
    outs = asyncio.run(backend.agenerate(PROMPTS[2], params))
    assert [c.text for c in outs] == [c.text for c in backend.generate([PROMPTS[2]], params)[0]]


def test_load_backend_picks_in_process_for_a_path(random_llama, tmp_path):
    b = load_backend(BackendConfig(model=str(random_llama), batch_size=3))
    assert isinstance(b, HFBackend) and b.batch_size == 3 and b.max_batch == 3 and b.name == str(random_llama)
    with pytest.raises(DataError, match="--model"):
        load_backend(BackendConfig())
    with pytest.raises(DataError, match="NAME"):
        load_backend(BackendConfig(base_url="http://127.0.0.1:1"))


def test_a_missing_model_folder_is_named_not_reported_as_a_bad_hub_id(tmp_path):
    with pytest.raises(DataError, match="does not exist") as err:
        load_backend(BackendConfig(model=str(tmp_path / "runs" / "no-such-model")))
    assert "no-such-model" in str(err.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no config.json"):
        load_backend(BackendConfig(model=str(tmp_path / "empty")))
    with pytest.raises(DataError, match="not a local folder"):  # HF_HUB_OFFLINE is set for the tests
        load_backend(BackendConfig(model="nobody/no-such-model-anywhere"))


def test_gen_params_validation():
    assert GenParams(stop="x").stop == ("x",)
    assert GenParams(stop=["a", "b"]).stop == ("a", "b")
    with pytest.raises(ValueError):
        GenParams(max_tokens=0)
    with pytest.raises(ValueError):
        GenParams(n=0)


def test_cut_at_stop_picks_the_earliest_end():
    assert cut_at_stop("abc```output\nxyz", ("```output",)) == ("abc```output", "```output")
    assert cut_at_stop("a STOP b END", ("END", "STOP")) == ("a STOP", "STOP")
    assert cut_at_stop("nothing", ("x",)) == ("nothing", None)


def test_generation_stops_at_the_context_limit(random_llama):
    backend = HFBackend(random_llama, device="cpu")
    backend._max_positions = 40  # as if the model's context were 40 tokens
    prompt = "The quick brown fox jumps over the lazy dog. " * 2
    width = len(backend.tokenizer(prompt)["input_ids"])
    assert width < 40
    ((out,),) = backend.generate([prompt], GenParams(max_tokens=100))
    assert out.finish_reason == "length" and out.tokens == 40 - width
    ((out,),) = backend.generate([prompt * 3], GenParams(max_tokens=100))  # already past it
    assert (out.text, out.finish_reason, out.tokens) == ("", "length", 0)


def test_min_tokens_suppresses_early_eos(backend):
    ((out,),) = backend.generate([PROMPTS[0]], GenParams(max_tokens=15, min_tokens=15))
    assert out.tokens == 15 and out.finish_reason == "length"


def test_on_finish_reports_each_stopped_row_once_with_its_final_completion(backend):
    free = [o[0].text for o in backend.generate(PROMPTS, GenParams(max_tokens=25))]
    stop = free[0][3:6]
    params = GenParams(max_tokens=25, stop=(stop,))
    seen: list[tuple[int, str]] = []
    outs = backend.generate(PROMPTS, params, on_finish=lambda i, c: seen.append((i, c.text)))
    stopped = {i for i, (out,) in enumerate(outs) if out.stop == stop}
    assert stopped and 0 in stopped
    assert sorted(i for i, _ in seen) == sorted(stopped)  # once each, and only rows that hit the stop
    assert all(text == outs[i][0].text for i, text in seen)  # what the caller gets at the end
