"""Domain normalisation: examples from real feeds, and properties over generated names (hypothesis)."""

from __future__ import annotations

import re

import idna
import pytest
from airyard.domains.normalize import InvalidDomain, normalize_domain
from hypothesis import assume, given, settings
from hypothesis import strategies as st

CANONICAL = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]*[a-z][a-z0-9-]*$")

label = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True).filter(lambda s: s[2:4] != "--")
tld = st.from_regex(r"[a-z]{2,10}", fullmatch=True)
ascii_domain = st.builds(lambda ls, t: ".".join([*ls, t]), st.lists(label, min_size=1, max_size=4), tld)
unicode_label = st.text(alphabet="abcdeéüßøåçñжыж中文日本", min_size=1, max_size=12)
unicode_domain = st.builds(lambda ls, t: ".".join([*ls, t]), st.lists(unicode_label, min_size=1, max_size=3), tld)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("example.com..", "example.com"),
        ("  example.com\t", "example.com"),
        ("http://user:pw@Bad.Example.org:8080/x?y#z", "bad.example.org"),
        ("bad.example.org/path", "bad.example.org"),
        ("bad.example.org:443", "bad.example.org"),
        ("*.evil.net", "evil.net"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("BÜCHER.example.", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("例え。テスト", "xn--r8jz45g.xn--zckzah"),
    ],
)
def test_examples(raw: str, expected: str) -> None:
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("localhost", "single label"),
        ("203.0.113.7", "IP address"),
        ("http://[2001:db8::1]/x", "IP address"),
        ("exa mple.com", "whitespace"),
        ("a..b.com", "IDNA"),
        ("-bad.com", "IDNA"),
        ("bad_label.com", "IDNA"),
        ("example.123", "numeric"),
        ("xn--zz.com", "IDNA"),
        ("a" * 64 + ".com", "IDNA"),
        (".".join(["a" * 60] * 5) + ".com", "too long"),
    ],
)
def test_rejects_with_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidDomain, match=reason):
        normalize_domain(raw)


@given(ascii_domain)
def test_ascii_domains_are_kept_and_canonical(domain: str) -> None:
    assume(not domain.split(".")[-1].isdigit())
    out = normalize_domain(domain)
    assert out == domain
    assert CANONICAL.match(out)


@given(ascii_domain, st.sampled_from([str.upper, str.title, str.swapcase, str.lower]), st.integers(0, 3))
def test_case_and_trailing_dots_do_not_matter(domain: str, case, dots: int) -> None:
    assert normalize_domain(case(domain) + "." * dots) == normalize_domain(domain)


@given(
    ascii_domain,
    st.sampled_from(["http", "https", "hxxp"]),
    st.sampled_from(["", ":8080", ":443"]),
    st.text("abc/", max_size=8),
)
def test_urls_reduce_to_their_host(domain: str, scheme: str, port: str, path: str) -> None:
    url = f"{scheme}://{domain}{port}/{path}"
    assert normalize_domain(url) == normalize_domain(domain)


@settings(max_examples=200)
@given(unicode_domain)
def test_unicode_and_punycode_spellings_agree(domain: str) -> None:
    try:
        out = normalize_domain(domain)
    except InvalidDomain:
        return  # e.g. mixed scripts IDNA 2008 refuses: a reason, never another exception
    assert out.isascii()
    assert out == out.lower()
    assert normalize_domain(idna.encode(domain, uts46=True).decode()) == out
    assert normalize_domain(out) == out  # idempotent


@settings(max_examples=300)
@given(st.text(max_size=80))
def test_anything_is_either_canonical_or_rejected_with_a_reason(raw: str) -> None:
    try:
        out = normalize_domain(raw)
    except InvalidDomain as exc:
        reason = str(exc)
        out = ""
    else:
        reason = ""
    if not out:
        assert reason
        return
    assert CANONICAL.match(out), out
    assert normalize_domain(out) == out
