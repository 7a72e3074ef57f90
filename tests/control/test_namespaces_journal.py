"""Namespaces keep windows, journal, rules and clock apart on one simulator; the journal records what apps sent."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest

FREE_KEY = "pk_test_free_namespaced"


def generate(client: httpx.Client, namespace: str | None = None, **body: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {FREE_KEY}", **({"X-Sim-Namespace": namespace} if namespace else {})}
    return client.post("/v1/images/generations", json={"prompt": "a quiet harbour", **body}, headers=headers)


def test_namespaces_have_their_own_rate_windows(client: httpx.Client) -> None:
    minute_limit = client.get(f"/_sim/usage/{FREE_KEY}").json()["minute"]["limit"]
    assert [generate(client, "team-a").status_code for _ in range(minute_limit + 1)] == [200] * minute_limit + [429]
    assert generate(client, "team-b").status_code == 200
    assert generate(client).status_code == 200
    assert client.get(f"/_sim/usage/{FREE_KEY}", params={"namespace": "team-a"}).json()["minute"]["used"] == minute_limit
    assert client.get(f"/_sim/usage/{FREE_KEY}", params={"namespace": "team-b"}).json()["minute"]["used"] == 1


def test_namespaces_have_their_own_clock(client: httpx.Client) -> None:
    start = client.get("/_sim/clock").json()["now"]
    client.post("/_sim/clock/advance", params={"namespace": "later"}, json={"seconds": 3600}).raise_for_status()
    assert client.get("/_sim/clock", params={"namespace": "later"}).json()["now"] == start + 3600
    assert client.get("/_sim/clock").json()["now"] == start
    created = generate(client, "later").json()["created"]
    assert created == int(start + 3600)


def test_rules_apply_only_in_their_namespace(client: httpx.Client) -> None:
    client.post("/_sim/faults", json={"action": {"status": 503}, "namespace": "flaky"}).raise_for_status()
    assert generate(client, "flaky").status_code == 503
    assert generate(client, "steady").status_code == 200
    assert generate(client).status_code == 200


def test_journal_and_reset_of_one_namespace_leave_the_others_alone(client: httpx.Client) -> None:
    generate(client, "one")
    generate(client, "two")
    assert [e["namespace"] for e in client.get("/_sim/requests", params={"namespace": "one"}).json()["requests"]] == ["one"]
    client.post("/_sim/faults", json={"action": {"drop": True}, "namespace": "one"}).raise_for_status()
    client.post("/_sim/reset", params={"namespace": "one"}).raise_for_status()
    assert client.get("/_sim/requests", params={"namespace": "one"}).json()["requests"] == []
    assert client.get("/_sim/faults").json()["faults"] == []
    assert len(client.get("/_sim/requests", params={"namespace": "two"}).json()["requests"]) == 1
    assert client.get("/_sim/namespaces").json()["namespaces"] == ["default", "two"]


def test_an_image_made_in_a_namespace_loads_without_any_header(client: httpx.Client) -> None:
    url = generate(client, "gallery").json()["data"][0]["url"]
    default_url = generate(client).json()["data"][0]["url"]
    assert url != default_url, "ids of two namespaces never collide"
    assert httpx.get(url).headers["content-type"] == "image/png"


def test_an_image_url_expires_by_the_clock_of_the_namespace_that_made_it_whoever_asks(client: httpx.Client) -> None:
    client.post("/_sim/clock/advance", json={"seconds": 7200}).raise_for_status()
    url = generate(client, "fresh").json()["data"][0]["url"]
    assert httpx.get(url).status_code == 200, "the default namespace's later clock does not expire it"
    client.post("/_sim/clock/advance", params={"namespace": "fresh"}, json={"seconds": 3600}).raise_for_status()
    assert httpx.get(url).status_code == 404, "its own namespace's hour has passed"


def test_journal_entry_shows_what_the_app_sent_with_the_key_masked(client: httpx.Client) -> None:
    response = generate(client, "audit", model="dall-e-3", size="1024x1024", prompt="x" * 500)
    image_id = response.json()["data"][0]["url"].rsplit("/", 1)[1].removesuffix(".png")
    (entry,) = client.get("/_sim/requests", params={"namespace": "audit"}).json()["requests"]
    assert entry["key"] != FREE_KEY and FREE_KEY.startswith(entry["key"].removesuffix("…"))
    assert (entry["method"], entry["path"], entry["face"], entry["status"], entry["error_type"]) == (
        "POST",
        "/v1/images/generations",
        "perf",
        200,
        None,
    )
    assert (entry["model"], entry["n"], entry["size"], entry["image_ids"]) == ("dall-e-3", 1, "1024x1024", [image_id])
    assert len(entry["prompt"]) < 500 and len(entry["body"]["prompt"]) < 500
    assert entry["time"] == client.get("/_sim/clock").json()["now"] and entry["iso"].startswith("2026-01-01T00:00:00")
    assert FREE_KEY not in httpx.get(str(client.base_url) + "/_sim/requests").text


def test_a_body_nested_a_thousand_deep_is_journalled_and_read_back(client: httpx.Client) -> None:
    """Bad input gets its answer and its entry; reading the journal must not fail on it."""
    body = b'{"prompt": "deep", "extra": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    headers = {"Authorization": f"Bearer {FREE_KEY}", "X-Sim-Namespace": "deep", "Content-Type": "application/json"}
    assert client.post("/v1/images/generations", content=body, headers=headers).status_code in (200, 400)
    (entry,) = client.get("/_sim/requests", params={"namespace": "deep"}).json()["requests"]
    assert entry["prompt"] == "deep"
    assert client.post("/_sim/requests/count", params={"namespace": "deep"}, json={"match": {"prompt": "^deep$"}}).json() == {"count": 1}


def test_journal_filters_and_counts_like_a_verification_api(client: httpx.Client) -> None:
    generate(client, model="dall-e-3")
    generate(client, model="dall-e-3", n=3)
    generate(client, model="dall-e-3", size="7x7")
    assert client.post("/_sim/requests/count", json={"match": {"model": "dall-e-3", "status": 200}}).json() == {"count": 1}
    assert client.post("/_sim/requests/count", json={"match": {"key": FREE_KEY, "status": 400}}).json() == {"count": 2}
    latest = client.get("/_sim/requests", params={"status": 400, "limit": 1}).json()["requests"]
    assert len(latest) == 1 and latest[0]["body"]["size"] == "7x7" and latest[0]["error_type"] == "invalid_request"
    assert client.delete("/_sim/requests").json() == {"deleted": 3}


@pytest.mark.parametrize(
    "query",
    [
        "limit=0", "status=abc", "namespace=a%20b", "namespace=", "limit=%C2%B2", "status=%D9%A5%D9%A0%D9%A3", "stauts=500", "face=dalle",
        "prompt=", "prompt=(unclosed", "prompt=a%7B99999999999999999999%7D",
    ],
)  # fmt: skip
def test_bad_journal_query_is_a_400_naming_it(client: httpx.Client, query: str) -> None:
    response = client.get(f"/_sim/requests?{query}")
    assert response.status_code == 400 and response.json()["error"]["param"] == query.split("=")[0]


def test_a_listing_by_prompt_lists_exactly_the_entries_a_count_by_that_prompt_counts(each_state: httpx.Client) -> None:
    """When a count by prompt comes out wrong, the test writer lists the same entries to see why (WireMock's find and
    verify take one pattern). Both search the prompt as the journal keeps it, cut at 200 characters."""
    prompts = ["free tier fox", "Free again", "a free fox", "free as a bird", "x" * 200 + " free"]
    for prompt in prompts:
        assert generate(each_state, "byprompt", prompt=prompt).status_code == 200
    for pattern in ["^free", "(?i)^free", "free", "fox$", "free$", "^nothing"]:
        listed = each_state.get("/_sim/requests", params={"namespace": "byprompt", "prompt": pattern}).json()["requests"]
        counted = each_state.post("/_sim/requests/count", json={"match": {"prompt": pattern}, "namespace": "byprompt"}).json()
        assert counted == {"count": len(listed)}, pattern
    listed = each_state.get("/_sim/requests", params={"namespace": "byprompt", "prompt": "^free", "status": 200}).json()["requests"]
    assert [entry["prompt"] for entry in listed] == ["free as a bird", "free tier fox"]


@pytest.mark.parametrize(
    ("named", "how"),
    [
        ({"params": {"namespace": "flaky"}}, "query"),
        ({"headers": {"X-Sim-Namespace": "flaky"}}, "header"),
        ({"base": "/_sim/ns/flaky"}, "base path"),
    ],
)
def test_a_rule_and_a_count_made_in_a_namespace_by_query_header_or_base_path_stay_in_it(
    client: httpx.Client, named: dict[str, Any], how: str
) -> None:
    base = named.get("base", "")
    call = {k: v for k, v in named.items() if k != "base"}
    rule = client.post(f"{base}/_sim/faults", json={"action": {"status": 503}}, **call)
    assert rule.status_code == 201 and rule.json()["namespace"] == "flaky", how
    assert generate(client).status_code == 200
    assert generate(client, "flaky").status_code == 503
    assert client.post(f"{base}/_sim/requests/count", json={"match": {}}, **call).json() == {"count": 1}
    assert client.post("/_sim/requests/count", json={"match": {}}).json() == {"count": 2}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/_sim/reset"),
        ("DELETE", "/_sim/faults"),
        ("DELETE", "/_sim/requests"),
        ("GET", "/_sim/faults"),
        ("POST", "/_sim/clock/advance"),
    ],
)
def test_an_empty_or_doubled_namespace_is_a_400_and_acts_on_no_namespace(client: httpx.Client, method: str, path: str) -> None:
    client.post("/_sim/faults", json={"action": {"status": 503}, "namespace": "keep"}).raise_for_status()
    generate(client, "keep")
    for query, headers in [("namespace=", {}), ("namespace=a&namespace=b", {}), ("namespace=a", {"X-Sim-Namespace": "b"})]:
        response = client.request(method, f"{path}?{query}", headers=headers, json={"seconds": 1})
        assert response.status_code == 400 and response.json()["error"]["param"] == "namespace", query
    assert len(client.get("/_sim/faults").json()["faults"]) == 1
    assert client.post("/_sim/requests/count", json={"match": {}}).json() == {"count": 1}


@pytest.mark.parametrize(("method", "path"), [("POST", "/_sim/reset"), ("DELETE", "/_sim/faults"), ("DELETE", "/_sim/requests")])
@pytest.mark.parametrize(
    ("body", "param"),
    [(b'{"namespace": "jobA"}', "namespace"), (b'{"match": {}}', "match"), (b"[]", None), (b"jobA", None)],
    ids=["namespace", "other field", "not an object", "not JSON"],
)
def test_a_reset_or_delete_given_a_body_is_a_400_and_forgets_nothing(
    client: httpx.Client, method: str, path: str, body: bytes, param: str | None
) -> None:
    """Ignored, `{"namespace": "jobA"}` (how a rule or a count names its namespace) would make the call act on every
    namespace."""
    for namespace in ("jobA", "jobB"):
        client.post("/_sim/faults", json={"action": {"status": 503}, "namespace": namespace}).raise_for_status()
        generate(client, namespace)
    response = client.request(method, path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["param"] == param, response.text
    assert len(client.get("/_sim/faults").json()["faults"]) == 2
    assert client.post("/_sim/requests/count", json={"match": {}}).json() == {"count": 2}
    assert client.request(method, path, params={"namespace": "jobA"}, json={}).status_code == 200
    assert client.post("/_sim/requests/count", json={"match": {}}).json()["count"] == (1 if path != "/_sim/faults" else 2)


def test_removing_a_rule_by_id_given_a_body_is_a_400_and_keeps_it(client: httpx.Client) -> None:
    rule = client.post("/_sim/faults", json={"action": {"status": 503}, "namespace": "owner"}).json()
    refused = client.request("DELETE", f"/_sim/faults/{rule['id']}", json={"namespace": "intruder"})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "namespace"
    assert [listed["id"] for listed in client.get("/_sim/faults").json()["faults"]] == [rule["id"]]


def test_a_rule_body_and_its_call_naming_two_namespaces_is_a_400(client: httpx.Client) -> None:
    response = client.post("/_sim/faults", params={"namespace": "a"}, json={"action": {"status": 503}, "namespace": "b"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "namespace"
    assert client.get("/_sim/faults").json()["faults"] == []


def test_usage_lists_the_active_keys_of_a_namespace(client: httpx.Client) -> None:
    generate(client, "dash")
    (row,) = client.get("/_sim/usage", params={"namespace": "dash"}).json()["keys"]
    assert row["tier"] == "free" and row["face"] == "perf" and row["minute"]["used"] == 1 and row["key"].endswith("…")
    assert client.get("/_sim/usage").json()["keys"] == []


def test_two_keys_masked_alike_are_told_apart_by_their_key_id_in_the_journal_and_the_usage(each_state: httpx.Client) -> None:
    """Every free test key masks to `pk_test_free_…`; an app juggling two of them must see which one each request
    and each window is."""
    client, other = each_state, "pk_test_free_another_one"
    headers = {"X-Sim-Namespace": "twins"}
    for key in (FREE_KEY, other, FREE_KEY):
        sent = client.post("/v1/images/generations", json={"prompt": "a fox"}, headers={**headers, "Authorization": f"Bearer {key}"})
        assert sent.status_code == 200, sent.text
    newest, middle, oldest = client.get("/_sim/requests", params={"namespace": "twins"}).json()["requests"]
    assert newest["key"] == middle["key"] == oldest["key"] == "pk_test_free_…"
    assert newest["key_id"] == oldest["key_id"] != middle["key_id"]
    assert all(isinstance(entry["key_id"], str) and len(entry["key_id"]) == 8 for entry in (newest, middle))
    rows = client.get("/_sim/usage", params={"namespace": "twins"}).json()["keys"]
    assert {row["key_id"]: row["minute"]["used"] for row in rows} == {oldest["key_id"]: 2, middle["key_id"]: 1}


def test_a_key_id_selects_exactly_its_own_keys_requests_where_its_masked_form_selects_every_key_masked_alike(
    each_state: httpx.Client,
) -> None:
    """A user copies `pk_test_free_…#5ed1354f` from the dashboard or the request log to check one key's requests."""
    client, other = each_state, "pk_test_free_another_one"
    for key in (FREE_KEY, other, FREE_KEY):
        sent = client.post(
            "/v1/images/generations", json={"prompt": "a fox"}, headers={"X-Sim-Namespace": "ids", "Authorization": f"Bearer {key}"}
        )
        assert sent.status_code == 200, sent.text
    every = client.get("/_sim/requests", params={"namespace": "ids"}).json()["requests"]
    for key_id, times in ((every[0]["key_id"], 2), (every[1]["key_id"], 1)):
        listed = client.get("/_sim/requests", params={"namespace": "ids", "key_id": key_id}).json()["requests"]
        assert [entry["key_id"] for entry in listed] == [key_id] * times
        counted = client.post("/_sim/requests/count", json={"match": {"key_id": key_id, "key": "pk_test_free_…"}, "namespace": "ids"})
        assert counted.json() == {"count": times}
    assert client.post("/_sim/requests/count", json={"match": {"key": "pk_test_free_…"}, "namespace": "ids"}).json() == {"count": 3}
    as_number = client.post("/_sim/requests/count", json={"match": {"key_id": 12345678}, "namespace": "ids"})
    assert as_number.status_code == 400 and as_number.json()["error"]["param"] == "match.key_id"


