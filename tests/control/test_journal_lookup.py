"""One journal entry by its id, and a listing or count since a moment (WireMock's `GET /__admin/requests/{id}` and
`?since=`), alike on the memory and Redis journals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from simulator.launcher import running_simulator
from tests.conftest import reset_client, state_for

KEY = "pk_test_pro_lookup"
# A database of its own on the session's Redis, apart from the modules that flush theirs.
SMALL_JOURNAL_DB = 11


def generate(client: httpx.Client, namespace: str | None = None, prompt: str = "a lighthouse") -> dict[str, Any]:
    """Send one request and return its journal entry (the newest of its namespace)."""
    headers = {"Authorization": f"Bearer {KEY}", **({"X-Sim-Namespace": namespace} if namespace else {})}
    client.post("/v1/images/generations", json={"prompt": prompt}, headers=headers).raise_for_status()
    params: dict[str, str | int] = {"limit": 1, **({"namespace": namespace} if namespace else {})}
    (entry,) = client.get("/_sim/requests", params=params).json()["requests"]
    return dict(entry)


def listed_ids(client: httpx.Client, **params: Any) -> list[str]:
    response = client.get("/_sim/requests", params=params)
    assert response.status_code == 200, response.text
    return [entry["id"] for entry in response.json()["requests"]]


def test_an_entry_is_fetched_by_its_id_as_the_listing_shows_it(each_state: httpx.Client) -> None:
    first = generate(each_state, "lookup", prompt="the first")
    generate(each_state, "lookup", prompt="the second")
    response = each_state.get(f"/_sim/requests/{first['id']}")
    assert response.status_code == 200, response.text
    assert response.json() == first


def test_an_entry_is_fetched_in_its_namespace_by_query_header_or_base_path(each_state: httpx.Client) -> None:
    entry = generate(each_state, "mine")
    path = f"/_sim/requests/{entry['id']}"
    by_query = each_state.get(path, params={"namespace": "mine"})
    by_header = each_state.get(path, headers={"X-Sim-Namespace": "mine"})
    by_base_path = each_state.get(f"/_sim/ns/mine{path}")
    assert [r.status_code for r in (by_query, by_header, by_base_path)] == [200, 200, 200]
    assert by_query.json() == by_header.json() == by_base_path.json() == entry


def test_another_namespaces_entry_is_a_404_naming_id(each_state: httpx.Client) -> None:
    entry = generate(each_state, "theirs")
    response = each_state.get(f"/_sim/requests/{entry['id']}", params={"namespace": "mine"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("not_found", "id")
    assert f"no request {entry['id']!r} in the journal in namespace 'mine'" in error["message"]


@pytest.mark.parametrize("entry_id", ["request_999999", "request_0", "request_01", "42", "nonsense", "request_1x"])
def test_an_id_no_entry_has_is_a_404_naming_id(each_state: httpx.Client, entry_id: str) -> None:
    generate(each_state)
    response = each_state.get(f"/_sim/requests/{entry_id}")
    assert response.status_code == 404
    assert response.json()["error"]["param"] == "id"


def test_a_deleted_entry_is_a_404(each_state: httpx.Client) -> None:
    entry = generate(each_state, "gone")
    assert each_state.get(f"/_sim/requests/{entry['id']}").status_code == 200
    each_state.delete("/_sim/requests", params={"namespace": "gone"}).raise_for_status()
    response = each_state.get(f"/_sim/requests/{entry['id']}")
    assert (response.status_code, response.json()["error"]["param"]) == (404, "id")


def test_a_get_of_the_count_path_still_names_post(each_state: httpx.Client) -> None:
    response = each_state.get("/_sim/requests/count")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_an_entry_takes_only_get(each_state: httpx.Client) -> None:
    entry = generate(each_state)
    response = each_state.delete(f"/_sim/requests/{entry['id']}")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


@pytest.fixture(scope="module", params=["memory", "redis"])
def small_journal(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    """A simulator whose journal keeps 3 entries, on each state."""
    state = state_for(request, request.param == "redis", SMALL_JOURNAL_DB)
    with (
        running_simulator("--clock", "manual", "--state", state, "--journal-size", "3", "--quiet") as server,
        reset_client(server) as client,
    ):
        yield client


def test_an_entry_dropped_past_the_journal_size_is_a_404(small_journal: httpx.Client) -> None:
    entries = [generate(small_journal, "small", prompt=f"number {n}") for n in range(5)]
    statuses = [small_journal.get(f"/_sim/requests/{entry['id']}").status_code for entry in entries]
    assert statuses == [404, 404, 200, 200, 200]


def test_since_lists_and_counts_the_entries_at_or_after_it(each_state: httpx.Client) -> None:
    before = generate(each_state, "since")
    each_state.post("/_sim/clock/advance", params={"namespace": "since"}, json={"seconds": 60}).raise_for_status()
    at = generate(each_state, "since")
    after = generate(each_state, "since")
    for since in (at["time"], at["iso"], at["iso"].replace("+00:00", "Z")):
        assert listed_ids(each_state, namespace="since", since=since) == [after["id"], at["id"]], since
        count = each_state.post("/_sim/requests/count", json={"match": {"since": since}, "namespace": "since"})
        assert count.json() == {"count": 2}, (since, count.text)
    assert listed_ids(each_state, namespace="since", since=before["time"]) == [after["id"], at["id"], before["id"]]
    assert listed_ids(each_state, namespace="since", since=at["time"] + 1) == []


def test_since_takes_any_offset_as_the_same_moment(each_state: httpx.Client) -> None:
    entry = generate(each_state, "offset")
    at = datetime.fromisoformat(entry["iso"]).astimezone(timezone(timedelta(hours=-5)))
    assert listed_ids(each_state, namespace="offset", since=at.isoformat()) == [entry["id"]]
    assert listed_ids(each_state, namespace="offset", since=(at + timedelta(microseconds=1)).isoformat()) == []


def test_an_entrys_iso_pasted_into_a_url_unencoded_is_read_as_written(each_state: httpx.Client) -> None:
    """A query reads `+` as a space, so `?since=...+00:00` from curl arrives as `... 00:00`."""
    entry = generate(each_state, "pasted")
    url = f"/_sim/requests?namespace=pasted&since={entry['iso']}"
    assert "+00:00" in url and [found["id"] for found in each_state.get(url).json()["requests"]] == [entry["id"]]


@pytest.mark.parametrize(
    ("since", "why"),
    [
        ("yesterday", "must be Unix seconds or an ISO 8601 time"),
        ("2026-01-01T00:00:00", "has no offset"),
        ("nan", "must be Unix seconds"),
        ("1e400", "past the years"),
        ("", "must be Unix seconds"),
    ],
)
def test_a_bad_since_is_a_400_naming_since_and_quoting_it(each_state: httpx.Client, since: str, why: str) -> None:
    response = each_state.get("/_sim/requests", params={"since": since})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "since"
    assert why in error["message"] and repr(since) in error["message"]


@pytest.mark.parametrize(("since", "why"), [("1767225600", "must be Unix seconds"), (True, "must be Unix seconds"), (None, "got null")])
def test_a_bad_match_since_is_a_400_naming_it(each_state: httpx.Client, since: object, why: str) -> None:
    response = each_state.post("/_sim/requests/count", json={"match": {"since": since}})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "match.since" and why in error["message"]


def test_a_fault_rule_takes_no_since(each_state: httpx.Client) -> None:
    response = each_state.post("/_sim/faults", json={"match": {"since": 0}, "action": {"status": 503}})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "match.since"
