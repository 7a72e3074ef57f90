"""Rate limits: headers consistent with admissions, the 429 envelope, retry_after honoured, both windows.

On a manual-clock simulator the time rules start from a reset and move the clock; on any other target they
are judged by the real-time runs (contract_tests/realtime.py), from whatever state the headers show.

The document states the limits (images a minute and a day per tier) and the 429 with retry_after; the headers,
the sliding window and what a refusal costs are the simulator's decisions (spec/tiers.py). Without the headers,
a free key is lent idle (contract_tests/ledger.py), so its whole minute limit remains. Admissions are held to the
tier's limit itself, not to the limit the headers state (contract_tests/tier_limit.py): a target whose free tier
admitted 6 a minute, and whose headers said 6, passed every rule here.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from contract_tests import decisions
from contract_tests.checks import check_document_message, check_error, check_rate_headers, check_retry_after, check_success, not_sent
from contract_tests.client import ContractClient
from contract_tests.exchange import Exchange
from contract_tests.explain import shown, shown_header
from contract_tests.key_names import key_option
from contract_tests.ledger import KeyPool
from contract_tests.realtime import EXACT, IMAGES, REFUSALS, RETRY, SLIDING, RealTimeRules
from contract_tests.scenario import Scenario, cheap_body
from contract_tests.sources import DOCUMENT
from contract_tests.target import Control, Target
from contract_tests.tier_limit import burst_end, check_minute_limit, check_never_admitted
from contract_tests.violations import expect, require
from spec import errors, tiers

MINUTE = tiers.HEADER_REMAINING_MINUTE
DAY = tiers.HEADER_REMAINING_DAY


def _admit(api: ContractClient, key: str, n: int) -> Exchange:
    body = cheap_body(n)
    exchange = api.generate_admitted(body, key=key)
    check_success(exchange, body)
    return exchange


@pytest.mark.smoke
@pytest.mark.source(decisions.RATE_LIMIT_HEADERS)
@pytest.mark.partly(*decisions.OF_SUCCESS)
def test_headers_state_the_key_tier(api: ContractClient, target: Target, key_tier: tiers.Tier) -> None:
    """Every success carries the six rate-limit headers, and the limits are those of the key's tier."""
    exchange = _admit(api, target.key, 1)
    headers = check_rate_headers(exchange)
    limits = (headers[tiers.HEADER_LIMIT_MINUTE], headers[tiers.HEADER_LIMIT_DAY])
    # An absent limit header is no limit to compare: its absence is the finding.
    expect(
        None in limits or limits == (key_tier.images_per_minute, key_tier.images_per_day),
        f"The limit headers of a {key_tier.name} key are its tier's images per minute and per day",
        f"headers say {limits}, spec/tiers.py says {(key_tier.images_per_minute, key_tier.images_per_day)}",
        exchange,
    )


@pytest.mark.source(decisions.RATE_LIMIT_HEADERS)
@pytest.mark.partly(*decisions.OF_SUCCESS)
def test_free_tier_limits(api: ContractClient, free_key: str, free_tier: tiers.Tier) -> None:
    """A free key's limit headers are the free tier's: images per minute and per day."""
    exchange = _admit(api, free_key, 1)
    headers = check_rate_headers(exchange)
    limits = (headers[tiers.HEADER_LIMIT_MINUTE], headers[tiers.HEADER_LIMIT_DAY])
    # An absent limit header is no limit to compare: its absence is the finding.
    expect(
        None in limits or limits == (free_tier.images_per_minute, free_tier.images_per_day),
        "The free tier allows spec/tiers.py's images per minute and per day",
        f"headers say {limits}; the document's free tier is {(free_tier.images_per_minute, free_tier.images_per_day)}",
        exchange,
    )