@pytest.mark.parametrize("key_id", ["5ED1354F", "5ed1354", "5ed1354f0", "pk_test_", ""])
def test_a_malformed_key_id_is_a_400_naming_it_in_a_listing_and_a_count(client: httpx.Client, key_id: str) -> None:
    """No key has such an id: a filter by it would select nothing and let a test pass on no requests at all."""
    listing = client.get("/_sim/requests", params={"key_id": key_id})
    assert listing.status_code == 400 and listing.json()["error"]["param"] == "key_id", listing.text
    count = client.post("/_sim/requests/count", json={"match": {"key_id": key_id}})
    assert count.status_code == 400 and count.json()["error"]["param"] == "match.key_id", count.text


@pytest.mark.parametrize("body", [{"n": 2, "size": "256x256", "model": "dall-e-2"}, {"n": 0}])
def test_a_request_reads_the_same_in_the_journal_whether_or_not_a_fault_could_apply(client: httpx.Client, body: dict[str, object]) -> None:
    """With no rule, the control layer keeps a request's journal row itself (its fast path); while a rule exists, it
    makes an entry and watches the answer. A success and an error must read the same either way."""
    plain = generate(client, "paths", **body)
    client.post("/_sim/faults", json={"match": {"model": "no-such-model"}, "action": {"status": 503}}).raise_for_status()
    watched = generate(client, "paths", **body)
    assert plain.status_code == watched.status_code
    newest, oldest = client.get("/_sim/requests", params={"namespace": "paths"}).json()["requests"]
    differing = {"id", "time", "iso", "latency_ms", "image_ids", "request_id"}
    assert {k: v for k, v in newest.items() if k not in differing} == {k: v for k, v in oldest.items() if k not in differing}
    assert (newest["request_id"], oldest["request_id"]) == (watched.headers["x-request-id"], plain.headers["x-request-id"])
    assert len(newest["image_ids"]) == len(oldest["image_ids"]) == (2 if plain.status_code == 200 else 0)
    assert (newest["key"], newest["namespace"], newest["prompt"]) == ("pk_test_free_…", "paths", "a quiet harbour")


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ('{"prompt": "emoji cut \\ud83d", "user": "' + "x" * 5000 + '"}', False),
        ('{"prompt": "emoji cut \\ud83d"}', True),
    ],
    ids=["big-body", "namespace-with-a-rule"],
)
@pytest.mark.parametrize("forget", ["reset", "clear journal"])
def test_forgetting_one_namespace_keeps_every_other_namespaces_journal_whatever_its_entries_hold(
    each_state: httpx.Client, body: str, rule: bool, forget: str
) -> None:
    """An entry whose body holds a lone surrogate (legal JSON, echoed as such) must not stop the journal of one
    namespace from being cleared, nor take the other namespaces' entries with it."""
    if rule:
        each_state.post("/_sim/faults", json={"action": {"status": 503}, "match": {"path": "/nowhere"}, "namespace": "odd"})
    assert generate(each_state, "other").status_code == 200
    headers = {"Authorization": f"Bearer {FREE_KEY}", "X-Sim-Namespace": "odd"}
    assert each_state.post("/v1/images/generations", content=body, headers=headers).status_code == 200
    assert each_state.post("/_sim/requests/count", json={"match": {}}).json() == {"count": 2}
    for namespace in ("bystander", "odd"):
        if forget == "reset":
            response = each_state.post("/_sim/reset", params={"namespace": namespace})
        else:
            response = each_state.delete("/_sim/requests", params={"namespace": namespace})
        assert response.status_code == 200, response.text
    assert [entry["namespace"] for entry in each_state.get("/_sim/requests").json()["requests"]] == ["other"]
    assert each_state.get("/_sim/namespaces").json()["namespaces"] == ["default", "other"]


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("DELETE", "/_sim/faults", "namspace=jobA"),
        ("POST", "/_sim/reset", "ns=jobA"),
        ("GET", "/_sim/faults", "foo=1"),
        ("POST", "/_sim/faults", "foo=1"),
        ("DELETE", "/_sim/faults/fault_1", "namspace=jobA"),
        ("POST", "/_sim/requests/count", "x="),
        ("DELETE", "/_sim/requests", "namspace=jobA"),
        ("GET", "/_sim/clock", "foo=1"),
        ("POST", "/_sim/clock/advance", "foo=1"),
        ("GET", "/_sim/usage", "foo=1"),
        ("GET", f"/_sim/usage/{FREE_KEY}", "foo=1"),
        ("GET", "/_sim/namespaces", "foo=1"),
        ("GET", "/_sim/health", "foo=1"),
        ("GET", "/_sim/config", "foo=1"),
    ],
)
def test_a_control_call_given_a_query_parameter_it_does_not_take_is_a_400_naming_it_and_acts_on_nothing(
    client: httpx.Client, method: str, path: str, query: str
) -> None:
    """A typo (?namspace=jobA) ignored would make the call act on every namespace."""
    for namespace in ("jobA", "jobB"):
        client.post("/_sim/faults", json={"action": {"status": 503}, "namespace": namespace}).raise_for_status()
        generate(client, namespace)
    bodies = {"/_sim/clock/advance": {"seconds": 1}, "/_sim/faults": {"action": {"status": 500}}, "/_sim/requests/count": {"match": {}}}
    body = bodies.get(path) if method == "POST" else None
    response = client.request(method, f"{path}?{query}", json=body)
    assert response.status_code == 400 and response.json()["error"]["param"] == query.split("=")[0], response.text
    assert len(client.get("/_sim/faults").json()["faults"]) == 2
    assert client.post("/_sim/requests/count", json={"match": {}}).json() == {"count": 2}
    assert client.get("/_sim/clock", params={"namespace": "jobA"}).json() == client.get("/_sim/clock").json()


