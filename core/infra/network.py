"""Is the Hugging Face Hub reachable? Answered in at most a couple of seconds, never a hang.

Offline is the normal case for this lab, so every online code path asks here first and
fails fast with a clear reason instead of letting `from_pretrained` retry for minutes.
"""

import os
import socket
import threading
import time
from dataclasses import dataclass

HUB_HOST = "huggingface.co"
_TTL_S = 60.0  # re-probe at most once a minute: networks come and go, probes cost time
_last: tuple[float, "Reachability"] | None = None


@dataclass(frozen=True)
class Reachability:
    ok: bool
    reason: str


def forced_offline() -> bool:
    """True when the user asked for offline mode (HF_HUB_OFFLINE=1 or LLM_LAB_OFFLINE=1)."""
    return any(os.environ.get(name, "").lower() in ("1", "true", "yes") for name in ("HF_HUB_OFFLINE", "LLM_LAB_OFFLINE"))


def resolve(host: str, port: int, timeout_s: float) -> list[tuple]:
    """`socket.getaddrinfo` bounded by `timeout_s` (TimeoutError past it).

    The system resolver has no timeout of its own: with a dead DNS server it can block for tens
    of seconds, and a socket timeout does not cover it. So it runs in a daemon thread that we stop
    waiting for (and that can't keep the interpreter alive at exit).
    """
    answer: list = []

    def work():
        try:
            answer.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as e:
            answer.append(e)

    thread = threading.Thread(target=work, name=f"resolve {host}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if not answer:
        raise TimeoutError(f"resolving {host} took over {timeout_s:g} s")
    if isinstance(answer[0], OSError):
        raise answer[0]
    return answer[0]


def probe(host: str = HUB_HOST, port: int = 443, timeout_s: float = 2.0) -> Reachability:
    """Open (and close) one TCP connection to `host`; report whether it worked and why not.

    `timeout_s` bounds the whole probe, name resolution included.
    """
    if forced_offline():
        return Reachability(False, "offline mode is on (HF_HUB_OFFLINE or LLM_LAB_OFFLINE is set)")
    deadline = time.monotonic() + timeout_s
    try:
        addresses = resolve(host, port, timeout_s)
    except socket.gaierror:
        return Reachability(False, f"cannot resolve {host}: no DNS, so probably no network")
    except TimeoutError:
        return Reachability(False, f"cannot resolve {host}: DNS gave no answer within {timeout_s:g} s, so probably no network")
    except OSError as e:
        return Reachability(False, f"cannot resolve {host}: {e.strerror or e}")
    error: OSError = TimeoutError()
    for family, kind, proto, _, address in addresses:  # IPv6 and IPv4, as create_connection would
        left = deadline - time.monotonic()
        if left <= 0:
            error = TimeoutError()
            break
        try:
            with socket.socket(family, kind, proto) as s:
                s.settimeout(left)
                s.connect(address)
            return Reachability(True, f"{host} answers")
        except OSError as e:
            error = e
    if isinstance(error, TimeoutError):  # socket.timeout is TimeoutError since Python 3.10
        return Reachability(False, f"{host} did not answer within {timeout_s:g} s")
    return Reachability(False, f"cannot connect to {host}: {error.strerror or error}")


def hub_reachable() -> Reachability:
    """`probe()` of the Hub, remembered for a minute."""
    global _last
    now = time.monotonic()
    if _last is None or now - _last[0] > _TTL_S or forced_offline():
        _last = (now, probe())
    return _last[1]
