"""Which addresses the doorway may connect to, enforced on the connection actually made.

A base URL is user input, so without a guard the server would send requests (and keys) wherever a user points
it: at the cloud metadata service, a database on the private network, an admin port on loopback. The rule:
https to public addresses only, unless the policy allows private addresses or plain http (local model
servers). The check runs after DNS resolution, in the transport's resolver (`providers.wire`), on the
addresses the socket is then opened to: a host is resolved once and the connection goes to an address that
was checked, so DNS rebinding between check and connect is not possible. Forms may refuse a URL earlier (`url_refusal`), without DNS.

Plain Python: Django sets the policy once at start-up with `configure`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class EgressPolicy:
    """`allow_private`: loopback, private and link-local addresses may be contacted. `allow_http`: plain
    http:// URLs may be used. Both off is the safe default."""

    allow_private: bool = False
    allow_http: bool = False


STRICT = EgressPolicy()
_policy = STRICT


def configure(policy: EgressPolicy) -> None:
    """Set the policy used by clients built without one (called once at start-up)."""
    global _policy
    _policy = policy


def current_policy() -> EgressPolicy:
    return _policy


def effective_policy(policy: EgressPolicy | None) -> EgressPolicy:
    """`policy`, or the configured one when None (clients built without one follow later changes)."""
    return _policy if policy is None else policy


class EgressRefused(httpx.TransportError):
    """Raised instead of connecting. `str()` is the user-facing sentence (after the provider's name); it
    names the host and address, never anything from the request."""


# --- Judging an address -------------------------------------------------------------------------------------

# Kinds a local model server may legitimately live at; allowed with `allow_private`.
PRIVATE_KINDS = frozenset({"loopback", "private", "link-local"})
# Every other kind but "public" is never contacted: no model server lives there, and the spellings are tricks.
_PHRASES = {
    "loopback": "a loopback address",
    "private": "a private address",
    "link-local": "a link-local address",
    "metadata": "the cloud metadata address",
    "unspecified": "an unspecified address",
    "multicast": "a multicast address",
    "reserved": "a reserved address",
}

_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # 0.0.0.0 reaches the local host on Linux
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, NAT64), which is where the packets
    end up, so it is what gets judged."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):  # :: and ::1 are IPv6's own
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_kind(ip: IPAddress) -> str:
    """The kind of `ip`: "public" (globally routable unicast) or one of `_PHRASES`' keys, saying why not."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            return address_kind(inner)
    if ip in _METADATA:
        return "metadata"
    if ip.is_unspecified or ip in _THIS_NETWORK:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_multicast:
        return "multicast"
    if ip.is_link_local:
        return "link-local"
    if ip.is_reserved:  # before is_private, which also covers 240.0.0.0/4 and the broadcast address
        return "reserved"
    if ip.is_private or ip in _CGNAT or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local):
        return "private"
    return "public" if ip.is_global else "reserved"


# Hosts getaddrinfo reads as IPv4 without asking DNS: "2130706433", "0x7f.1", "0177.0.0.1" are 127.0.0.1.
_NUMERIC_HOST = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)


def literal_address(host: str) -> IPAddress | None:
    """The address `host` spells, in any form the resolver accepts, or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            pass
    return None


def address_refusal(host: str, ip: IPAddress, policy: EgressPolicy) -> str | None:
    """Why `host`, resolved to `ip`, may not be contacted under `policy`; None when it may."""
    kind = address_kind(ip)
    if kind == "public" or (kind in PRIVATE_KINDS and policy.allow_private):
        return None
    phrase = _PHRASES[kind]
    subject = f"{host} is {phrase}" if literal_address(host) == ip else f"{host} resolves to {phrase} ({ip})"
    if kind in PRIVATE_KINDS:
        return (
            f"{subject}, which this server does not allow — use a public https endpoint, "
            "or ask the admin to allow private endpoints."
        )
    return f"{subject}, which is never contacted — check the base URL."


def scheme_refusal(scheme: str, host: str, policy: EgressPolicy) -> str | None:
    """Why a URL with `scheme` may not be used under `policy`; None when it may."""
    if scheme == "http" and not policy.allow_http:
        return (
            f"{host} is addressed over plain http://, which this server does not allow — use an https:// "
            "endpoint, or ask the admin to allow http endpoints."
        )
    return None


def url_refusal(url: str, policy: EgressPolicy) -> str | None:
    """Why `url` is refused before any lookup (for forms); None when only the connection can tell.

    Catches plain http, literal addresses and localhost names; other names are judged at connect time.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    refusal = scheme_refusal(parts.scheme, host, policy)
    if refusal or not host:
        return refusal
    ip = literal_address(host)
    if ip is None and (host == "localhost" or host.endswith(".localhost")):
        ip = ipaddress.ip_address("127.0.0.1")  # RFC 6761: always loopback
    return None if ip is None else address_refusal(host, ip, policy)


# --- Enforcing it on the connection ---------------------------------------------------------------------


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, in the resolver's order, without duplicates."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))