@pytest.mark.parametrize("path", ["/_sim/namespaces", "/_sim/health", "/_sim/config"])
def test_calls_the_same_in_every_namespace_still_take_one(client: httpx.Client, path: str) -> None:
    """The typed client, and a /_sim/ns/<name>/ base path, name the namespace on every call."""
    assert client.get(path, params={"namespace": "jobA"}).status_code == 200
    assert client.get(f"/_sim/ns/jobA{path}").status_code == 200


@pytest.mark.parametrize(
    "named",
    [{"params": {"namespace": "intruder"}}, {"headers": {"X-Sim-Namespace": "intruder"}}, {"base": "/_sim/ns/intruder"}],
    ids=["query", "header", "base path"],
)
def test_removing_a_rule_by_id_from_another_namespace_is_a_404_and_keeps_it(each_state: httpx.Client, named: dict[str, Any]) -> None:
    rule = each_state.post("/_sim/faults", json={"action": {"status": 503}, "namespace": "owner"}).json()
    call = {k: v for k, v in named.items() if k != "base"}
    refused = each_state.delete(f"{named.get('base', '')}/_sim/faults/{rule['id']}", **call)
    assert refused.status_code == 404 and refused.json()["error"]["type"] == "not_found"
    assert [listed["id"] for listed in each_state.get("/_sim/faults").json()["faults"]] == [rule["id"]]
    assert generate(each_state, "owner").status_code == 503
    assert each_state.delete(f"/_sim/faults/{rule['id']}", params={"namespace": "owner"}).json() == {"deleted": 1}


