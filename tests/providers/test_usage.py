"""The control API's usage of a key shows each native face's own window beside the Perf API's."""

from __future__ import annotations

import httpx
import pytest

from simulator.launcher import RunningServer
from simulator.registry import PROVIDER_NAMES
from spec import tiers
from spec.providers import google


def test_usage_has_a_window_per_provider_with_its_configured_limits(
    limited: RunningServer, fresh_key: str, provider_limits: dict[str, tuple[int, int]]
) -> None:
    with httpx.Client(base_url=limited.base_url) as client:
        answer = client.post(
            "/ideogram/generate", headers={"Api-Key": fresh_key}, json={"image_request": {"prompt": "a sign", "num_images": 3}}
        )
        assert answer.status_code == 200
        usage = client.get(f"/_sim/usage/{fresh_key}").json()
    assert set(usage["providers"]) == set(PROVIDER_NAMES)
    assert usage["minute"]["used"] == 0, "the Perf API's window is not the Ideogram face's"
    ideogram = usage["providers"]["ideogram"]
    assert (ideogram["minute"]["limit"], ideogram["minute"]["used"], ideogram["day"]["used"]) == (provider_limits["ideogram"][0], 3, 3)
    assert usage["providers"]["openai"]["minute"] == {"limit": provider_limits["openai"][0], "used": 0, "remaining": 2, "reset_seconds": 0}
    assert usage["minute"]["limit"] == tiers.TIERS["pro"].images_per_minute, "the Perf API keeps the tier's limits"


def _never_admitted(count: str, face: str, limit: int) -> str:
    where = f"[providers.{face}] of the keys file"
    return f"{count} exceeds this key's limit of {limit} images per minute ({where}), so it could never be admitted"


def test_more_images_than_ideograms_minute_limit_are_refused_naming_num_images_and_where_the_limit_comes_from(
    limited: RunningServer, fresh_key: str, provider_limits: dict[str, tuple[int, int]]
) -> None:
    """Ideogram asks for images in `num_images`, not the Perf API's `n`, and its limit here is its keys-file table's."""
    with httpx.Client(base_url=limited.base_url) as client:
        answer = client.post(
            "/ideogram/generate", headers={"Api-Key": fresh_key}, json={"image_request": {"prompt": "a sign", "num_images": 8}}
        )
    assert answer.status_code == 400
    assert answer.json()["error"] == _never_admitted("image_request.num_images of 8", "ideogram", provider_limits["ideogram"][0])


@pytest.mark.parametrize(
    ("parameters", "count"),
    [
        ({"sampleCount": 4}, "parameters.sampleCount of 4"),
        ({}, "parameters.sampleCount of 4 (its default, as it was not set)"),
        ({"sampleCount": None}, "parameters.sampleCount of 4 (its default, as it was not set)"),
    ],
)
def test_more_images_than_imagens_minute_limit_are_refused_naming_sample_count_and_its_default(
    limited: RunningServer, fresh_key: str, provider_limits: dict[str, tuple[int, int]], parameters: dict[str, object], count: str
) -> None:
    """The trap docs/providers.md warns of: a client that never set sampleCount asks for Google's default of 4."""
    limit = provider_limits["google"][0]
    assert limit < google.IMAGEN_DEFAULT_SAMPLE_COUNT, "the limited server's Imagen limit must be below the default count"
    with httpx.Client(base_url=limited.base_url) as client:
        answer = client.post(
            "/google/v1beta/models/imagen-3.0-generate-002:predict",
            headers={"x-goog-api-key": fresh_key},
            json={"instances": [{"prompt": "a sign"}], "parameters": parameters},
        )
    assert answer.status_code == 400
    assert answer.json()["error"] == {"code": 400, "message": _never_admitted(count, "google", limit) + ".", "status": "INVALID_ARGUMENT"}


def test_more_images_than_openais_minute_limit_are_refused_with_param_n(
    limited: RunningServer, fresh_key: str, provider_limits: dict[str, tuple[int, int]]
) -> None:
    limit = provider_limits["openai"][0]
    with httpx.Client(base_url=limited.base_url) as client:
        answer = client.post(
            "/openai/v1/images/generations",
            headers={"Authorization": f"Bearer {fresh_key}"},
            json={"model": "dall-e-2", "prompt": "a sign", "n": limit + 1, "size": "256x256"},
        )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["param"], error["type"]) == ("n", "invalid_request_error")
    assert error["message"] == _never_admitted(f"a request for {limit + 1} images", "openai", limit)
