"""Is the Hugging Face Hub reachable? Answered in at most a couple of seconds, never a hang.

Offline is the normal case for this lab, so every online code path asks here first and
fails fast with a clear reason instead of letting `from_pretrained` retry for minutes.
"""

import os
import socket
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


def probe(host: str = HUB_HOST, port: int = 443, timeout_s: float = 2.0) -> Reachability:
    """Open (and close) one TCP connection to `host`; report whether it worked and why not."""
    if forced_offline():
        return Reachability(False, "offline mode is on (HF_HUB_OFFLINE or LLM_LAB_OFFLINE is set)")
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except socket.gaierror:
        return Reachability(False, f"cannot resolve {host}: no DNS, so probably no network")
    except (TimeoutError, socket.timeout):
        return Reachability(False, f"{host} did not answer within {timeout_s:.0f} s")
    except OSError as e:
        return Reachability(False, f"cannot connect to {host}: {e.strerror or e}")
    return Reachability(True, f"{host} answers")


def hub_reachable() -> Reachability:
    """`probe()` of the Hub, remembered for a minute."""
    global _last
    now = time.monotonic()
    if _last is None or now - _last[0] > _TTL_S or forced_offline():
        _last = (now, probe())
    return _last[1]
