"""`/_sim/ui` and `/_sim/openapi.json` read their namespace and query as every control call does: a namespace named
by `?namespace=` opens the page on it, as its base path does (the X-Sim-Namespace header alone serves the page: a
redirect would loop); a name the control API refuses, or a query parameter the call does not take, is the Perf
envelope's 400 naming it."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/_sim/ui?namespace=job-a", {}),
        ("/_sim/ns/job-a/_sim/ui", {}),
        ("/_sim/ns/job-a/_sim/ui?namespace=job-a", {"X-Sim-Namespace": "job-a"}),
    ],
    ids=["query", "base path", "all three alike"],
)
def test_the_dashboard_opened_in_a_namespace_by_query_or_base_path_redirects_to_that_namespaces_page(
    client: httpx.Client, url: str, headers: dict[str, str]
) -> None:
    """Served as the default namespace's page, `/_sim/ui?namespace=job-a` showed another namespace than the one asked
    for, without a word, where `/_sim/ns/job-a/_sim/ui` redirected to it."""
    answer = client.get(url, headers=headers)
    assert (answer.status_code, answer.headers["location"]) == (303, "/_sim/ui#ns=job-a")


def test_a_client_sending_the_namespace_header_on_every_request_gets_the_page_not_a_redirect_loop(client: httpx.Client) -> None:
    """A header-adding browser extension or proxy sends X-Sim-Namespace with the redirect's target too, whose
    namespace is only in its fragment: a redirect for the header alone answered the same 303 for ever."""
    answer = client.get("/_sim/ui?namespace=job-a", headers={"X-Sim-Namespace": "job-a"}, follow_redirects=True)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert [step.status_code for step in answer.history] == [303]


def test_the_page_served_for_the_namespace_header_alone_opens_on_that_namespace(client: httpx.Client) -> None:
    """Its calls name the selected namespace by `?namespace=`: opened on `default` while the header names job-a, every
    call named two namespaces, a 400. The page writes `#ns=job-a` into its URL before its script reads it."""
    answer = client.get("/_sim/ui", headers={"X-Sim-Namespace": "job-a"})
    assert answer.status_code == 200
    assert """<head><script>if(!location.hash)history.replaceState(null,'',"#ns=job-a")</script>""" in answer.text
    assert "replaceState(null,''," not in client.get("/_sim/ui").text


def test_the_dashboard_without_a_namespace_is_the_page(client: httpx.Client) -> None:
    answer = client.get("/_sim/ui")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("url", "headers", "param"),
    [
        ("/_sim/ui?namespace=no%20such", {}, "namespace"),
        ("/_sim/ui?namespace=", {}, "namespace"),
        ("/_sim/ui?namespace=job-a", {"X-Sim-Namespace": "job-b"}, "namespace"),
        ("/_sim/ui?namspace=job-a", {}, "namspace"),
        ("/_sim/openapi.json?namespace=", {}, "namespace"),
        ("/_sim/openapi.json?namespace=no%20such", {}, "namespace"),
        ("/_sim/openapi.json?foo=1", {}, "foo"),
    ],
    ids=["bad name", "empty name", "two names", "ui typo", "openapi empty name", "openapi bad name", "openapi unknown parameter"],
)
def test_the_dashboard_and_the_control_document_refuse_a_namespace_or_parameter_as_control_calls_do(
    client: httpx.Client, url: str, headers: dict[str, str], param: str
) -> None:
    answer = client.get(url, headers=headers)
    assert answer.status_code == 400, answer.text
    assert (answer.json()["error"]["type"], answer.json()["error"]["param"]) == ("invalid_request", param)


def test_the_control_document_takes_a_namespace_as_every_control_call_does(client: httpx.Client) -> None:
    """The typed client names its namespace on every call, `openapi()` too; the document is the same in each."""
    assert client.get("/_sim/openapi.json", params={"namespace": "job-a"}).json() == client.get("/_sim/openapi.json").json()
    assert client.get("/_sim/ns/job-a/_sim/openapi.json").status_code == 200