def test_a_rule_id_is_never_given_again_so_a_stale_one_removes_nothing_after_a_reset(each_state: httpx.Client) -> None:
    stale = each_state.post("/_sim/faults", json={"action": {"status": 503}}).json()["id"]
    each_state.post("/_sim/reset").raise_for_status()
    fresh = each_state.post("/_sim/faults", json={"action": {"status": 503}, "namespace": "someone"}).json()["id"]
    assert fresh != stale
    assert each_state.delete(f"/_sim/faults/{stale}").status_code == 404
    assert [listed["id"] for listed in each_state.get("/_sim/faults").json()["faults"]] == [fresh]


def test_a_cors_preflight_is_counted_and_listed_only_when_asked_for_by_method(each_state: httpx.Client) -> None:
    """As a rule without `method` never takes a preflight, a count or a listing without `method` never sees one."""
    preflight = {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST", "X-Sim-Namespace": "cors1"}
    assert each_state.options("/v1/images/generations", headers=preflight).status_code < 300
    assert generate(each_state, "cors1").status_code == 200
    count = {"match": {"face": "perf", "path": "/v1/images/generations"}, "namespace": "cors1"}
    assert each_state.post("/_sim/requests/count", json=count).json() == {"count": 1}
    assert each_state.post("/_sim/requests/count", json={"match": {"method": "options"}}).json() == {"count": 1}
    listed = each_state.get("/_sim/requests", params={"namespace": "cors1"}).json()["requests"]
    assert [entry["method"] for entry in listed] == ["POST"]
    asked = each_state.get("/_sim/requests", params={"namespace": "cors1", "method": "OPTIONS"}).json()["requests"]
    assert [entry["method"] for entry in asked] == ["OPTIONS"]


@pytest.mark.parametrize("query", ["status=200&status=503", "limit=1&limit=5", "face=perf&face=openai", "model=dall-e-2&model=dall-e-3"])
def test_a_journal_filter_given_twice_differently_is_a_400_naming_it(client: httpx.Client, query: str) -> None:
    """Read as its last value, `?status=200&status=503` would quietly list only the 503s."""
    generate(client)
    response = client.get(f"/_sim/requests?{query}")
    assert response.status_code == 400 and response.json()["error"]["param"] == query.partition("=")[0], response.text
    assert client.get(f"/_sim/requests?{query.partition('&')[0]}&{query.partition('&')[0]}").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "a fox", "k" * 250_000: 1},
        {"prompt": "a fox", **{f"f{i}": i for i in range(15_000)}},
        {"prompt": "a fox", "model": "m" * 200_000, "size": "s" * 50_000},
        {"prompt": "p" * 250_000},
    ],
    ids=["long field name", "many fields", "long model and size", "long prompt"],
)
def test_a_journal_entry_stays_small_whatever_the_body_holds(each_state: httpx.Client, body: dict[str, object]) -> None:
    """The journal bounds its memory by entries, so each entry must be small: a 250,000-character field name, or
    15,000 fields, were kept whole."""
    generate(each_state, "big", **body)
    [entry] = each_state.get("/_sim/requests", params={"namespace": "big"}).json()["requests"]
    assert len(json.dumps(entry)) < 16_000, len(json.dumps(entry))
    assert entry["prompt"].startswith(body["prompt"][:200])  # type: ignore[index]


