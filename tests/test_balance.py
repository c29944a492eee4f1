"""The placement policy shared by the model-server router and the remote sandbox (mathforge.balance)."""

from __future__ import annotations

import time

import pytest

from mathforge.balance import Balancer, read_url_list
from mathforge.io import DataError


def test_new_work_goes_to_the_server_with_the_fewest_in_flight_and_ties_spread():
    b = Balancer(["http://a", "http://b", "http://c"])
    first = [b.pick() for _ in range(3)]
    assert [e.url for e in first] == ["http://a", "http://b", "http://c"]  # ties: least work given so far
    b.succeeded(first[1], 0.1)  # b is free again, a and c still busy
    assert b.pick().url == "http://b"


def test_a_unit_stays_where_it_started_while_that_server_is_up():
    b = Balancer(["http://a", "http://b"])
    home = b.pick()
    other = b.pick()
    b.succeeded(other, 0.1)  # b now has fewer in flight than a
    assert b.pick(prefer=home) is home
    assert b.pick(avoid=home) is other


def test_repeated_failures_take_a_server_out_then_probation_puts_it_back_or_out():
    b = Balancer(["http://a", "http://b"], eject_after=2, cooldown=0.05)
    a = b.endpoints[0]
    for _ in range(2):
        assert b.pick(prefer=a) is a
        b.failed(a, "HTTP 503")
    assert not a.up() and a.ejections == 1
    assert all(b.pick().url == "http://b" for _ in range(3))  # its work goes elsewhere
    time.sleep(0.06)
    assert a.up() and a.state() == "probation"  # cooldown over: on probation
    b.pick(prefer=a)
    assert b.failed(a, "HTTP 503") is True  # one failure on probation takes it out again, for longer
    assert a.ejections == 2 and a.cooldown == pytest.approx(0.1)
    time.sleep(0.11)
    b.pick(prefer=a)
    b.succeeded(a, 0.01)
    assert a.cooldown == 0.0 and a.up()  # a success ends probation
    b.pick(prefer=a)
    assert b.failed(a, "HTTP 503") is False  # back to needing eject_after failures in a row


def test_a_bad_request_does_not_count_against_the_server():
    b = Balancer(["http://a"], eject_after=1)
    a = b.pick()
    b.failed(a, "HTTP 400", server_fault=False)
    assert a.up() and a.errors == 1


def test_health_checks_refused_at_once_slow_twice():
    b = Balancer(["http://a", "http://b"], cooldown=30)
    a, c = b.endpoints
    b.health(a, False, "ConnectError", refused=True)
    assert not a.up()
    b.health(c, False, "ReadTimeout")
    assert c.up()  # a loaded server may answer late once
    b.health(c, False, "ReadTimeout")
    assert not c.up()
    # with every server out, the one back first is tried (and the caller is told how long that is)
    assert b.all_down_for() > 0
    assert b.pick() in (a, c)


def test_stats_name_each_server():
    b = Balancer(["http://a", "http://b"])
    e = b.pick()
    b.succeeded(e, 0.5, tokens=7)
    stats = b.stats()
    assert stats["http://a"] == {"requests": 1, "errors": 0, "tokens": 7, "mean_latency_s": 0.5,
                                 "max_in_flight": 1, "ejections": 0, "state": "up"}  # fmt: skip
    assert stats["http://b"]["mean_latency_s"] is None


def test_url_files_skip_comments_and_name_a_bad_line(tmp_path):
    good = tmp_path / "urls.txt"
    good.write_text("# model servers\nhttp://node1:8000/v1\n\n  http://node2:8000/v1  # second\n")
    assert read_url_list(good, "base_urls_file") == ["http://node1:8000/v1", "http://node2:8000/v1"]
    bad = tmp_path / "bad.txt"
    bad.write_text("http://node1:8000/v1\nnode2:8000\n")
    with pytest.raises(DataError) as err:
        read_url_list(bad, "base_urls_file")
    assert (err.value.path, err.value.line, err.value.field) == (str(bad), 2, "base_urls_file")
    with pytest.raises(DataError, match="lists none"):
        (tmp_path / "empty.txt").write_text("# nothing\n")
        read_url_list(tmp_path / "empty.txt", "base_urls_file")
    with pytest.raises(DataError, match="does not exist"):
        read_url_list(tmp_path / "missing.txt", "base_urls_file")
