import socket
import time

from core.infra import network


def test_unresolvable_host_fails_fast_with_a_reason(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    start = time.monotonic()
    reach = network.probe("no-such-host.invalid")
    assert not reach.ok and "resolve" in reach.reason
    assert time.monotonic() - start < 5


def test_closed_port_is_reported(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with socket.socket() as s:  # bind and do not listen: connecting is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        reach = network.probe("127.0.0.1", port)
    assert not reach.ok and "connect" in reach.reason


def test_listening_port_is_reachable(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert network.probe("127.0.0.1", s.getsockname()[1]).ok


def test_offline_switch_wins_over_the_network(monkeypatch):
    monkeypatch.setenv("LLM_LAB_OFFLINE", "1")
    reach = network.hub_reachable()
    assert not reach.ok and "offline mode" in reach.reason


def test_a_hanging_resolver_still_gets_an_answer_in_seconds(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("LLM_LAB_OFFLINE", raising=False)

    def dead_resolver(*args, **kwargs):  # a DNS server that never answers: the OS gives up after ~30 s
        time.sleep(30)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", dead_resolver)
    start = time.monotonic()
    reach = network.probe("huggingface.co", timeout_s=2)
    assert not reach.ok and "DNS gave no answer within 2 s" in reach.reason
    assert time.monotonic() - start < 10  # a hang guard, not a speed target: the bound is 2 s