@pytest.mark.source(decisions.RATE_LIMIT_HEADERS)
@pytest.mark.partly(*decisions.OF_SUCCESS)
def test_remaining_drops_by_n(api: ContractClient, free_key: str) -> None:
    """Each admission lowers both remaining headers by its n (limits count images, not requests)."""
    admitted = _admit(api, free_key, 1)
    first = check_rate_headers(admitted)
    if reason := not_sent(admitted, MINUTE, DAY):
        pytest.skip(reason)
    minute, day = first[MINUTE], first[DAY]
    assert minute is not None and day is not None
    if minute < 2:
        pytest.skip("the free key has fewer than 2 images left this minute")
    second_exchange = _admit(api, free_key, 2)
    second = check_rate_headers(second_exchange)
    expect(
        (second[MINUTE], second[DAY]) == (minute - 2, day - 2),
        "An admission of n images lowers the minute and day remaining headers by n",
        f"before (minute, day) = {(first[MINUTE], first[DAY])}, after n=2: {(second[MINUTE], second[DAY])}",
        second_exchange,
    )


@pytest.mark.source(decisions.REFUSALS_CONSUME_NOTHING)
@pytest.mark.partly(decisions.RATE_LIMIT_HEADERS, *decisions.OF_SUCCESS)
@pytest.mark.parametrize("refusal", [errors.INVALID_REQUEST, errors.CONTENT_POLICY_VIOLATION])
def test_refused_requests_consume_nothing(api: ContractClient, target: Target, request: pytest.FixtureRequest, refusal: str) -> None:
    """Invalid and content-policy requests carry the headers and consume nothing."""
    # The refused prompt is the target's own (--blocked-prompt; the trigger phrase on the simulator): the simulator's
    # phrase sent to another implementation was admitted, spent an image, and read as a broken decision #5.
    prompt = request.getfixturevalue("blocked_prompt") if refusal == errors.CONTENT_POLICY_VIOLATION else None
    free_key = request.getfixturevalue("free_key")
    admitted = _admit(api, free_key, 1)
    before = check_rate_headers(admitted)
    if reason := not_sent(admitted, MINUTE, DAY):
        pytest.skip(reason)
    refused = {**cheap_body(1), "prompt": prompt} if prompt is not None else {**cheap_body(1), "n": 0}
    exchange = api.generate(refused, key=free_key)
    # Whether the target refuses at all is the document's (test_errors judges it too), not the decision this rule holds.
    check_error(exchange, refusal, source=DOCUMENT)
    after = check_rate_headers(exchange)
    # A refusal without the headers shows no cost to compare: their absence is the finding.
    expect(
        None in (after[MINUTE], after[DAY]) or (after[MINUTE], after[DAY]) == (before[MINUTE], before[DAY]),
        "A refused request consumes no images from either window",
        f"remaining (minute, day) before {(before[MINUTE], before[DAY])}, after a {refusal}: {(after[MINUTE], after[DAY])}",
        exchange,
    )


@pytest.mark.source(decisions.REFUSALS_CONSUME_NOTHING)
@pytest.mark.real_time(REFUSALS)
@pytest.mark.partly(decisions.RATE_LIMIT_HEADERS, decisions.SLIDING_WINDOW)
def test_a_429_consumes_nothing(api: ContractClient, target: Target, request: pytest.FixtureRequest, free_tier: tiers.Tier) -> None:
    """A rate-limited request consumes no images: the answers after a 429 show the day's remaining unchanged."""
    if not target.clock_moves:
        request.getfixturevalue("time_rules").verdict(REFUSALS)
        return
    free_key = request.getfixturevalue("free_key")
    _, refused = _exhaust_minute(api, free_key, free_tier.images_per_minute)
    after = [refused, api.generate(cheap_body(1), key=free_key)]
    days = [check_rate_headers(exchange)[DAY] for exchange in after]
    if reason := not_sent(refused, DAY) or not_sent(after[1], DAY):
        pytest.skip(reason)
    expect(
        all(exchange.status == 429 for exchange in after) and days[0] == days[1],
        "A refused request (429) consumes no images from either window",
        f"x-ratelimit-remaining-images-day after one 429 is {days[0]}, after a second one {days[1]}",
        *after,
    )


