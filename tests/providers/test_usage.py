"""The control API's usage of a key shows each native face's own window beside the Perf API's."""

from __future__ import annotations

import httpx

from simulator.launcher import RunningServer
from simulator.registry import PROVIDER_NAMES
from spec import tiers


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


def test_more_images_than_a_faces_minute_limit_are_refused_in_words_of_no_other_face_naming_where_the_limit_comes_from(
    limited: RunningServer, fresh_key: str, provider_limits: dict[str, tuple[int, int]]
) -> None:
    """Ideogram asks for images in `num_images`, not the Perf API's `n`, and its limit here is its keys-file table's."""
    with httpx.Client(base_url=limited.base_url) as client:
        answer = client.post(
            "/ideogram/generate", headers={"Api-Key": fresh_key}, json={"image_request": {"prompt": "a sign", "num_images": 8}}
        )
    assert answer.status_code == 400
    limit = provider_limits["ideogram"][0]
    assert answer.json()["error"] == (
        f"a request for 8 images exceeds this key's limit of {limit} images per minute ([providers.ideogram] of the keys file), "
        "so it could never be admitted"
    )
