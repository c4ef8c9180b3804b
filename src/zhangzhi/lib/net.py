"""The client's address, also behind a reverse proxy (nginx, a load balancer, a government gateway).

`X-Forwarded-For` is a list anyone can write to: a client sends "X-Forwarded-For: 1.2.3.4" and each
proxy appends the address it received the request from. Only the entries added by proxies we run
can be believed, so the header is read only when the direct peer (`REMOTE_ADDR`) is one of
`settings.TRUSTED_PROXIES` (ZHANGZHI_TRUSTED_PROXIES: IPs or CIDRs), walking it from the right and
stopping at the first address that is not a trusted proxy: that is the client. With no trusted
proxies (the default) the header is ignored and the peer is the client.

Every place that counts or records a client (login lock-out, public report limits, abuse flags,
logs) asks `client_ip(request)`, so a spoofed header can neither dodge a limit nor frame someone.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(s.strip(), strict=False) for s in spec if s.strip())


def parse_ip(raw: str) -> Address | None:
    """An address from a header entry: "1.2.3.4", "1.2.3.4:5678", "[2001:db8::1]:443", "::ffff:1.2.3.4"."""
    raw = raw.strip().strip('"')
    if raw.startswith("["):  # [v6]:port (RFC 7239 style)
        raw = raw[1:].split("]", 1)[0]
    elif raw.count(":") == 1:  # v4:port
        raw = raw.split(":", 1)[0]
    try:
        addr = ipaddress.ip_address(raw)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def is_trusted_proxy(addr: Address | None) -> bool:
    if addr is None:
        return False
    return any(addr in net for net in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip(request) -> str:
    """The address of the client that sent `request` (a string; "" when the server was not told)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    peer = parse_ip(remote)
    if not is_trusted_proxy(peer):
        return str(peer) if peer is not None else remote
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    nearest = peer
    for hop in reversed(hops):
        addr = parse_ip(hop)
        if addr is None:
            # a trusted proxy wrote something that is not an address: believe nothing further left
            return str(nearest)
        if not is_trusted_proxy(addr):
            return str(addr)
        nearest = addr
    # every hop is one of ours (a health check from inside): the left-most is as close as we get
    return str(nearest)