def _held_to_the_tier(request: pytest.FixtureRequest, target: Target, key: str, tier: tiers.Tier, exchanges: list[Exchange]) -> None:
    """The key's admissions within a minute are no more than the tier's limit (the document's), whatever the headers
    say. The case's own requests are judged first, and are the evidence when they break it. Only when they do not,
    on a real clock, every admission the suite made on the key counts, earlier rules' too (the key's ledger), the
    finding naming who made them; on the simulator's manual clock only this case's, since each case starts from a
    reset."""
    option = key_option(target, key)
    if not check_minute_limit(tier, exchanges, option, target.clock_moves) or target.clock_moves:
        return
    pool: KeyPool | None = request.getfixturevalue("key_pool")
    ledger = pool.ledger_of(key) if pool is not None else None
    if ledger is not None:
        counted = [*ledger.admitted(), *(e for e in exchanges if e.status != 200)]
        check_minute_limit(tier, counted, option, False, own=exchanges, origin=ledger.origin)


def _exhaust_minute(api: ContractClient, key: str, limit: int) -> tuple[list[Exchange], Exchange]:
    """Send one-image requests until a refusal (at most limit + 2); returns the admissions and the last answer (the
    refusal, or the last admission when none came)."""
    admitted: list[Exchange] = []
    for _ in range(limit + 2):
        exchange = api.generate(cheap_body(1), key=key)
        if exchange.status != 200:
            return admitted, exchange
        admitted.append(exchange)
    return admitted, exchange


def _refused_past_the_limit(admitted: list[Exchange], last: Exchange, tier: tiers.Tier, option: str) -> None:
    """The burst ended in a refusal; "expected 429, got 200" said neither how many were admitted nor the limit."""
    limit = tier.images_per_minute
    require(
        last.status != 200,
        "Past the minute limit a request is refused",
        f"{len(admitted)} one-image requests in a row were admitted on a {tier.name} key ({option}); the {tier.name} "
        f"tier's limit is {limit} images a minute, so a 429 was due after {limit}",
        last,
    )


@pytest.mark.smoke
@pytest.mark.partly(
    decisions.RETRY_AFTER_HEADER, decisions.DOCUMENT_MESSAGES, decisions.RATE_LIMIT_HEADERS, decisions.WHOLE_SECOND_RETRY_AFTER
)
def test_429_envelope(api: ContractClient, target: Target, request: pytest.FixtureRequest, free_key: str, free_tier: tiers.Tier) -> None:
    """Past the minute limit: 429 rate_limit_exceeded with retry_after >= 1 (and the simulator's message and Retry-After)."""
    remaining, stated = _remaining(api, free_key, free_tier)
    admitted, exchange = _exhaust_minute(api, free_key, free_tier.images_per_minute)
    option = key_option(target, free_key)
    _held_to_the_tier(request, target, free_key, free_tier, [*admitted, exchange])
    expect(
        len(admitted) == remaining,
        "Driving a key to its limit admits exactly the images that remained (from an idle key, the tier's minute limit)",
        f"{remaining} images remained; "
        + burst_end(len(admitted), exchange.status != 200, f"the {free_tier.name} tier's {free_tier.images_per_minute} + 2"),
        exchange,
        source=None if remaining == stated == free_tier.images_per_minute else decisions.RATE_LIMIT_HEADERS,
    )
    _refused_past_the_limit(admitted, exchange, free_tier, option)
    error = check_retry_after(exchange)
    retry_after = error.get("retry_after")
    check_document_message(error, errors.RATE_LIMIT_EXCEEDED, "The 429 carries the document's message", exchange)
    expect(
        exchange.header("retry-after") == str(retry_after),
        "A 429 carries a Retry-After header equal to error.retry_after",
        f"Retry-After {shown_header(exchange.header('retry-after'))}, retry_after {shown(retry_after)}",
        exchange,
        source=decisions.RETRY_AFTER_HEADER,
    )
    headers = check_rate_headers(exchange)
    expect(
        headers[MINUTE] in (None, 0),  # absent: said by check_rate_headers
        "A 429 for one image shows 0 images remaining this minute",
        f"{MINUTE}={headers[MINUTE]}",
        exchange,
        source=decisions.RATE_LIMIT_HEADERS,
    )


