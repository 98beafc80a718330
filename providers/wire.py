"""The wire under the httpx client: aiohttp speaks HTTP/1.1 to providers, httpx stays the API above it.

Why not httpx's own transport: a reply is streamed as one HTTP chunk per event, and httpcore hands each chunk
up through h11 and six generator layers, one at a time, even when many have arrived. aiohttp parses in C
and `readany()` returns everything that has arrived since the last read in one piece, so the events that
pile up while the relay pauses between frames cost one pass up the stack, not one each (docs/benchmarks.md).

Security stays where it was: the egress policy is checked on every address a host resolves to (and on
literal addresses, which aiohttp never resolves), and the connection is opened to those checked
addresses only. Redirects are not followed, no cookies are kept, and the environment (proxies, netrc) is
not read. Every aiohttp failure is translated into the httpx exception the rest of `providers` judges.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult

from providers import egress
from providers.egress import (
    EgressPolicy,
    EgressRefused,
    address_refusal,
    effective_policy,
    literal_address,
    scheme_refusal,
)

# Request headers aiohttp writes itself from the URL and the body; httpx's copies would be sent twice.
_FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class PolicyResolver(AbstractResolver):
    """Resolves a host once and refuses it unless every address it resolves to is allowed.

    Every address must be allowed, not just one: with a mixed answer (a public address and 127.0.0.1), which
    address a connection ends up on is the resolver's and the network's choice, so allowing it would let an
    attacker's DNS pick loopback. aiohttp connects to the addresses returned here, so DNS rebinding between
    check and connect is not possible; TLS still checks the certificate against the URL's host.
    """

    def __init__(self, policy: EgressPolicy | None) -> None:
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        policy = effective_policy(self._policy)
        addresses = await egress.resolve(host, port)
        if not addresses:
            raise OSError(f"{host} resolves to no address")
        for address in addresses:
            refusal = address_refusal(host, ipaddress.ip_address(address.partition("%")[0]), policy)
            if refusal:
                raise EgressRefused(refusal)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        pass


@contextmanager
def _as_httpx_errors(request: httpx.Request, *, connecting: bool) -> Iterator[None]:
    """aiohttp's failures as the httpx exceptions `providers.transport` turns into sentences. Nothing from
    aiohttp escapes: its timeouts subclass TimeoutError, which callers keep for their own deadlines."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc) or "connecting timed out", request=request) from None
    except aiohttp.SocketTimeoutError as exc:
        raise httpx.ReadTimeout(str(exc) or "reading timed out", request=request) from None
    except aiohttp.ServerTimeoutError as exc:
        raise httpx.TimeoutException(str(exc) or "timed out", request=request) from None
    except aiohttp.ClientConnectorCertificateError as exc:
        raise httpx.ConnectError(
            f"certificate verify failed: {exc.certificate_error}", request=request
        ) from None
    except aiohttp.ClientConnectorDNSError as exc:
        raise httpx.ConnectError(f"cannot resolve the host: {exc.os_error}", request=request) from None
    except aiohttp.ClientConnectorError as exc:
        raise httpx.ConnectError(str(exc.os_error), request=request) from None
    except aiohttp.ServerDisconnectedError:
        raise httpx.RemoteProtocolError("the server closed the connection", request=request) from None
    except aiohttp.ClientPayloadError as exc:
        raise httpx.RemoteProtocolError(f"incomplete body: {exc}", request=request) from None
    except aiohttp.ClientResponseError as exc:  # a malformed status line or headers
        raise httpx.RemoteProtocolError(f"malformed response: {exc.message}", request=request) from None
    except (aiohttp.ClientOSError, aiohttp.ClientConnectionError) as exc:
        error = httpx.ConnectError if connecting else httpx.ReadError
        raise error(str(exc) or type(exc).__name__, request=request) from None
    except aiohttp.InvalidURL as exc:
        raise httpx.UnsupportedProtocol(f"invalid URL: {exc}", request=request) from None
    except aiohttp.ClientError as exc:
        raise httpx.TransportError(f"{type(exc).__name__}: {exc}", request=request) from None
    except OSError as exc:  # a socket error aiohttp did not wrap
        error = httpx.ConnectError if connecting else httpx.ReadError
        raise error(str(exc), request=request) from None


def _arrived_before(content: aiohttp.StreamReader) -> bytes:
    """What arrived before the connection was cut but was not read yet (while the relay pauses between
    frames, say). aiohttp raises the cut ahead of it, and a cut must never lose text (a cut reply is stored
    with what arrived). The reader's buffer is a private attribute, pinned by tests/providers/test_wire.py."""
    buffer = getattr(content, "_buffer", None)
    if not buffer:
        return b""
    data = b"".join(bytes(part) for part in buffer)
    buffer.clear()
    return data


class _ResponseBody(httpx.AsyncByteStream):
    """A response body: each read returns everything that arrived since the last one."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        while True:
            with _as_httpx_errors(self._request, connecting=False):
                try:
                    chunk = await content.readany()
                except aiohttp.ClientPayloadError:
                    leftover = _arrived_before(content)
                    if leftover:
                        yield leftover
                    raise
            if not chunk:
                return
            yield chunk

    async def aclose(self) -> None:
        # A body left unfinished (Stop, an error) closes the connection, so the provider stops generating;
        # a finished one goes back to the pool.
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx's transport interface over one aiohttp session, created on the running loop at first use."""

    def __init__(
        self,
        limits: httpx.Limits,
        policy: EgressPolicy | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._limits = limits
        self._policy = policy  # None: the configured one, read at each use so the client outlives changes
        self._ssl = ssl_context or httpx.create_ssl_context(trust_env=False)
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=self._limits.keepalive_expiry,
            ssl=self._ssl,
            resolver=PolicyResolver(self._policy),
            use_dns_cache=False,  # every connection's addresses are resolved and checked afresh
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            auto_decompress=False,  # httpx decodes, as it does for its own transport
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
        )

    def _check(self, request: httpx.Request) -> None:
        policy = effective_policy(self._policy)
        host = request.url.host
        refusal = scheme_refusal(request.url.scheme, host, policy)
        ip = literal_address(host)
        if refusal is None and ip is not None:  # aiohttp connects to a literal address without resolving it
            refusal = address_refusal(host, ip, policy)
        if refusal:
            raise EgressRefused(refusal, request=request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._check(request)
        if self._session is None or self._session.closed:
            self._session = self._open_session()
        timeout = request.extensions.get("timeout", {})
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in _FRAMING]
        body = await request.aread()
        with _as_httpx_errors(request, connecting=True):
            response = await self._session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=_sum(timeout.get("pool"), timeout.get("connect")),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        return httpx.Response(
            status_code=response.status,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers],
            stream=_ResponseBody(response, request),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _sum(*seconds: float | None) -> float | None:
    return None if any(s is None for s in seconds) else sum(seconds)  # type: ignore[arg-type]
