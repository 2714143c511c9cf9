"""Where the server may call: the outbound allow list (admins keep it) and the checks every call passes.

The threat is server-side request forgery. A script or a workflow rule names
a URL and the server POSTs to it from inside the network, signed with the
webhook secret: without checks, any user who can deploy a diagram reaches
the database port, the cloud metadata service (169.254.169.254) or an
internal admin endpoint. So a webhook is checked twice:

- when a step queues it (`check_url`): http or https, no user info, and the
  host matches an entry of the allow list (the `outbound_host` table, plus
  STAGECOACH_OUTBOUND_ALLOW / _ALLOW_PRIVATE). A refusal fails the step:
  the instance stays at its last good state, with an incident naming the
  host; once an admin allows the host, a retry goes on. The same step also
  counts the call (`count_call`) against the per-step and per-instance limits.
- when the outbox delivers it (`pin`): the same URL checks against the list
  as it is then, the host is resolved once, and every address it resolves to
  must be public (not private, loopback, link-local, multicast, reserved,
  unspecified, shared, or one of those inside an IPv6 address) unless a
  matching entry has `allow_private`. The outbox connects to the addresses
  checked here, never to a fresh DNS answer, so a name rebound between
  check and connect cannot redirect the call; it follows no redirects.

Patterns: `hooks.example.com` (that host), `*.example.com` (its subdomains,
not example.com itself), `203.0.113.7` or `2001:db8::7` (that address as the
URL's host), `203.0.113.0/24` (an address in it as the URL's host).

Rejected: a deny list of private ranges alone (every public host, and every
way of spelling a private one we did not think of, gets through); following
redirects with a check at each hop (a 3xx is a failed delivery instead).
"""
from __future__ import annotations

import ipaddress
import re
import socket
import urllib.parse
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..errors import ConflictError, NotFoundError, ValidationError
from ..extensions import db
from ..models import OutboundHost, OutboxMessage
from .access import require_admin
from .core import Actor, Page, StepContext, paginate, write_transaction

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL = 2_000
SCHEMES = {"http": 80, "https": 443}
WHERE = "the outbound allow list (admins: /api/v1/outbound-hosts; operators: STAGECOACH_OUTBOUND_ALLOW)"
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_BLOCKED = ("unspecified", "loopback", "link_local", "multicast", "private", "reserved", "site_local")


class OutboundRefusedError(Exception):
    """A call the allow list, the address checks or the limits refuse; the text says why."""


# -- patterns and hosts ---------------------------------------------------------------------------------------

def _ip(text: str) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    return ip.ipv4_mapped or ip if ip.version == 6 else ip


def _host_name_problem(name: str) -> str | None:
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        return "not a host name"
    if labels[-1].isdigit():  # 2130706433, 127.1, 0x7f.1: numbers that resolvers read as addresses
        return "neither a host name nor an IP address"
    return None


def _idna(name: str) -> str:
    try:
        return name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return name