def _remaining(api: ContractClient, key: str, tier: tiers.Tier) -> tuple[int, int]:
    """(the images the key has left this minute, the limit they count down from): as an n=0 request (refused,
    consuming nothing) shows them in the headers; without the headers the tier's whole limit, since the free_key
    fixture lends a key idle when it has none."""
    probe = api.generate({**cheap_body(1), "n": 0}, key=key)
    shown, stated = probe.header(MINUTE) or "", probe.header(tiers.HEADER_LIMIT_MINUTE) or ""
    if not shown.isdigit():
        return tier.images_per_minute, tier.images_per_minute
    return int(shown), int(stated) if stated.isdigit() else tier.images_per_minute


@pytest.mark.real_time(EXACT)
@pytest.mark.partly(decisions.RATE_LIMIT_HEADERS, decisions.SLIDING_WINDOW)
def test_minute_limit_is_exact(api: ContractClient, target: Target, request: pytest.FixtureRequest, free_tier: tiers.Tier) -> None:
    """Exactly the images the headers say remain are admitted (from an empty window: the per-minute limit), not one more or less."""
    if not target.clock_moves:
        request.getfixturevalue("time_rules").verdict(EXACT)
        return
    free_key = request.getfixturevalue("free_key")
    admitted, exchange = _exhaust_minute(api, free_key, free_tier.images_per_minute)
    expect(
        len(admitted) == free_tier.images_per_minute,
        f"A free key gets exactly {free_tier.images_per_minute} images a minute (the document's Rate Limits table)",
        f"from an idle free key ({key_option(target, free_key)}) "
        + burst_end(len(admitted), exchange.status != 200, f"the {free_tier.name} tier's {free_tier.images_per_minute} + 2")
        + f"; the free tier's limit is {free_tier.images_per_minute} images a minute",
        *admitted[free_tier.images_per_minute : free_tier.images_per_minute + 1],
        exchange,
    )


@pytest.mark.real_time(IMAGES)
@pytest.mark.partly(decisions.RATE_LIMIT_HEADERS, decisions.SLIDING_WINDOW, decisions.WHOLE_SECOND_RETRY_AFTER, *decisions.OF_SUCCESS)
def test_limits_count_images_not_requests(
    api: ContractClient, target: Target, request: pytest.FixtureRequest, free_tier: tiers.Tier
) -> None:
    """Limits count images: with one image left, a request for 2 is refused and one for 1 is admitted."""
    if not target.clock_moves:
        request.getfixturevalue("time_rules").verdict(IMAGES)
        return
    free_key = request.getfixturevalue("free_key")
    _admit(api, free_key, free_tier.images_per_minute - 1)
    check_error(api.generate(cheap_body(2), key=free_key), errors.RATE_LIMIT_EXCEEDED, rule="Limits count images, not requests")
    _admit(api, free_key, 1)


@pytest.mark.partly(decisions.N_ABOVE_MINUTE_LIMIT, decisions.RATE_LIMIT_HEADERS)
def test_n_above_minute_limit_is_never_admitted(api: ContractClient, target: Target, free_key: str, free_tier: tiers.Tier) -> None:
    """A request for more images than the tier's per-minute limit is never admitted; the simulator's answer is a 400 on n, not a 429."""
    exchange = api.generate(cheap_body(free_tier.images_per_minute + 1), key=free_key)
    # Admitting it breaks the document's table; how it is refused (400 on n, or a 429) is the decision.
    if check_never_admitted(free_tier, exchange, key_option(target, free_key)):
        check_error(exchange, errors.INVALID_REQUEST, param="n", source=decisions.N_ABOVE_MINUTE_LIMIT)


