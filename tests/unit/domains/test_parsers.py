"""Feed parsers: the fake feeds (real formats) give exactly the hand-written expectations."""

from __future__ import annotations

import pytest
from airyard.domains import sources
from airyard.domains.parsers import FeedError, parse, parse_csv, parse_json, parse_plain

from tests.fakes import threat_feeds


@pytest.mark.parametrize("source", sources.load(), ids=lambda s: s.name)
def test_shipped_sources_parse_the_fake_feeds(source: sources.Source) -> None:
    _, _, body = threat_feeds.FEEDS[source.path]
    result = parse(body, source.format, source.options)
    assert set(result.domains) == threat_feeds.EXPECTED[source.name]
    assert len(result.domains) == len(set(result.domains))
    assert len(result.rejects) == threat_feeds.REJECTED[source.name]
    assert all(r.reason and r.line > 0 for r in result.rejects)


def test_plain_hosts_file_lines_comments_and_duplicates() -> None:
    result = parse_plain("# c\n\n0.0.0.0 A.example.com\na.example.com.\n127.0.0.1 localhost\nb.example.com # note\n")
    assert result.domains == ["a.example.com", "b.example.com"]
    assert result.duplicates == 1
    assert [(r.line, r.reason) for r in result.rejects] == [(5, "single label, not a registrable domain")]


def test_csv_by_header_name_and_short_rows() -> None:
    result = parse_csv("id,domain\n1,x.example.com\n2\n3,\n", "domain")
    assert result.domains == ["x.example.com"]
    assert sorted(r.line for r in result.rejects) == [3, 4]


def test_csv_missing_column_fails_the_feed() -> None:
    with pytest.raises(FeedError, match="not in header"):
        parse_csv("id,url\n1,x.example.com\n", "domain")


def test_json_broken_document_fails_the_feed() -> None:
    with pytest.raises(FeedError, match="not JSON"):
        parse_json(threat_feeds.FEEDS["/broken/feed.json"][2])
    with pytest.raises(FeedError, match="no key"):
        parse_json('{"data": []}', path="data.domains")


def test_load_rejects_bad_config(tmp_path) -> None:
    cfg = tmp_path / "s.yaml"
    cfg.write_text("sources:\n  - {name: a, format: xml, url: http://x}\n")
    with pytest.raises(ValueError, match="format"):
        sources.load(cfg)
    cfg.write_text("sources:\n  - {name: a, format: plain}\n")
    with pytest.raises(ValueError, match="needs `url`"):
        sources.load(cfg)
