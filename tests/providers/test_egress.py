"""The egress policy: which addresses may be contacted, checked on the real connection after DNS resolution.

Connections are real (the fake provider, or a TLS server on loopback); only the resolver is stubbed where a
test needs a name to resolve to a chosen address.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl

import aiohttp
import httpx
import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from providers import NO_RETRY, ChatRequest, Endpoint, ProviderError, egress, list_models, stream_chat
from providers.egress import STRICT, EgressPolicy, address_kind, literal_address, url_refusal
from providers.http import LIMITS, new_client
from providers.wire import AiohttpTransport

from .helpers import FAST, FAST_RETRY, KEY, assert_no_secret, collect, collect_until_error, text_of, user

OPEN = EgressPolicy(allow_private=True, allow_http=True)
HTTP_ONLY = EgressPolicy(allow_private=False, allow_http=True)
PRIVATE_ONLY = EgressPolicy(allow_private=True, allow_http=False)
PRIVATE_REFUSED = "which this server does not allow — use a public https endpoint, or ask the admin to allow private endpoints."


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("8.8.8.8", "public"),
        ("2606:4700:4700::1111", "public"),
        ("::ffff:8.8.8.8", "public"),  # mapped, judged as the IPv4 it carries
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.5", "private"),
        ("172.16.3.4", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),  # carrier-grade NAT
        ("fc00::1", "private"),  # unique local
        ("fd12:3456::1", "private"),
        ("fec0::1", "private"),  # deprecated site-local
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("0.0.0.0", "unspecified"),  # reaches the local host on Linux
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "metadata"),
        ("::127.0.0.1", "loopback"),  # IPv4-compatible
        ("::10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("2002:a00:5::1", "private"),  # 6to4 of 10.0.0.5
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
        ("64:ff9b::808:808", "public"),  # NAT64 of 8.8.8.8
    ],
)
def test_address_kinds(address, kind):
    assert address_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),  # decimal
        ("0x7f.1", "127.0.0.1"),  # hex, shorthand
        ("0177.0.0.1", "127.0.0.1"),  # octal
        ("127.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("::ffff:7f00:1", "::ffff:127.0.0.1"),
        ("example.com", None),
        ("cafe.be", None),
        ("localhost", None),  # a name: only the connection (or the form's localhost rule) can judge it
    ],
)
def test_literal_address_reads_every_spelling_the_resolver_accepts(host, address):
    assert literal_address(host) == (address and ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "policy", "refused"),
    [
        ("https://api.example.com/v1", STRICT, None),
        ("http://api.example.com/v1", STRICT, "plain http://"),
        ("http://api.example.com/v1", HTTP_ONLY, None),
        ("https://10.0.0.5/v1", STRICT, "10.0.0.5 is a private address"),
        ("https://10.0.0.5/v1", PRIVATE_ONLY, None),
        ("https://[::1]:8000/v1", STRICT, "::1 is a loopback address"),
        ("https://localhost:8000/v1", STRICT, "localhost resolves to a loopback address (127.0.0.1)"),
        ("https://models.localhost./v1", STRICT, "models.localhost resolves to a loopback address"),
        ("https://localhost:8000/v1", PRIVATE_ONLY, None),
        ("https://0x7f.1/v1", STRICT, "0x7f.1 is a loopback address"),
        ("https://169.254.169.254/latest", OPEN, "the cloud metadata address, which is never contacted"),
        ("https://0.0.0.0/v1", OPEN, "0.0.0.0 is an unspecified address, which is never contacted"),
    ],
)
def test_url_refusal_without_lookups(url, policy, refused):
    refusal = url_refusal(url, policy)
    assert refusal is None if refused is None else refused in refusal


# --- On real connections ---------------------------------------------------------------------------------


def stub_resolver(monkeypatch, *answers: list[str]) -> list[str]:
    """Make `egress.resolve` answer each call with the next of `answers`; returns the hosts asked for."""
    asked: list[str] = []
    replies = iter(answers)

    async def resolve(host, port):
        asked.append(host)
        return next(replies)

    monkeypatch.setattr(egress, "resolve", resolve)
    return asked


async def failed_chat(policy: EgressPolicy, base_url: str, *, key: str = KEY, retry=NO_RETRY):
    """(events before the error, the ProviderError) of a chat through a client obeying `policy`."""
    request = ChatRequest("fake-model", user("echo:hello"))
    async with new_client(policy=policy) as client:
        events = stream_chat(
            Endpoint("novisurf", base_url), key, request, timeouts=FAST, retry=retry, client=client
        )
        return await collect_until_error(events)  # also checks the key is nowhere in the error


async def refused(policy: EgressPolicy, base_url: str, fp) -> str:
    """The message of the error a chat to `base_url` ends in, after checking nothing reached the fake."""
    seen, err = await failed_chat(policy, base_url, retry=FAST_RETRY)
    assert seen == []  # no Retrying: a refusal is final
    assert err.kind == "blocked" and not err.retryable and err.status is None
    assert fp.requests == []
    return err.message


async def answered(policy: EgressPolicy, base_url: str) -> str:
    request = ChatRequest("fake-model", user("echo:hello"))
    async with new_client(policy=policy) as client:
        events = stream_chat(Endpoint("novisurf", base_url), KEY, request, timeouts=FAST, client=client)
        return text_of(await collect(events))


def fake_url(fp, host: str) -> str:
    return f"http://{host}:{fp.port}/novisurf/v1"


@pytest.mark.asyncio
async def test_loopback_provider_is_refused_unless_private_endpoints_are_allowed(fp):
    message = await refused(HTTP_ONLY, fp.base_url("novisurf"), fp)
    assert message == f"Novisurf: 127.0.0.1 is a loopback address, {PRIVATE_REFUSED}"
    assert await answered(OPEN, fp.base_url("novisurf")) == "hello"


@pytest.mark.asyncio
async def test_plain_http_is_refused_unless_allowed(fp):
    message = await refused(PRIVATE_ONLY, fp.base_url("novisurf"), fp)
    assert message == (
        "Novisurf: 127.0.0.1 is addressed over plain http://, which this server does not allow — "
        "use an https:// endpoint, or ask the admin to allow http endpoints."
    )


@pytest.mark.asyncio
async def test_a_name_resolving_to_loopback_is_refused(fp):
    message = await refused(HTTP_ONLY, fake_url(fp, "localhost"), fp)
    assert message.startswith("Novisurf: localhost resolves to a loopback address (")
    assert message.endswith(PRIVATE_REFUSED)
    assert await answered(OPEN, fake_url(fp, "localhost")) == "hello"


@pytest.mark.asyncio
@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "[::ffff:127.0.0.1]"])
async def test_other_spellings_of_loopback_are_refused(fp, host):
    message = await refused(HTTP_ONLY, fake_url(fp, host), fp)
    assert "a loopback address" in message and message.endswith(PRIVATE_REFUSED)


@pytest.mark.asyncio
async def test_the_unspecified_address_is_refused_even_when_private_endpoints_are_allowed(fp):
    # Without the guard, a connection to 0.0.0.0 reaches the fake listening on 127.0.0.1.
    message = await refused(OPEN, fake_url(fp, "0.0.0.0"), fp)
    assert (
        message
        == "Novisurf: 0.0.0.0 is an unspecified address, which is never contacted — check the base URL."
    )


@pytest.mark.asyncio
async def test_a_resolved_private_address_is_named_in_the_sentence(fp, monkeypatch):
    stub_resolver(monkeypatch, ["10.0.0.5"])
    message = await refused(STRICT, "https://api.example.com/v1", fp)
    assert message == f"Novisurf: api.example.com resolves to a private address (10.0.0.5), {PRIVATE_REFUSED}"


@pytest.mark.asyncio
async def test_one_disallowed_address_in_the_answer_refuses_the_host(fp, monkeypatch):
    stub_resolver(monkeypatch, ["93.184.215.14", "127.0.0.1"])
    message = await refused(STRICT, "https://api.example.com/v1", fp)
    assert "resolves to a loopback address (127.0.0.1)" in message


@pytest.mark.asyncio
async def test_the_connection_goes_to_the_checked_address(fp, monkeypatch):
    """Resolved once: a second lookup answering differently (DNS rebinding) is never made."""
    asked = stub_resolver(monkeypatch, ["127.0.0.1"], ["127.0.0.2"])
    assert await answered(OPEN, fake_url(fp, "provider.test")) == "hello"
    assert asked == ["provider.test"]
    (request,) = fp.requests
    assert request["headers"]["host"] == f"provider.test:{fp.port}"  # the name, not the address

    # The other way round: the checked address has no listener, the later answer would have reached the fake.
    fp.reset()
    asked = stub_resolver(monkeypatch, ["127.0.0.2"], ["127.0.0.1"])
    _, err = await failed_chat(OPEN, fake_url(fp, "provider.test"))
    assert err.kind == "unreachable" and fp.requests == []
    assert asked == ["provider.test"]


@pytest.mark.asyncio
async def test_a_public_first_answer_never_leads_to_loopback(fp, monkeypatch):
    """The resolver answers public, then loopback: the socket is opened to the public address only.

    The network is out of bounds for tests, so the backend's own connect records the address and fails.
    """
    stub_resolver(monkeypatch, ["93.184.215.14"], ["127.0.0.1"])
    dialled: list[str] = []

    async def start_connection(addr_infos, *args, **kwargs):
        dialled.extend(info[4][0] for info in addr_infos)
        raise OSError("no network in tests")

    monkeypatch.setattr(aiohttp.connector.aiohappyeyeballs, "start_connection", start_connection)
    _, err = await failed_chat(STRICT, f"https://api.example.com:{fp.port}/novisurf/v1")
    assert err.kind == "unreachable" and fp.requests == []
    assert dialled == ["93.184.215.14"]


@pytest.mark.asyncio
async def test_the_configured_policy_applies_to_clients_built_without_one(fp, monkeypatch):
    monkeypatch.setattr(egress, "_policy", HTTP_ONLY)
    request = ChatRequest("fake-model", user("echo:hello"))
    _, err = await collect_until_error(
        stream_chat(Endpoint("novisurf", fp.base_url("novisurf")), KEY, request, timeouts=FAST)
    )
    assert err.kind == "blocked" and fp.requests == []


@pytest.mark.asyncio
async def test_the_key_is_in_no_refusal(fp):
    key = "sk-live-0123456789ABCDEFabcdef"
    _, err = await failed_chat(HTTP_ONLY, fp.base_url("novisurf"), key=key)
    assert_no_secret(err, key)
    async with new_client(policy=HTTP_ONLY) as client:
        with pytest.raises(ProviderError) as raised:
            await list_models(Endpoint("novisurf", fp.base_url("novisurf")), key, client=client)
    assert raised.value.kind == "blocked"
    assert_no_secret(raised.value, key)
    assert fp.requests == []


# --- TLS: the certificate is checked against the URL's host, not the address connected to ----------------


def self_signed(name: str) -> tuple[bytes, bytes]:
    """A certificate (PEM) for `name`, valid now, and its private key (PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@pytest_asyncio.fixture
async def tls_server(tmp_path):
    """A one-line HTTPS server on 127.0.0.1 with a certificate for "provider.test"; yields (port, SNI names
    seen, a client context trusting the certificate)."""
    cert_pem, key_pem = self_signed("provider.test")
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    names: list[str | None] = []
    server_context.sni_callback = lambda sock, name, context: names.append(name)

    async def handle(reader, writer):
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_context)
    client_context = ssl.create_default_context(cadata=cert_pem.decode())
    yield server.sockets[0].getsockname()[1], names, client_context
    server.close()
    await server.wait_closed()


@pytest.mark.asyncio
async def test_tls_verifies_the_url_host_while_connecting_to_the_pinned_address(tls_server, monkeypatch):
    port, names, context = tls_server
    stub_resolver(monkeypatch, ["127.0.0.1"], ["127.0.0.1"])
    transport = AiohttpTransport(LIMITS, EgressPolicy(allow_private=True), ssl_context=context)
    async with new_client(transport) as client:
        response = await client.get(f"https://provider.test:{port}/")
        assert response.text == "ok"
        assert names == ["provider.test"]
        # Same address, another name: the certificate does not match it, so no connection is made.
        with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
            await client.get(f"https://other.test:{port}/")