@pytest.mark.partly(decisions.RATE_LIMIT_HEADERS)
def test_admission_is_atomic_under_concurrency(
    api: ContractClient, target: Target, request: pytest.FixtureRequest, free_key: str, free_tier: tiers.Tier
) -> None:
    """Concurrent requests never overdraw a window: exactly the remaining images are admitted."""
    remaining, stated = _remaining(api, free_key, free_tier)
    with ThreadPoolExecutor(max_workers=8) as pool:
        exchanges = list(pool.map(lambda _: api.generate(cheap_body(1), key=free_key), range(remaining + 4)))
    _held_to_the_tier(request, target, free_key, free_tier, exchanges)
    admitted = sum(e.status == 200 for e in exchanges)
    expect(
        admitted == remaining and all(e.status in (200, 429) for e in exchanges),
        "Admission is atomic: concurrent requests get exactly the images remaining, the rest 429",
        f"{remaining} images remained; {len(exchanges)} concurrent requests got statuses {sorted(e.status for e in exchanges)}",
        *[e for e in exchanges if e.status != 200][:1],
        source=None if remaining == stated == free_tier.images_per_minute else decisions.RATE_LIMIT_HEADERS,
    )


def _time_rules(target: Target, request: pytest.FixtureRequest) -> RealTimeRules | None:
    """The real-time runs when the clock cannot be moved, else None (the rule moves the simulator's clock)."""
    return None if target.clock_moves else request.getfixturevalue("time_rules")


@pytest.mark.smoke
@pytest.mark.real_time(RETRY)
@pytest.mark.partly(*decisions.OF_SCENARIO)
def test_retry_after_is_honoured(api: ContractClient, target: Target, request: pytest.FixtureRequest, free_tier: tiers.Tier) -> None:
    """Waiting retry_after seconds gets the same request admitted; a second or more less does not; Retry-After and reset agree."""
    real_time = _time_rules(target, request)
    if real_time is not None:
        real_time.verdict(RETRY)
        return
    run = Scenario(api, request.getfixturevalue("manual_clock"), request.getfixturevalue("free_key"), free_tier)
    run.request(3)
    run.advance(30)
    run.request(2)
    refused = run.request(1).json()["error"]["retry_after"]
    run.advance(refused - 1)
    run.request(1)
    run.advance(1)
    last = run.request(1)
    expect(last.status == 200, "After retry_after seconds the request is admitted", f"got HTTP {last.status}", last)


@pytest.mark.source(decisions.SLIDING_WINDOW)
@pytest.mark.real_time(SLIDING)
@pytest.mark.partly(*decisions.OF_SCENARIO)
def test_minute_window_slides(api: ContractClient, target: Target, request: pytest.FixtureRequest, free_tier: tiers.Tier) -> None:
    """The minute window slides: images count for 60 s after their admission, not until a fixed boundary."""
    real_time = _time_rules(target, request)
    if real_time is not None:
        real_time.verdict(SLIDING)
        return
    run = Scenario(api, request.getfixturevalue("manual_clock"), request.getfixturevalue("free_key"), free_tier)
    run.advance(45)
    run.request(free_tier.images_per_minute)
    for seconds in (15, 29, 1):
        run.advance(seconds)
        run.request(1)


@pytest.mark.source(decisions.UTC_DAY)
@pytest.mark.partly(*decisions.OF_SCENARIO)
def test_day_window_is_the_utc_day(api: ContractClient, manual_clock: Control, free_key: str, free_tier: tiers.Tier) -> None:
    """The day limit holds for the UTC day, with retry_after until midnight, and resets at 00:00 UTC."""
    run = Scenario(api, manual_clock, free_key, free_tier)
    per_minute = free_tier.images_per_minute
    for _ in range(free_tier.images_per_day // per_minute):
        run.request(per_minute)
        run.advance(tiers.MINUTE_SECONDS)
    run.request(1)
    run.advance(tiers.seconds_to_utc_midnight(run.now) - 1)
    run.request(1)
    run.advance(1)
    run.request(per_minute)
