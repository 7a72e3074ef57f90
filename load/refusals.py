"""Checks of the load runs' options, shared by the rate-limit run (`load/locustfile.py`), the throughput climb
(`load/throughput.py`) and `python -m load.bench`, so each refuses a bad value in the same words before any request
or server starts. Apart from Locust: importing a locustfile registers its event listeners on every run."""

from __future__ import annotations

from urllib.parse import urlsplit


def at_least(option: str, value: int, low: int = 1) -> str | None:
    """What is wrong with a count under its least sensible value, or None: a count of 0 (connections, users, repeats)
    crashed after servers started, or ran for ever, rather than being refused."""
    return f"{option} must be at least {low}, got {value}" if value < low else None


def host_problem(host: str) -> str | None:
    """What is wrong with `-H`, or None: without a scheme it has no host name, so it read as 'nothing answers' (or
    every request counted as unsent) though something answered there."""
    target = urlsplit(host)
    if target.scheme not in ("http", "https") or not target.netloc:
        return f"-H must be the target's http:// or https:// base URL, got {host!r}"
    return None
