"""Feed formats: plain lists (one entry a line, hosts-file lines too), CSV and JSON.

A parser never fails on one bad entry: it counts it and keeps it aside with the reason, so one
malformed line costs one domain, not the feed. Only a document that cannot be read at all (JSON
that does not parse, a missing CSV column) fails the source.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from airyard.domains.normalize import InvalidDomain, normalize_domain

FORMATS = ("plain", "csv", "json")


class FeedError(Exception):
    """The feed as a whole cannot be read; its source fails, the others go on."""


@dataclass(frozen=True)
class Reject:
    line: int  # 1-based line (plain, CSV) or item index (JSON)
    raw: str
    reason: str


@dataclass
class ParseResult:
    domains: list[str] = field(default_factory=list)  # canonical, de-duplicated, in feed order
    rejects: list[Reject] = field(default_factory=list)
    duplicates: int = 0
    entries: int = 0  # entries looked at (comments and blank lines excluded)

    def add(self, line: int, raw: Any, seen: set[str], original: str | None = None) -> None:
        """Count one entry; `original` is the feed's whole line, kept with a rejected entry."""
        self.entries += 1
        try:
            domain = normalize_domain(raw)
        except InvalidDomain as exc:
            self.rejects.append(Reject(line, (original if original is not None else str(raw))[:500], str(exc)))
            return
        if domain in seen:
            self.duplicates += 1
            return
        seen.add(domain)
        self.domains.append(domain)


def _is_ip(token: str) -> bool:
    try:
        ipaddress.ip_address(token)
    except ValueError:
        return False
    return True


def parse_plain(text: str, comment_prefixes: tuple[str, ...] = ("#", "!", ";")) -> ParseResult:
    """One domain or URL a line; `0.0.0.0 domain` hosts-file lines give the domain; trailing comments dropped."""
    result, seen = ParseResult(), set[str]()
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith(comment_prefixes):
            continue
        entry = entry.split(" #", 1)[0].strip()
        tokens = entry.split()
        if len(tokens) == 2 and _is_ip(tokens[0]):
            entry = tokens[1]
        elif len(tokens) > 1:
            result.entries += 1
            result.rejects.append(Reject(number, line[:500], f"{len(tokens)} fields on a line"))
            continue
        result.add(number, entry, seen, original=line.strip())
    return result


def _csv_records(lines: list[tuple[int, str]], delimiter: str) -> Iterator[tuple[int, list[str] | str, str]]:
    """(first feed line, row, text) of each CSV record, with the reason in place of the row when the
    csv module refuses it (a field past its size limit): that record is rejected, not the feed."""
    reader = csv.reader(io.StringIO("\n".join(line for _, line in lines)), delimiter=delimiter)
    done = 0  # physical lines read: a quoted field can span lines
    while done < len(lines):
        row: list[str] | str
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            row = f"unreadable CSV row: {exc}"
        # Never seen, but a reader that consumed no line would loop forever: the rest is then this one record.
        end = reader.line_num if reader.line_num > done else len(lines)
        yield lines[done][0], row, "\n".join(line for _, line in lines[done:end])
        done = end


def parse_csv(
    text: str, column: str | int, *, header: bool = True, comment: str = "#", delimiter: str = ","
) -> ParseResult:
    """The domain (or URL) in `column`: a header name, or a 0-based index when the feed has no header."""
    result, seen = ParseResult(), set[str]()
    lines = [
        (n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip() and not line.startswith(comment)
    ]
    rows = list(_csv_records(lines, delimiter))
    index: int
    if header:
        if not rows:
            raise FeedError("CSV feed without a header row")
        if isinstance(rows[0][1], str):
            raise FeedError(f"CSV header: {rows[0][1]}")
        names = [name.strip() for name in rows[0][1]]
        rows = rows[1:]
        if isinstance(column, int):
            index = column
        elif column in names:
            index = names.index(column)
        else:
            raise FeedError(f"CSV column {column!r} not in header {names}")
    else:
        if not isinstance(column, int):
            raise FeedError("a CSV feed without a header needs a column index")
        index = column
    for number, row, raw in rows:
        if isinstance(row, str):
            result.entries += 1
            result.rejects.append(Reject(number, raw[:500], row))
        elif len(row) <= index:
            result.entries += 1
            result.rejects.append(Reject(number, delimiter.join(row)[:500], f"{len(row)} columns, expected > {index}"))
        else:
            result.add(number, row[index], seen, original=delimiter.join(row))
    return result


def _walk(doc: Any, path: str) -> Any:
    for key in filter(None, path.split(".")):
        if not isinstance(doc, dict) or key not in doc:
            raise FeedError(f"JSON path {path!r}: no key {key!r}")
        doc = doc[key]
    return doc


def parse_json(text: str, *, path: str = "", field_name: str | None = None) -> ParseResult:
    """Items of the list at `path` (dotted keys, "" = the document).

    Items are domain strings, or objects whose `field_name` holds the domain (or URL).
    """
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:  # RecursionError: nested deeper than Python recurses
        raise FeedError(f"not JSON: {exc}") from None
    items = _walk(doc, path)
    if not isinstance(items, list):
        raise FeedError(f"JSON path {path!r} is a {type(items).__name__}, not a list")
    result, seen = ParseResult(), set[str]()
    for number, item in enumerate(items, start=1):
        if isinstance(item, dict) and field_name:
            if not isinstance(item.get(field_name), str):
                result.entries += 1
                result.rejects.append(Reject(number, json.dumps(item)[:500], f"no string field {field_name!r}"))
                continue
            result.add(number, item[field_name], seen)
        elif isinstance(item, str) and not field_name:
            result.add(number, item, seen)
        else:
            result.entries += 1
            result.rejects.append(
                Reject(number, json.dumps(item)[:500], f"unexpected item of type {type(item).__name__}")
            )
    return result


def parse(text: str, fmt: str, options: dict[str, Any] | None = None) -> ParseResult:
    """Dispatch on a source's `format` with its `options` (see sources.yaml)."""
    opts = dict(options or {})
    if fmt == "plain":
        return parse_plain(text)
    if fmt == "csv":
        if "column" not in opts:
            raise FeedError("CSV source without `column`")
        return parse_csv(
            text,
            opts["column"],
            header=bool(opts.get("header", True)),
            comment=str(opts.get("comment", "#")),
            delimiter=str(opts.get("delimiter", ",")),
        )
    if fmt == "json":
        return parse_json(text, path=str(opts.get("path", "")), field_name=opts.get("field"))
    raise FeedError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
