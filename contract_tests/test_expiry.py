"""Image URLs expire after one hour (spec/models.py IMAGE_URL_TTL_SECONDS), checked by moving the clock."""

from __future__ import annotations

import pytest

from contract_tests import decisions
from contract_tests.checks import check_error, check_success
from contract_tests.client import ContractClient
from contract_tests.image_urls import fetch_image
from contract_tests.target import Control, Target
from contract_tests.violations import expect
from spec import errors
from spec.models import IMAGE_URL_TTL_SECONDS


@pytest.mark.smoke
@pytest.mark.partly(*decisions.OF_SUCCESS, decisions.ERROR_TYPES)
def test_url_expires_after_one_hour(api: ContractClient, target: Target, manual_clock: Control) -> None:
    """An image URL serves its PNG until one hour has passed, and is a 404 not_found from then on."""
    body = {"prompt": "An hourglass on a windowsill", "model": "dall-e-2", "size": "256x256"}
    exchange = api.generate_admitted(body)
    url = check_success(exchange, body)["data"][0]["url"]
    manual_clock.advance(IMAGE_URL_TTL_SECONDS - 1)
    alive = fetch_image(api, url)
    expect(alive.status == 200, "An image URL still works just before one hour has passed", f"HTTP {alive.status}", exchange, alive)
    manual_clock.advance(1)
    check_error(fetch_image(api, url), errors.NOT_FOUND, rule="An image URL is a 404 not_found once one hour has passed")
