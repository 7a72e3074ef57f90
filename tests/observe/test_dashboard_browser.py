"""The dashboard in a real browser (Debian's headless Chromium through Playwright), watching requests the official
`openai` SDK makes, adding and removing a fault rule through its form, and moving the manual clock.

Each test works in a namespace of its own (the page's `#ns=` and the SDK's X-Sim-Namespace header), so the tests
share one simulator without seeing each other's requests, rules or windows.
"""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai import OpenAI

from load.redis_server import redis_available, running_redis
from simulator.control.actions import MAX_DELAY_MS, MAX_MESSAGE_CHARS, MAX_RETRY_AFTER_SECONDS
from simulator.control.rules import MAX_TIMES
from simulator.launcher import RunningServer, free_port, running_simulator
from simulator.observe.dashboard import NAMESPACES_MS
from tests.observe.browser import browser_missing, chromium_page, in_ci

if (missing := browser_missing()) is not None:
    if in_ci():
        raise RuntimeError(f"the dashboard's browser tests must run in CI: {missing}")
    pytest.skip(missing, allow_module_level=True)

from playwright.sync_api import Page, Request, Route, expect

# A real browser: about 1.5 s a test, so the slow pass (CI runs it) keeps the default run near ten minutes.
pytestmark = pytest.mark.slow

# The page polls every second; this only bounds how long a broken page is waited for on a loaded machine.
PATIENCE_MS = 20_000
PROMPT = "a lighthouse in the fog"


