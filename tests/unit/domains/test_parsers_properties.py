"""Feed parsers, thrown arbitrary lines and JSON (hypothesis): each entry is a canonical domain, a
duplicate or a reject with its reason; only a document that cannot be read at all fails its source
(FeedError), and never with another exception, which would fail every source of the run.
"""

from __future__ import annotations

import csv
import json
import re

import pytest
from airyard.domains.parsers import FeedError, ParseResult, parse_csv, parse_json, parse_plain
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.fakes import threat_feeds
from tests.unit.shapes import almost, json_values, text

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CANONICAL = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]*[a-z][a-z0-9-]*$")
OVERSIZE = "a" * (csv.field_size_limit() + 1) + ".example.com"  # past the csv module's field limit

#: Lines of the fake feeds (the real formats) and arbitrary ones, bad encoding (U+FFFD) and oversize too.
feed_line = st.one_of(
    st.sampled_from(
        threat_feeds.HOSTFILE.splitlines() + threat_feeds.PHISHING.splitlines() + threat_feeds.URLHAUS_CSV.splitlines()
    ),
    text,
    st.text(st.sampled_from('a.,"#\t \ufffd\x00\r-/:'), max_size=20),
    st.just(OVERSIZE),
)
feeds = st.builds("\n".join, st.lists(feed_line, max_size=8))


def check(result: ParseResult) -> None:
    assert result.entries == len(result.domains) + result.duplicates + len(result.rejects)
    assert len(set(result.domains)) == len(result.domains)
    assert all(CANONICAL.match(d) for d in result.domains)
    assert all(r.reason and r.line >= 1 and len(r.raw) <= 500 for r in result.rejects)
    json.dumps([r.__dict__ for r in result.rejects])  # what ingest produces to the rejected topic


@PROPERTY
@given(feeds)
@example(OVERSIZE)
def test_plain(feed: str) -> None:
    check(parse_plain(feed))


@PROPERTY
@given(feeds, st.sampled_from([(2, False), ("domain", True), (0, True)]))
@example(f"id,domain\n1,{OVERSIZE}\n2,ok.example.com\n", ("domain", True))  # _csv.Error: field larger than field limit
@example('id,domain\n1,"open quote\n2,ok.example.com\n', ("domain", True))
@example("id,domain\n1,a\x00b.example.com\n2,ok.example.com\n", ("domain", True))
def test_csv(feed: str, column: tuple[str | int, bool]) -> None:
    try:
        result = parse_csv(feed, column[0], header=column[1])
    except FeedError as exc:
        reason = str(exc)  # no header row, or the column is not in it: the feed as a whole
    else:
        check(result)
        return
    assert reason


documents = st.one_of(
    st.tuples(st.one_of(json_values, almost(threat_feeds.PHISHTANK)).map(json.dumps), st.just(""), st.just("url")),
    st.tuples(
        st.one_of(json_values, almost(threat_feeds.THREATFOX)).map(json.dumps), st.just("data.domains"), st.none()
    ),
    st.tuples(text, st.just(""), st.none()),
)


@PROPERTY
@given(documents)
@example(("[" * 100_000, "", None))  # RecursionError out of json.loads
@example(('[{"url": "a.example.com"}, NaN, {"url": Infinity}]', "", "url"))
def test_json(doc: tuple[str, str, str | None]) -> None:
    feed, path, field_name = doc
    try:
        result = parse_json(feed, path=path, field_name=field_name)
    except FeedError as exc:
        reason = str(exc)
    else:
        check(result)
        return
    assert reason


def test_oversize_csv_field_is_rejected_and_the_feed_goes_on() -> None:
    result = parse_csv(f"id,domain\n1,{OVERSIZE}\n2,ok.example.com\n", "domain")
    assert result.domains == ["ok.example.com"]
    assert [(r.line, r.reason.split(":")[0]) for r in result.rejects] == [(2, "unreadable CSV row")]


def test_document_nested_too_deeply_fails_its_source_only() -> None:
    with pytest.raises(FeedError, match="not JSON"):
        parse_json("[" * 100_000)


def test_line_numbers_stay_right_after_a_quoted_field_spanning_lines() -> None:
    result = parse_csv('id,domain\n1,"a\nb"\n2,bad_label.com\n', "domain")
    assert [r.line for r in result.rejects] == [2, 4]
