"""Where the gateway finds each provider: one base URL for all (e.g. another perf-sim), or one per provider.

`--upstream URL` names a server laid out as perf-sim is (each provider under its prefix); `--upstream-<provider> URL`
names that provider's own base URL, as its SDK takes it (e.g. https://api.bfl.ai), and wins over `--upstream`.
"""

from __future__ import annotations

from collections.abc import Mapping


def provider_base_urls(upstream: str | None, overrides: dict[str, str], base_paths: Mapping[str, str]) -> dict[str, str]:
    """The base URL of every provider the gateway calls over HTTP (providers left out stay in process).

    `base_paths`: each provider's base URL on a perf-sim, relative to its root."""
    bases = {p: upstream.rstrip("/") + path for p, path in base_paths.items()} if upstream else {}
    bases.update({p: url.rstrip("/") for p, url in overrides.items()})
    return bases
