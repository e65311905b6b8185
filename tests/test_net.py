"""Every outside request ends by its deadline, whatever the peer does (agent/net.py)."""

from __future__ import annotations

import time

import httpx
import httpx2
import pytest

from agent.net import bounded_client

DEADLINE = 0.6  # seconds; the peers below would take minutes


@pytest.mark.parametrize("module", [httpx, httpx2], ids=["httpx", "httpx2"])
@pytest.mark.parametrize("mode", ["body", "headers", "silent"])
def test_a_slow_peer_fails_like_a_timeout_within_the_deadline(trickle_server, module, mode):
    server = trickle_server(mode=mode, interval=0.05)
    # The per-read timeout is generous: only the total deadline can end these requests.
    with bounded_client(DEADLINE, timeout_seconds=30, module=module) as client:
        started = time.monotonic()
        with pytest.raises(module.TimeoutException):
            client.get(server.url).read()
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + 1.5, f"{mode}: took {elapsed:.1f}s"


@pytest.mark.parametrize("module", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_a_quick_answer_is_untouched_and_the_watchdog_stands_down(trickle_server, module):
    server = trickle_server(mode="body", interval=0.0, body=b"<feed/>")
    with bounded_client(DEADLINE, timeout_seconds=5, module=module) as client:
        first = client.get(server.url)
        second = client.get(server.url)
    assert first.status_code == 200 and first.content == b"<feed/>"
    assert second.content == b"<feed/>"
    assert server.connections == 2  # no keep-alive: the watchdog saw both sockets opened


def test_a_streamed_body_is_bounded_too(trickle_server):
    server = trickle_server(mode="body", interval=0.05)
    with bounded_client(DEADLINE, timeout_seconds=30) as client:
        started = time.monotonic()
        with pytest.raises(httpx.TimeoutException), client.stream("GET", server.url) as response:
            for _ in response.iter_raw(65536):
                pass
    assert time.monotonic() - started < DEADLINE + 1.5


@pytest.mark.parametrize("module", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_transports_share_one_verifying_ssl_context(module):
    """Building an SSL context reads the CA bundle (~50 ms of CPU); each client of a cycle (arXiv,
    full texts, the LLM) built its own. One per library and process now, still verifying."""
    import ssl

    from agent.net import make_transport, shared_ssl_context

    first, second = make_transport(module, DEADLINE), make_transport(module, DEADLINE)
    context = shared_ssl_context(module)
    assert first._inner._pool._ssl_context is second._inner._pool._ssl_context is context
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    own = ssl.create_default_context()
    mine = make_transport(module, DEADLINE, verify=own)  # a caller's own context is kept
    assert mine._inner._pool._ssl_context is own
