"""One spelling per domain: what every feed entry is turned into before it reaches Kafka.

Feeds spell the same domain many ways (EXAMPLE.com, example.com., a URL, a hosts-file line, its
Unicode or its punycode form). Downstream de-duplication only works on a canonical form: the
lower-case ASCII (IDNA 2008 / UTS 46) name without trailing dots, port, path or credentials.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

import idna

MAX_LENGTH = 253
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SEPARATORS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})  # ideographic full stops


class InvalidDomain(ValueError):
    """The value is not a domain name; the message is the reason kept with the rejected line."""


def _host_part(value: str) -> str:
    if "://" in value:
        try:
            host = urlsplit(value).hostname
        except ValueError as exc:
            raise InvalidDomain(f"unparseable URL: {exc}") from None
        if not host:
            raise InvalidDomain("URL without a host")
        return host
    host = re.split(r"[/?#]", value, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1]
    if host.count(":") == 1:  # host:port (more colons: an IPv6 address, rejected below)
        host = host.split(":", 1)[0]
    return host


def normalize_domain(value: str) -> str:
    """The canonical form of a domain, URL or host; raises InvalidDomain with the reason otherwise."""
    if not isinstance(value, str):
        raise InvalidDomain(f"not text: {type(value).__name__}")
    text = value.strip().translate(_SEPARATORS)
    if not text:
        raise InvalidDomain("empty")
    host = _host_part(text).strip().rstrip(".").lower()
    if host.startswith("*."):
        host = host[2:]  # wildcard entries block the domain itself
    if not host:
        raise InvalidDomain("empty host")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        raise InvalidDomain("IP address, not a domain")
    if any(c.isspace() for c in host):
        raise InvalidDomain("whitespace inside the name")
    try:
        ascii_name = idna.encode(host, uts46=True, std3_rules=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        raise InvalidDomain(f"not a valid IDNA name: {exc}") from None
    ascii_name = ascii_name.rstrip(".").lower()
    if len(ascii_name) > MAX_LENGTH:
        raise InvalidDomain(f"longer than {MAX_LENGTH} characters")
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise InvalidDomain("single label, not a registrable domain")
    for label in labels:
        if not _LABEL.match(label):
            raise InvalidDomain(f"invalid label {label!r}")
    if labels[-1].isdigit():
        raise InvalidDomain("numeric top-level label")
    # A punycode label must decode: idna.encode passes "xn--" labels through unchecked.
    if "xn--" in ascii_name:
        try:
            idna.decode(ascii_name)
        except (idna.IDNAError, UnicodeError, ValueError) as exc:
            raise InvalidDomain(f"invalid punycode: {exc}") from None
    return ascii_name