def test_a_journal_id_names_one_request_for_the_whole_run_across_resets(each_state: httpx.Client) -> None:
    """A test that keeps an entry's id (to find it again, or in a snapshot) never finds another request under it."""
    assert generate(each_state).status_code == 200
    before = each_state.get("/_sim/requests", params={"limit": 1}).json()["requests"][0]["id"]
    each_state.post("/_sim/reset").raise_for_status()
    assert generate(each_state).status_code == 200
    after = each_state.get("/_sim/requests", params={"limit": 1}).json()["requests"][0]["id"]
    assert int(after.removeprefix("request_")) == int(before.removeprefix("request_")) + 1


@pytest.mark.parametrize(
    ("how", "name", "quoted"),
    [
        ("header", "ÄÖ".encode(), "'ÄÖ'"),
        ("header", "Ä".encode("latin-1"), "'Ä'"),
        ("header", b"a" * 300, "'" + "a" * 40 + "'… (300 characters)"),
        ("base path", "Ä日".encode(), "'Ä日'"),
        ("base path", b"a" * 300, "'" + "a" * 40 + "'… (300 characters)"),
        ("query", "ÄÖ".encode(), "'ÄÖ'"),
        ("query", b"a" * 300, "'" + "a" * 40 + "'… (300 characters)"),
        ("rule", "ÄÖ".encode(), "'ÄÖ'"),
        ("rule", b"a" * 300, "'" + "a" * 40 + "'… (300 characters)"),
    ],
)
def test_a_refused_namespace_is_quoted_as_its_client_wrote_it_wherever_it_was_named(
    client: httpx.Client, how: str, name: bytes, quoted: str
) -> None:
    """A UTF-8 header name read `'Ã\\x84Ã\\x96'` (its bytes as Latin-1), a base path's CJK name `'?'`; the header is
    read as X-Sim-Fault is (UTF-8, else Latin-1). The name stays refused: a namespace is ASCII."""
    if how == "header":
        response = client.post(
            "/v1/images/generations",
            json={"prompt": "a fox"},
            headers=[(b"Authorization", f"Bearer {FREE_KEY}".encode()), (b"X-Sim-Namespace", name)],
        )
    elif how == "base path":
        response = client.post(f"/_sim/ns/{quote(name)}/v1/images/generations", json={"prompt": "a fox"})
    elif how == "query":
        response = client.get("/_sim/requests", params={"namespace": name.decode()})
    else:
        response = client.post("/_sim/faults", json={"namespace": name.decode(), "action": {"drop": True}})
    error = response.json()["error"]
    assert response.status_code == 400 and error["message"].endswith(f"starting with a letter or digit, got {quoted}"), error