def normalise_pattern(pattern: str) -> str:
    """The pattern as stored and matched: lower case, an address or network in its short form.

    Raises:
        ValueError: not a host name, `*.domain`, an IP address or a CIDR.
    """
    text = pattern.strip().lower().rstrip(".") if isinstance(pattern, str) else ""
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if not text:
        raise ValueError("required")
    if "/" in text:
        try:
            return str(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError("not a CIDR network such as 203.0.113.0/24") from None
    if (ip := _ip(text)) is not None:
        return str(ip)
    wildcard = text.startswith("*.")
    name = _idna(text[2:] if wildcard else text)
    if problem := _host_name_problem(name):
        raise ValueError(f"{problem}: give a host name, *.domain, an IP address or a CIDR")
    if wildcard and "." not in name:
        raise ValueError("too broad: a wildcard covers the subdomains of a domain such as *.example.com")
    return f"*.{name}" if wildcard else name


@dataclass(frozen=True)
class Entry:
    """An allow-list entry: a normalised pattern, and whether it may resolve to private addresses."""

    pattern: str
    allow_private: bool

    def matches(self, host: str, ip: IPAddress | None) -> bool:
        if self.pattern.startswith("*."):
            return ip is None and host.endswith(self.pattern[1:])
        if "/" in self.pattern:
            network = ipaddress.ip_network(self.pattern)
            return ip is not None and ip.version == network.version and ip in network
        if ip is not None:
            return _ip(self.pattern) == ip
        return host == self.pattern


def _entries() -> list[Entry]:
    entries = [Entry(p, bool(a)) for p, a in db.session.execute(
        select(OutboundHost.pattern, OutboundHost.allow_private))]
    cfg = current_app.config
    for setting, allow_private in (("OUTBOUND_ALLOW", False), ("OUTBOUND_ALLOW_PRIVATE", True)):
        for pattern in cfg.get(setting) or ():
            try:
                entries.append(Entry(normalise_pattern(pattern), allow_private))
            except ValueError as exc:
                raise OutboundRefusedError(f"STAGECOACH_{setting} holds {pattern!r}, which is {exc}") from None
    return entries


# -- checks ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """Where one delivery goes: the URL's parts, and the checked addresses to connect to."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[str, ...] = ()


def _parse(url) -> tuple[Target, IPAddress | None]:
    if not isinstance(url, str) or not url:
        raise OutboundRefusedError("a webhook URL is a text such as https://hooks.example.com/path")
    if len(url) > MAX_URL:
        raise OutboundRefusedError(f"a webhook URL has at most {MAX_URL} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise OutboundRefusedError("a webhook URL holds no spaces or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundRefusedError(f"{url[:200]!r} is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise OutboundRefusedError(f"only http:// and https:// URLs may be called, not {scheme or 'no'} scheme")
    if "@" in parts.netloc or "\\" in parts.netloc:
        raise OutboundRefusedError("a webhook URL may not carry user info (user:password@host)")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise OutboundRefusedError("a webhook URL names a host")
    ip = _ip(host)
    if ip is None:
        host = _idna(host)
        if problem := _host_name_problem(host):
            raise OutboundRefusedError(f"{host!r} is {problem}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, str(ip) if ip is not None else host, port or SCHEMES[scheme], path), ip


def _allowing(host: str, ip: IPAddress | None) -> Entry:
    """The entry that allows `host` (one with allow_private first), or the refusal."""
    matching = [e for e in _entries() if e.matches(host, ip)]
    if not matching:
        raise OutboundRefusedError(f"calls to {host} are refused: the host is not on {WHERE}")
    return max(matching, key=lambda e: e.allow_private)


def check_url(url) -> None:
    """A step may queue a call to `url`: http(s), no user info, an allowed host.

    Raises:
        OutboundRefusedError: why not, naming the host and the allow list.
    """
    target, ip = _parse(url)
    _allowing(target.host, ip)


def url_problem(url) -> str | None:
    """Why a workflow rule may not call `url`, or None."""
    try:
        check_url(url)
    except OutboundRefusedError as exc:
        return str(exc)
    return None


def not_public(ip: IPAddress) -> str | None:
    """Why `ip` is not a public address (e.g. "loopback"), or None when it is one."""
    if ip.version == 6 and ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d reaches a.b.c.d
        return not_public(ip.ipv4_mapped)
    if ip.version == 6:
        embedded = ip.sixtofour or (ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF) if ip in _NAT64 else None)
        if embedded is not None and (reason := not_public(embedded)):
            return f"{reason}, inside an IPv6 address"
    for name in _BLOCKED:
        if getattr(ip, f"is_{name}", False):
            return name.replace("_", "-")
    if not ip.is_global:  # e.g. 100.64.0.0/10, carrier-grade NAT
        return "not globally reachable"
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (a seam for tests, which stand in their own DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def pin(url) -> Target:
    """Check `url` for delivery now and resolve its host once: the target holds the addresses to connect to.

    Raises:
        OutboundRefusedError: the URL or host is refused, or an address it resolves to is not public
            and no matching entry allows private addresses (final: the delivery fails, it is not retried).
        OSError: the name does not resolve (retried later).
    """
    target, ip = _parse(url)
    entry = _allowing(target.host, ip)
    addresses = [str(ip)] if ip is not None else resolve(target.host, target.port)
    if not addresses:
        raise OSError(f"{target.host} resolves to no address")
    for address in addresses:
        reason = not_public(ipaddress.ip_address(address.split("%", 1)[0]))
        if reason and not entry.allow_private:
            raise OutboundRefusedError(
                f"calls to {target.host} are refused: it resolves to {address} ({reason}), and its entry "
                f"{entry.pattern!r} on {WHERE} does not allow private addresses")
    return Target(target.scheme, target.host, target.port, target.path, tuple(addresses))


# -- limits ---------------------------------------------------------------------------------------------------

def count_call(ctx: StepContext) -> None:
    """Count one more outbound call (webhook or email) queued by this step of this instance.

    Raises:
        OutboundRefusedError: the step or the instance would go over its limit (named with its setting).
    """
    cfg = current_app.config
    per_step, per_instance = cfg["OUTBOUND_MAX_PER_STEP"], cfg["OUTBOUND_MAX_PER_INSTANCE"]
    if ctx.outbound_calls >= per_step:
        raise OutboundRefusedError(
            f"one step of an instance may queue at most {per_step} outbound calls (webhooks and emails); "
            "the limit is STAGECOACH_OUTBOUND_MAX_PER_STEP")
    queued = db.session.scalar(select(func.count(OutboxMessage.id))
                               .where(OutboxMessage.instance_id == ctx.instance_id))
    if queued >= per_instance:
        raise OutboundRefusedError(
            f"an instance may queue at most {per_instance} outbound calls (webhooks and emails) in all; "
            "the limit is STAGECOACH_OUTBOUND_MAX_PER_INSTANCE")
    ctx.outbound_calls += 1


# -- managing the allow list (admins) -------------------------------------------------------------------------

def list_hosts(actor: Actor, *, page: int = 1, per_page: int = 50) -> Page:
    """The allow list, by pattern."""
    require_admin(actor, "read the outbound allow list")
    return paginate(select(OutboundHost).order_by(OutboundHost.pattern, OutboundHost.id), page, per_page)


def create_host(data: dict, actor: Actor) -> OutboundHost:
    """Allow calls to a host, `*.domain`, an address or a network.

    Raises:
        ForbiddenError: the actor is not an admin.
        ValidationError: the pattern is not one of those.
        ConflictError: the pattern is already on the list.
    """
    require_admin(actor, "manage the outbound allow list")
    try:
        pattern = normalise_pattern(data.get("pattern"))
    except ValueError as exc:
        raise ValidationError("not an allow-list pattern", errors={"pattern": [str(exc)]}) from None
    taken = ConflictError(f"{pattern} is already on the allow list", errors={"pattern": ["already on the allow list"]})
    try:
        with write_transaction():
            if db.session.scalar(select(OutboundHost.id).where(OutboundHost.pattern == pattern)) is not None:
                raise taken
            host = OutboundHost(pattern=pattern, allow_private=bool(data.get("allow_private")),
                                note=data.get("note"), created_by=actor.username)
            db.session.add(host)
    except IntegrityError:  # another admin added it between the check and the commit
        raise taken from None
    return host


def delete_host(host_id: str, actor: Actor) -> None:
    """Take an entry off the list; calls already queued to its hosts are refused when delivered."""
    require_admin(actor, "manage the outbound allow list")
    with write_transaction():
        host = db.session.get(OutboundHost, host_id)
        if host is None:
            raise NotFoundError(f"no outbound host {host_id}")
        db.session.delete(host)