@pytest.fixture(scope="module", params=["one process", "two workers sharing Redis"])
def simulator(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    """The page reads everything through the control API, so it works the same whichever worker answers."""
    if request.param == "one process":
        with running_simulator("--clock", "manual", "--seed", "7") as running:
            yield running
        return
    if not redis_available():
        pytest.skip("redis-server is not installed (scripts/test.sh installs it)")
    with running_redis() as redis, running_simulator("--clock", "manual", "--workers", "2", "--state", redis.url) as running:
        yield running


@pytest.fixture
def namespace() -> str:
    return f"ui-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def page(simulator: RunningServer, namespace: str) -> Iterator[Page]:
    """The dashboard open in the test's namespace; afterwards, every URL it fetched must be the simulator's own."""
    expect.set_options(timeout=PATIENCE_MS)
    fetched: list[str] = []
    with chromium_page() as page:
        page.on("request", lambda request: fetched.append(request.url))
        page.goto(f"{simulator.base_url}/_sim/ui#ns={namespace}")
        expect(page.locator("#clock-iso")).not_to_have_text("…")
        yield page
    assert fetched and all(url.startswith(simulator.base_url + "/") for url in fetched), set(fetched)


def sdk(simulator: RunningServer, namespace: str, key: str = "pk_live_abc123") -> OpenAI:
    """The official client on the Perf API, in the test's namespace, without retries (a fault is seen at once)."""
    return OpenAI(api_key=key, base_url=f"{simulator.base_url}/v1", max_retries=0, default_headers={"X-Sim-Namespace": namespace})


def test_a_request_made_with_the_sdk_appears_live_and_shows_its_trimmed_request_and_image(
    page: Page, simulator: RunningServer, namespace: str
) -> None:
    rows = page.locator("#requests tbody tr")
    expect(rows).to_have_count(0)

    image = sdk(simulator, namespace).images.generate(model="dall-e-2", prompt=PROMPT, size="256x256")

    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("dall-e-2")
    expect(rows.first).to_contain_text("200")
    expect(rows.first).to_contain_text(namespace)
    expect(rows.first).to_contain_text("pk_live_…")
    rows.first.click()
    expect(page.locator("#detail-answer")).to_contain_text("answered 200")
    expect(page.locator("#detail-body")).to_contain_text(PROMPT)
    assert image.data is not None and image.data[0].url is not None
    image_id = image.data[0].url.rsplit("/", 1)[1].removesuffix(".png")
    figure = page.locator(f'figure[data-image="{image_id}"]')
    expect(figure).to_contain_text("dall-e-2 256x256")
    expect(figure).to_contain_text(PROMPT)
    figure.locator("img").scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth === 256", arg=figure.locator("img").element_handle())


def test_a_refused_request_shows_the_message_and_field_its_client_read(page: Page, simulator: RunningServer, namespace: str) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        sdk(simulator, namespace).images.generate(model="dall-e-2", prompt=PROMPT, size="1x1")
    error = refused.value.body
    assert isinstance(error, dict) and error["param"] == "size"
    rows = page.locator("#requests tbody tr")
    expect(rows).to_have_count(1)
    rows.first.click()
    expect(page.locator("#detail-answer")).to_contain_text("answered 400 invalid_request")
    expect(page.locator("#detail-error")).to_have_text(error["message"] + " · field: size")


def test_a_requests_detail_shows_the_x_request_id_its_client_got(page: Page, simulator: RunningServer, namespace: str) -> None:
    """What an app logged (the SDK's `_request_id`) is what the detail shows, for a success and a refusal alike."""
    image = sdk(simulator, namespace).images.generate(model="dall-e-2", prompt=PROMPT, size="256x256")
    with pytest.raises(openai.BadRequestError) as refused:
        sdk(simulator, namespace).images.generate(model="dall-e-2", prompt=PROMPT, size="1x1")
    rows = page.locator("#requests tbody tr")
    expect(rows).to_have_count(2)
    for row, logged in ((rows.nth(1), image._request_id), (rows.first, refused.value.request_id)):
        assert logged
        row.click()
        expect(page.locator("#detail-answer")).to_contain_text(f"x-request-id {logged}")


def test_a_successful_request_shows_no_error_line(page: Page, simulator: RunningServer, namespace: str) -> None:
    sdk(simulator, namespace).images.generate(model="dall-e-2", prompt=PROMPT, size="256x256")
    rows = page.locator("#requests tbody tr")
    expect(rows).to_have_count(1)
    rows.first.click()
    expect(page.locator("#detail-answer")).to_contain_text("answered 200")
    expect(page.locator("#detail-error")).to_be_attached()
    expect(page.locator("#detail-error")).to_be_hidden()


def test_a_request_with_a_long_path_shows_its_detail_within_the_pages_width(page: Page, simulator: RunningServer, namespace: str) -> None:
    path = "/v1/" + "a" * 5_000
    assert httpx.get(simulator.base_url + path, headers={"X-Sim-Namespace": namespace}).status_code == 404
    rows = page.locator("#requests tbody tr")
    expect(rows).to_have_count(1)
    expect(page.locator("#gallery")).to_contain_text("no image among the latest 50 requests")
    rows.first.click()
    expect(page.locator("#detail-id")).to_contain_text("(5004 characters)")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_fault_rule_added_in_the_page_fails_the_next_sdk_call_and_is_removed_with_its_button(
    page: Page, simulator: RunningServer, namespace: str
) -> None:
    form = page.locator("#fault-form")
    form.locator("[name=face]").select_option("perf")
    form.locator("[name=kind]").select_option("status")
    form.locator("[name=status]").fill("503")
    form.locator("[name=message]").fill("injected from the dashboard")
    form.locator("[name=times]").fill("1")
    form.get_by_role("button", name="Add rule").click()
    rule = page.locator("#faults li[data-rule-id]")
    expect(rule).to_have_count(1)
    expect(rule).to_contain_text("status=503")

    client = sdk(simulator, namespace)
    with pytest.raises(openai.InternalServerError) as failed:
        client.images.generate(model="dall-e-2", prompt=PROMPT, size="256x256")
    assert failed.value.status_code == 503
    assert "injected from the dashboard" in str(failed.value)
    expect(rule).to_contain_text("fired 1")
    expect(page.locator("#requests tbody tr").first).to_contain_text("status=503")
    assert client.images.generate(model="dall-e-2", prompt=PROMPT, size="256x256").data, "times=1 applies the rule once"

    rule.get_by_role("button", name="Remove").click()
    expect(rule).to_have_count(0)


@pytest.mark.parametrize(
    ("name", "value", "valid"),
    [
        *(("delay_ms", str(value), valid) for value, valid in ((0, False), (1, True), (MAX_DELAY_MS, True), (MAX_DELAY_MS + 1, False))),
        *(("status", str(value), valid) for value, valid in ((399, False), (400, True), (599, True), (600, False))),
        *(("retry_after", str(value), valid) for value, valid in ((0, False), (1, True), (MAX_RETRY_AFTER_SECONDS + 1, False))),
        *(("times", str(value), valid) for value, valid in ((0, False), (1, True), (MAX_TIMES, True), (MAX_TIMES + 1, False))),
    ],
)
def test_the_fault_forms_fields_take_what_the_server_takes(page: Page, name: str, value: str, valid: bool) -> None:
    """A value the server would refuse (a delay of 0 or past ten minutes, a status that is not an error's, a
    retry_after past a day, times past a million) is refused by the form itself, and one it takes is not."""
    page.locator("#fault-form [name=kind]").select_option("delay_ms" if name == "delay_ms" else "status")
    field = page.locator(f"#fault-form [name={name}]")
    field.fill(value)
    assert field.evaluate("input => input.validity.valid") is valid


def test_the_fault_forms_message_is_as_long_as_the_server_takes(page: Page) -> None:
    assert page.locator("#fault-form [name=message]").evaluate("input => input.maxLength") == MAX_MESSAGE_CHARS


def test_two_keys_masked_alike_show_their_own_key_ids_in_the_usage_and_the_requests(
    page: Page, simulator: RunningServer, namespace: str
) -> None:
    first, second = (f"pk_test_free_{uuid.uuid4().hex[:12]}" for _ in range(2))
    for key in (first, second):
        sdk(simulator, namespace, key).images.generate(model="dall-e-2", prompt=PROMPT, size="256x256")
    usage = page.locator('#usage .key[data-face="perf"]')
    expect(usage).to_have_count(2)
    shown = usage.locator(".key-id").all_inner_texts()
    assert len(set(shown)) == 2 and all(text.startswith("#") for text in shown), shown
    expect(usage.first).to_contain_text("pk_test_free_…")
    cells = page.locator("#requests tbody tr td:last-child .key-id")
    expect(cells).to_have_count(2)
    assert set(cells.all_inner_texts()) == set(shown)


def test_advancing_the_manual_clock_a_day_empties_a_keys_usage_bars(page: Page, simulator: RunningServer, namespace: str) -> None:
    key = f"pk_test_free_{uuid.uuid4().hex[:12]}"
    sdk(simulator, namespace, key).images.generate(model="dall-e-2", prompt=PROMPT, size="256x256", n=3)
    usage = page.locator('#usage .key[data-face="perf"]')
    expect(usage).to_have_count(1)
    expect(usage).to_contain_text("pk_test_free_…")
    minute, day = usage.locator('.bar[data-window="minute"]'), usage.locator('.bar[data-window="day"]')
    expect(minute).to_have_attribute("data-used", "3")
    expect(day).to_have_attribute("data-used", "3")
    clock = page.locator("#clock-iso").inner_text()

    page.get_by_role("button", name="+1 day").click()

    expect(page.locator("#clock-iso")).not_to_have_text(clock)
    expect(minute).to_have_attribute("data-used", "0")
    expect(day).to_have_attribute("data-used", "0")
    expect(minute.locator("span")).to_have_attribute("style", "width:0%")
    assert key not in page.content(), "keys are shown masked"


def test_an_image_past_its_hour_on_the_namespaces_clock_shows_expired_though_the_browser_cached_it(
    page: Page, simulator: RunningServer, namespace: str
) -> None:
    """The browser keeps the image for max-age real seconds; advancing the clock two hours expires its URL at once."""
    sdk(simulator, namespace).images.generate(model="dall-e-2", prompt=PROMPT, size="256x256")
    figure = page.locator("#gallery figure")
    expect(figure.locator("img")).to_have_js_property("naturalWidth", 256)
    page.get_by_role("button", name="+1 hour").click()
    page.get_by_role("button", name="+1 hour").click()
    expect(figure).to_have_attribute("data-expired", "true")
    expect(figure.locator(".expired")).to_have_text("expired")
    expect(figure.locator("img")).to_have_count(0)


def test_the_home_page_shows_a_faulted_answer_as_it_came_not_the_success_before_it(simulator: RunningServer, namespace: str) -> None:
    """Its form is the first a person tries a fault rule with: a malformed body or a dropped connection must not
    leave the previous 200 and its image on the page."""
    control = httpx.Client(base_url=simulator.base_url, params={"namespace": namespace})
    for pattern, action in (("^MAL", {"malformed": True}), ("^DROP", {"drop": True})):
        control.post("/_sim/faults", json={"match": {"prompt": pattern}, "action": action}).raise_for_status()
    errors: list[str] = []
    with chromium_page() as page:
        page.on("pageerror", lambda error: errors.append(str(error)))
        in_namespace = {"x-sim-namespace": namespace}
        page.route("**/v1/images/generations", lambda route: route.continue_(headers={**route.request.headers, **in_namespace}))
        page.goto(simulator.base_url + "/")
        out, prompt = page.locator("#out"), page.locator("#prompt")
        page.get_by_role("button", name="Generate").click()
        expect(out).to_contain_text('"model_used"')
        expect(page.locator("#img")).to_have_attribute("src", re.compile(r"/images/img_\w+\.png$"))
        prompt.fill("MAL a fox")
        page.get_by_role("button", name="Generate").click()
        expect(out).to_contain_text("200 (not JSON)")
        expect(page.locator("#img")).not_to_have_attribute("src", re.compile("."))
        prompt.fill("DROP a fox")
        page.get_by_role("button", name="Generate").click()
        expect(out).to_contain_text("no answer:")
    assert not errors, errors


def test_the_try_a_prompt_form_generates_in_the_selected_namespace(page: Page, simulator: RunningServer, namespace: str) -> None:
    form = page.locator("#try-form")
    form.get_by_label("prompt").fill(PROMPT)
    form.get_by_label("model").select_option("flux-dev")
    form.get_by_label("size").fill("512x256")
    form.get_by_label("images (n)").fill("2")
    form.get_by_role("button", name="Generate").click()

    expect(page.locator("#try-out")).to_contain_text('"model_used": "flux-dev"')
    expect(page.locator("#try-img")).to_have_attribute("src", re.compile(r"/images/img_\w+\.png$"))
    row = page.locator("#requests tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(namespace)
    expect(page.locator("#gallery figure")).to_have_count(2)


@pytest.mark.parametrize(("fault", "shown"), [("malformed", "200 (not JSON)"), ("status=503", "503 {")])
def test_the_try_a_prompt_form_shows_a_faulted_answer_as_it_came(page: Page, namespace: str, fault: str, shown: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    form = page.locator("#try-form")
    form.get_by_label("prompt").fill(f"{PROMPT} [sim:{fault}]")
    form.get_by_role("button", name="Generate").click()
    expect(page.locator("#try-out")).to_contain_text(shown)
    expect(page.locator("#requests tbody tr")).to_have_count(1)
    assert not errors, errors


def test_editing_the_namespace_in_the_url_shows_that_namespace(page: Page, simulator: RunningServer, namespace: str) -> None:
    """The page keeps its namespace in the URL (#ns=NAME), so a changed URL (edited, or Back) is a namespace shown."""
    other = f"{namespace}-b"
    sdk(simulator, other).images.generate(model="dall-e-2", prompt=PROMPT, size="256x256")
    rows = page.locator("#requests tbody tr")
    expect(rows).to_have_count(0)

    page.evaluate("name => { location.hash = '#ns=' + name; }", other)

    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(other)
    expect(page.locator("#namespace")).to_have_value(other)


def test_a_namespace_the_page_refuses_is_reported_and_another_can_still_be_picked(
    page: Page, simulator: RunningServer, namespace: str
) -> None:
    """A mistyped or stale link (`#ns=no such`) gets the control API's message, and the selector still lists the
    simulator's namespaces to pick a good one from."""
    sdk(simulator, namespace).images.generate(model="dall-e-2", prompt=PROMPT, size="256x256")
    page.goto(f"{simulator.base_url}/_sim/ui#ns=no%20such")
    page.reload()
    expect(page.locator("#problem")).to_contain_text("namespace must be")

    page.locator("#namespace").select_option(namespace)

    expect(page.locator("#problem")).to_be_hidden()
    rows = page.locator("#requests tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(namespace)


def test_after_a_reset_the_page_shows_the_new_requests_even_where_their_ids_are_the_old_ones(
    simulator: RunningServer, namespace: str
) -> None:
    """A reset forgets the journal; a shared (Redis) journal then numbers requests from request_1 again. The page's
    clock is held between polls, so no poll falls between the reset and the next request (which would hide this)."""
    expect.set_options(timeout=PATIENCE_MS)
    with chromium_page() as page:
        page.clock.install()
        page.goto(f"{simulator.base_url}/_sim/ui#ns={namespace}")
        rows = page.locator("#requests tbody tr")
        httpx.post(f"{simulator.base_url}/_sim/reset").raise_for_status()  # so the shared journal's first is request_1
        sdk(simulator, namespace).images.generate(model="dall-e-2", prompt=PROMPT, size="256x256")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("dall-e-2")
        page.clock.pause_at(int(time.time() * 1000) + 3_600_000)
        page.wait_for_timeout(500)  # a poll already under way ends

        httpx.post(f"{simulator.base_url}/_sim/reset").raise_for_status()
        sdk(simulator, namespace).images.generate(model="flux-dev", prompt=PROMPT, size="256x256")
        page.clock.run_for(2 * 1000)

        expect(rows.first).to_contain_text("flux-dev")
        expect(rows).to_have_count(1)


# What a person sees over some polls: an error an action got must still be there after them.
SEVERAL_POLLS_MS = 3_000


def test_a_rule_the_server_refuses_keeps_its_message_beside_the_form_across_polls(page: Page) -> None:
    """The browser cannot check a regex; the server's 400, naming the field, stays next to the form, not in a banner
    the next successful poll clears."""
    form = page.locator("#fault-form")
    form.locator("[name=prompt]").fill("([")
    form.get_by_role("button", name="Add rule").click()
    result = page.locator("#fault-result")
    expect(result).to_contain_text("match.prompt is not a regular expression")
    page.wait_for_timeout(SEVERAL_POLLS_MS)
    expect(result).to_contain_text("match.prompt is not a regular expression", timeout=1)
    expect(result).to_have_class("err", timeout=1)
    expect(page.locator("#faults li[data-rule-id]")).to_have_count(0)

    form.locator("[name=prompt]").fill("^a fox")
    form.get_by_role("button", name="Add rule").click()
    expect(result).to_have_text(re.compile(r"^added fault_\w+$"))
    expect(result).not_to_have_class("err")


def test_a_remove_the_server_refuses_keeps_its_message_and_names_the_rules_namespace(
    page: Page, simulator: RunningServer, namespace: str
) -> None:
    """The rule is removed elsewhere just before the click: the page's DELETE gets the server's 404, which stays in
    view across polls. The DELETE names the namespace the rule was listed in."""
    control = httpx.Client(base_url=simulator.base_url, params={"namespace": namespace})
    made = control.post("/_sim/faults", json={"action": {"status": 503}}).json()
    rule = page.locator(f'#faults li[data-rule-id="{made["id"]}"]')
    expect(rule).to_have_count(1)
    sent: list[str] = []

    def removed_elsewhere_first(route: Route) -> None:
        sent.append(route.request.url)
        control.delete(f"/_sim/faults/{made['id']}").raise_for_status()
        route.continue_()

    page.route("**/_sim/faults/*", removed_elsewhere_first)
    rule.get_by_role("button", name=f"Remove {made['id']}").click()
    result = page.locator("#rules-result")
    expect(result).to_contain_text(made["id"])
    page.wait_for_timeout(SEVERAL_POLLS_MS)
    expect(result).to_have_class("err", timeout=1)
    expect(result).to_contain_text(made["id"], timeout=1)
    assert sent and all(f"namespace={namespace}" in url for url in sent), sent


def test_a_clock_button_that_gets_no_answer_says_so_beside_the_clock_across_polls(page: Page) -> None:
    page.route("**/_sim/clock/advance*", lambda route: route.abort())
    page.get_by_role("button", name="+1 minute").click()
    result = page.locator("#advance-result")
    expect(result).to_contain_text("is not answering")
    page.wait_for_timeout(SEVERAL_POLLS_MS)
    expect(result).to_contain_text("is not answering", timeout=1)
    expect(page.locator("#problem")).to_be_hidden()


def test_the_dashboard_opened_under_a_namespace_base_path_shows_and_generates_in_that_namespace(
    simulator: RunningServer, namespace: str
) -> None:
    """`perf_sim.base_url + "/_sim/ui"` is the page with the base path's namespace chosen (a redirect to #ns=NAME)."""
    expect.set_options(timeout=PATIENCE_MS)
    sdk(simulator, namespace).images.generate(model="dall-e-2", prompt=PROMPT, size="256x256")
    with chromium_page() as page:
        page.goto(f"{simulator.base_url}/_sim/ns/{namespace}/_sim/ui")
        assert page.url == f"{simulator.base_url}/_sim/ui#ns={namespace}"
        expect(page.locator("#namespace")).to_have_value(namespace)
        rows = page.locator("#requests tbody tr")
        expect(rows).to_have_count(1)
        page.locator("#try-form").get_by_role("button", name="Generate").click()
        expect(rows).to_have_count(2)
    made = httpx.get(f"{simulator.base_url}/_sim/requests", params={"namespace": namespace}).json()["requests"]
    assert len(made) == 2


def test_a_browser_adding_the_namespace_header_to_every_request_sees_that_namespace(simulator: RunningServer, namespace: str) -> None:
    """A header-adding extension or proxy: a redirect for the header looped for ever, and a page on `default` named
    two namespaces in every call (a 400 each)."""
    expect.set_options(timeout=PATIENCE_MS)
    sdk(simulator, namespace).images.generate(model="dall-e-2", prompt=PROMPT, size="256x256")
    with chromium_page() as page:
        page.set_extra_http_headers({"X-Sim-Namespace": namespace})
        page.goto(f"{simulator.base_url}/_sim/ui")
        assert page.url == f"{simulator.base_url}/_sim/ui#ns={namespace}"
        expect(page.locator("#namespace")).to_have_value(namespace)
        expect(page.locator("#requests tbody tr")).to_have_count(1)
        expect(page.locator("#problem")).to_be_hidden()


def test_the_fault_form_takes_any_probability_and_ignores_fields_its_action_does_not_use(
    page: Page, simulator: RunningServer, namespace: str
) -> None:
    """A probability of 0.33 (no step of 0.05), and a status of 999 left in the form while the action is a delay."""
    form = page.locator("#fault-form")
    form.locator("[name=status]").fill("999")
    form.locator("[name=kind]").select_option("delay_ms")
    form.locator("[name=delay_ms]").fill("250")
    form.locator("[name=probability]").fill("0.33")
    expect(form.locator("[name=status]")).to_be_disabled()
    form.get_by_role("button", name="Add rule").click()
    expect(page.locator("#fault-result")).to_contain_text("added fault_")
    rules = httpx.get(f"{simulator.base_url}/_sim/faults", params={"namespace": namespace}).json()["faults"]
    assert [(rule["action"], rule["probability"]) for rule in rules] == [({"delay_ms": 250}, 0.33)]


def test_the_page_says_when_the_simulator_hangs_or_stops_and_reads_its_clock_mode_again_when_it_is_back() -> None:
    """A hung simulator (SIGSTOP) is a poll timed out; a stopped one, no connection: both are said in words, with the
    last data dimmed. Restarted with a real clock, the page shows the real clock and no advance buttons."""
    expect.set_options(timeout=PATIENCE_MS)
    port = free_port()
    problem = None
    with chromium_page() as page:
        with running_simulator("--clock", "manual", port=port, silent=True) as sim:
            page.goto(f"{sim.base_url}/_sim/ui")
            problem, main = page.locator("#problem"), page.locator("main")
            expect(page.locator("#clock-mode")).to_have_text("(manual clock)")
            os.kill(sim.process.pid, signal.SIGSTOP)
            try:
                expect(problem).to_contain_text(f"the simulator at {sim.base_url} is not answering (no answer within")
                expect(problem).to_contain_text("showing the last data it gave")
                expect(main).to_have_class("stale")
            finally:
                os.kill(sim.process.pid, signal.SIGCONT)
            expect(problem).to_be_hidden()
            expect(main).not_to_have_class("stale")
        expect(problem).to_contain_text(f"the simulator at {sim.base_url} is not answering (no connection)")
        expect(main).to_have_class("stale")
        with running_simulator("--clock", "real", port=port, silent=True):
            expect(problem).to_be_hidden()
            expect(page.locator("#clock-mode")).to_have_text("(real clock)")
            expect(page.locator("#advance")).to_be_hidden()


def test_a_request_row_is_reached_with_tab_and_opened_with_enter_or_space(page: Page, simulator: RunningServer, namespace: str) -> None:
    sdk(simulator, namespace).images.generate(model="dall-e-2", prompt=PROMPT, size="256x256")
    expect(page.locator("#requests tbody tr")).to_have_count(1)
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('#requests tbody tr')"):
            break
    else:
        raise AssertionError("no request row is reached with Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#detail")).to_be_visible()
    expect(page.locator("#detail-body")).to_contain_text(PROMPT)
    assert page.evaluate("document.activeElement.matches('#requests tbody tr')"), "the row keeps the focus"
    page.keyboard.press(" ")
    expect(page.locator("#detail")).to_be_hidden()


CONTRAST = """bar => {
  const luminance = (css) => {
    const [r, g, b] = css.match(/[0-9.]+/g).slice(0, 3).map((v) => Number(v) / 255)
      .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const text = luminance(getComputedStyle(bar.querySelector("em")).color);
  return [bar.querySelector("span"), bar].map((part) => {
    const [a, b] = [text, luminance(getComputedStyle(part).backgroundColor)].sort();
    return (b + 0.05) / (a + 0.05);
  });
}"""


def test_the_text_on_a_full_usage_bar_reads_at_wcag_aa_contrast(page: Page, simulator: RunningServer, namespace: str) -> None:
    sdk(simulator, namespace, f"pk_test_free_{uuid.uuid4().hex[:12]}").images.generate(model="dall-e-2", prompt=PROMPT, size="256x256", n=5)
    full = page.locator('#usage .bar.full[data-window="minute"]')
    expect(full).to_have_count(1)
    on_fill, on_rest = full.evaluate(CONTRAST)
    assert min(on_fill, on_rest) >= 4.5, (on_fill, on_rest)


def test_a_long_keys_id_in_the_requests_table_is_not_cut(page: Page, simulator: RunningServer, namespace: str) -> None:
    """An enterprise test key masks to `pk_test_enterprise_…`, long enough to push the key id out of a fixed column."""
    key = f"pk_test_enterprise_{uuid.uuid4().hex[:12]}"
    sdk(simulator, namespace, key).images.generate(model="dall-e-2", prompt=PROMPT, size="256x256")
    key_id = page.locator("#requests tbody tr td:last-child .key-id")
    expect(key_id).to_have_count(1)
    inside = key_id.evaluate(
        "id => { const cell = id.closest('td').getBoundingClientRect(), own = id.getBoundingClientRect();"
        " return own.right <= cell.right + 0.5 && id.closest('td').scrollWidth <= id.closest('td').clientWidth; }"
    )
    assert inside, "the key id is clipped"


def test_many_keys_scroll_within_the_usage_panel_and_a_long_rule_wraps_within_the_page(
    page: Page, simulator: RunningServer, namespace: str
) -> None:
    for _ in range(20):
        sdk(simulator, namespace, f"pk_test_pro_{uuid.uuid4().hex[:12]}").images.generate(model="dall-e-2", prompt=PROMPT, size="256x256")
    control = httpx.Client(base_url=simulator.base_url, params={"namespace": namespace})
    long_rule = {"match": {"path": "/v1/" + "p" * 300}, "action": {"status": 503, "message": "m" * 500}}
    control.post("/_sim/faults", json=long_rule).raise_for_status()
    expect(page.locator("#usage .key")).to_have_count(20)
    expect(page.locator("#faults li[data-rule-id]")).to_have_count(1)
    usage = page.locator("#usage")
    assert usage.evaluate("u => u.scrollHeight > u.clientHeight && u.clientHeight < window.innerHeight"), "the usage panel is not bounded"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "a long rule widens the page"


def test_switching_namespace_during_a_slow_poll_never_shows_the_old_namespaces_data(
    page: Page, simulator: RunningServer, namespace: str
) -> None:
    """The old namespace's answers, slowed down in the page, arrive after the switch: they are dropped."""
    other = f"{namespace}-b"
    for _ in range(3):
        sdk(simulator, namespace).images.generate(model="dall-e-2", prompt=PROMPT, size="256x256")
    httpx.get(f"{simulator.base_url}/_sim/requests", params={"namespace": other}).raise_for_status()
    rows = page.locator("#requests tbody tr")
    expect(rows).to_have_count(3)
    page.evaluate(
        """old => {
          const fetched = window.fetch;
          window.fetch = async (url, init) => {
            const response = await fetched(url, init);
            if (String(url).includes("namespace=" + old)) await new Promise((done) => setTimeout(done, 1500));
            return response;
          };
          window.seenUnderNewName = [];
          new MutationObserver(() => {
            const shown = document.querySelector("#requests tbody").textContent + document.querySelector("#usage").textContent;
            if (document.querySelector("#namespace").value !== old && shown.includes("pk_live_")) window.seenUnderNewName.push(shown);
          }).observe(document.body, {subtree: true, childList: true, characterData: true});
        }""",
        namespace,
    )
    page.wait_for_timeout(1_200)  # a slowed poll of the old namespace is under way
    page.evaluate("name => { location.hash = '#ns=' + name; }", other)
    expect(page.locator("#namespace")).to_have_value(other)
    expect(page.locator("#usage")).to_contain_text("no key has used its windows yet")
    page.wait_for_timeout(SEVERAL_POLLS_MS)
    assert page.evaluate("window.seenUnderNewName") == []
    expect(rows).to_have_count(0)


# A small laptop (or half of a 1920 px screen), and a phone, as its browser lays the page out.
NARROW_SCREENS = [pytest.param(1024, 768, False, id="1024x768"), pytest.param(375, 740, True, id="phone 375x740")]
# The request column is never narrower than this: 9rem, "POST /v1/images/generations" on two lines at most.
USEFUL_REQUEST_PX = 144
# Nothing in the cell clipped: its text lies inside it, and no element in it hides some of its content.
WHOLE_IN_CELL = """td => {
  const cell = td.getBoundingClientRect(), range = document.createRange();
  range.selectNodeContents(td);
  const text = range.getBoundingClientRect();
  const inside = text.width > 0 && text.left >= cell.left - 0.5 && text.right <= cell.right + 0.5 && text.bottom <= cell.bottom + 0.5;
  const whole = (e) => e.scrollWidth <= e.clientWidth + 1 && e.scrollHeight <= e.clientHeight + 1;
  return inside && [td, ...td.querySelectorAll("*")].every(whole);
}"""


@pytest.mark.parametrize(("width", "height", "phone"), NARROW_SCREENS)
def test_on_a_narrow_screen_each_requests_method_and_path_is_shown_whole_and_the_page_does_not_scroll_sideways(
    simulator: RunningServer, namespace: str, width: int, height: int, phone: bool
) -> None:
    """Every column but the request had a fixed width, and the request got what they left: nothing below about
    1,140 px, and on a phone the page was 1,105 px wide. A narrower screen drops the columns missed least; the
    request's detail still says what they showed."""
    key = f"pk_test_enterprise_{uuid.uuid4().hex[:12]}"
    sdk(simulator, namespace, key).images.generate(model="dall-e-2", prompt=PROMPT, size="256x256")
    sdk(simulator, namespace, key).with_options(base_url=f"{simulator.base_url}/openai/v1").images.generate(
        model="dall-e-2", prompt=PROMPT, size="256x256"
    )
    expect.set_options(timeout=PATIENCE_MS)
    with chromium_page(width, height, phone=phone) as page:
        page.goto(f"{simulator.base_url}/_sim/ui#ns={namespace}")
        rows = page.locator("#requests tbody tr")
        expect(rows).to_have_count(2)

        header = page.locator("#requests thead th", has_text="request")
        expect(header).to_be_visible()
        assert header.evaluate("th => th.getBoundingClientRect().width") >= USEFUL_REQUEST_PX
        for th in page.locator("#requests thead th:visible").all():
            assert th.evaluate("th => th.scrollWidth <= th.clientWidth"), f"the column header {th.inner_text()!r} is cut"
        cells = page.locator("#requests tbody td:nth-child(3)")
        assert cells.all_inner_texts() == ["POST /openai/v1/images/generations", "POST /v1/images/generations"]
        for cell in cells.all():
            expect(cell).to_be_visible()
            assert cell.evaluate("td => td.getBoundingClientRect().width") >= USEFUL_REQUEST_PX
            assert cell.evaluate(WHOLE_IN_CELL), f"{cell.inner_text()!r} is cut at {width} px"
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), "the page scrolls sideways"
        assert page.evaluate(
            "() => document.querySelector('#requests').getBoundingClientRect().right"
            " <= document.querySelector('#requests-section').getBoundingClientRect().right"
        ), "the table overflows its section"

        rows.first.click()
        expect(page.locator("#detail-sent")).to_contain_text("openai face")
        expect(page.locator("#detail-sent")).to_contain_text("key pk_test_enterprise_…")
        expect(page.locator("#detail-sent")).to_contain_text(f"namespace {namespace}")


def test_the_page_reads_the_namespace_list_every_ten_seconds_not_at_every_poll(simulator: RunningServer, namespace: str) -> None:
    """The list holds every namespace seen since the last reset, one a test of a suite using the `perf_sim` fixture:
    hundreds of names, read by every open page once a second."""
    expect.set_options(timeout=PATIENCE_MS)
    listed: list[str] = []
    polled: list[str] = []

    def seen(request: Request) -> None:
        if "/_sim/namespaces" in request.url:
            listed.append(request.url)
        elif "/_sim/requests?" in request.url:
            polled.append(request.url)

    with chromium_page() as page:
        page.on("request", seen)
        page.goto(f"{simulator.base_url}/_sim/ui#ns={namespace}")
        expect(page.locator("#clock-iso")).not_to_have_text("…")
        page.wait_for_timeout(SEVERAL_POLLS_MS + 500)
    assert len(polled) >= 3, polled
    assert len(listed) == 1, f"{len(listed)} reads of the namespace list in {len(polled)} polls"


def test_a_namespace_first_seen_after_the_page_loaded_is_listed_ten_seconds_on_and_the_chosen_one_stays_selected(
    simulator: RunningServer, namespace: str
) -> None:
    expect.set_options(timeout=PATIENCE_MS)
    with chromium_page() as page:
        page.clock.install()
        page.goto(f"{simulator.base_url}/_sim/ui#ns={namespace}")
        selector = page.locator("#namespace")
        expect(selector).to_have_value(namespace)
        other = f"{namespace}-new"
        sdk(simulator, other).images.generate(model="dall-e-2", prompt=PROMPT, size="256x256")
        offered = selector.locator("option", has_text=re.compile(f"^{re.escape(other)}$"))
        page.wait_for_timeout(SEVERAL_POLLS_MS)
        expect(offered).to_have_count(0, timeout=1)

        page.clock.fast_forward(NAMESPACES_MS)

        expect(offered).to_have_count(1)
        expect(selector).to_have_value(namespace)


def test_a_namespace_first_seen_after_the_page_loaded_is_offered_as_soon_as_the_selector_gets_the_focus(
    page: Page, simulator: RunningServer, namespace: str
) -> None:
    other = f"{namespace}-new"
    sdk(simulator, other).images.generate(model="dall-e-2", prompt=PROMPT, size="256x256")
    selector = page.locator("#namespace")

    selector.focus()

    expect(selector.locator("option", has_text=re.compile(f"^{re.escape(other)}$"))).to_have_count(1, timeout=NAMESPACES_MS // 2)
    expect(selector).to_have_value(namespace)