def test_an_entry_keeps_the_query_so_two_polls_of_different_tasks_are_told_apart(each_state: httpx.Client) -> None:
    """BFL's submit-then-poll flow is driven by its query: a test checks its app polled the task it was given."""
    headers = {"x-key": FREE_KEY, "X-Sim-Namespace": "polls"}
    task = each_state.post("/bfl/v1/flux-pro", json={"prompt": "a kite"}, headers=headers).json()["id"]
    each_state.get("/bfl/v1/get_result", params={"id": task}, headers=headers)
    each_state.get("/bfl/v1/get_result?id=nonexistent&trace=1", headers=headers)
    unknown, known, submit = each_state.get("/_sim/requests", params={"namespace": "polls"}).json()["requests"]
    assert (unknown["query"], known["query"], submit["query"]) == ("id=nonexistent&trace=1", f"id={task}", None)
    assert unknown["path"] == known["path"] == "/bfl/v1/get_result"


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("key=pk_test_pro_google_secret", "key=pk_test_pro_…"),
        ("alt=json&key=AIzaSyA1b2c3d4e5f6g7h8i9", "alt=json&key=AIzaSyA1b2c3…"),
        ("%6Bey=AIzaSyA1b2c3d4e5f6g7h8i9&key=second_secret_key", "%6Bey=AIzaSyA1b2c3…&key=second_secr…"),
    ],
)
def test_a_google_key_in_the_query_is_masked_in_the_entrys_query_as_its_key_is(each_state: httpx.Client, query: str, shown: str) -> None:
    """The journal never shows a full key: not in `key`, and not in the query the key came in."""
    body = {"instances": [{"prompt": "a kite"}]}
    path = "/google/v1beta/models/imagen-3.0-generate-002:predict"
    each_state.post(f"{path}?{query}", json=body, headers={"X-Sim-Namespace": "gkey"})
    (entry,) = each_state.get("/_sim/requests", params={"namespace": "gkey"}).json()["requests"]
    assert entry["query"] == shown
    assert entry["key"] is not None and entry["key"].removesuffix("…") in entry["query"]


