"""--state accepts memory or a Redis URL, says what it expects otherwise, and never shows a password."""

from __future__ import annotations

import pytest

from simulator.state.open import check_state_url, is_shared, redacted


@pytest.mark.parametrize("url", ["memory", "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379", "rediss://h:1/2", "unix:///tmp/r.sock"])
def test_accepted_states(url: str) -> None:
    check_state_url(url)
    assert is_shared(url) == (url != "memory")


@pytest.mark.parametrize("url", ["mem", "http://127.0.0.1:6379/0", "redis://127.0.0.1:6379/zero"])
def test_refused_states_say_what_is_expected(url: str) -> None:
    with pytest.raises(ValueError, match=r"redis://127\.0\.0\.1:6379/0"):
        check_state_url(url)


def test_passwords_never_leave_the_url() -> None:
    assert redacted("redis://user:s3cret@10.0.0.5:6380/1") == "redis://user:***@10.0.0.5:6380/1"
    assert redacted("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