@pytest.mark.parametrize("path", ["/v1beta/models/imagen-3.0-generate-002:predict", "/nope/thing", "/v1/images/generations"])
def test_a_google_key_sent_where_no_google_face_reads_it_is_masked_too(each_state: httpx.Client, path: str) -> None:
    """A client whose base URL lacks /google sends its key to another face's path: the journal read to find out why
    must not show the key."""
    each_state.post(f"{path}?key=AIzaSyA1b2c3d4e5f6g7h8i9", json={"prompt": "a kite"}, headers={"X-Sim-Namespace": "lost"})
    (entry,) = each_state.get("/_sim/requests", params={"namespace": "lost"}).json()["requests"]
    assert entry["query"] == "key=AIzaSyA1b2c3…"


def strict_loads(text: str) -> Any:
    """JSON as a strict parser (a browser's JSON.parse, which the dashboard uses; Go's; jq) reads it."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("rule", [False, True], ids=["no-rule", "with-a-rule"])
def test_a_listing_holding_1e400_beside_a_lone_surrogate_is_strict_json(each_state: httpx.Client, rule: bool) -> None:
    """One entry with a lone surrogate (orjson refuses it) sent the whole listing down the json module, which wrote the
    other entry's 1e400 as `Infinity`: every strict reader refused the listing, and the dashboard showed nothing. The
    number shows as null, as orjson writes it, however the listing is written. A rule on the prompt has each body read
    as its request enters, so the entry keeps it parsed (packed in process, encoded in a shared journal)."""
    if rule:
        rule_body = {"action": {"status": 503}, "match": {"prompt": "^never"}, "namespace": "odd"}
        each_state.post("/_sim/faults", json=rule_body).raise_for_status()
    headers = {"Authorization": f"Bearer {FREE_KEY}", "X-Sim-Namespace": "odd", "Content-Type": "application/json"}
    sent = ['{"prompt": "a", "n": 1e400}', '{"prompt": "a", "user": "\\ud800"}', '{"prompt": "a \\ud800", "n": -1e400}']
    assert [each_state.post("/v1/images/generations", content=body, headers=headers).status_code for body in sent] == [400, 200, 400]
    for params in ({"namespace": "odd"}, {"limit": "50"}, {"limit": "50", "namespace": "odd"}):  # the dashboard's poll too
        listing = strict_loads(each_state.get("/_sim/requests", params=params).text)
        bodies = [entry["body"] for entry in listing["requests"]]
        assert bodies == [{"prompt": "a \ud800", "n": None}, {"prompt": "a", "user": "\ud800"}, {"prompt": "a", "n": None}]
    newest = listing["requests"][0]["id"]
    assert strict_loads(each_state.get(f"/_sim/requests/{newest}").text)["body"] == {"prompt": "a \ud800", "n": None}
