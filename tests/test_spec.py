"""The spec's own promises: a valid OpenAPI document, served as generated, and README tables that match it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate

from spec import errors, tables, tiers
from spec.models import MODELS
from spec.openapi import openapi_document

README = Path(__file__).resolve().parents[1] / "README.md"


def test_openapi_document_is_valid_openapi_3_1() -> None:
    document = openapi_document()
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_simulator_serves_the_generated_document(client: httpx.Client) -> None:
    assert client.get("/openapi.json").json() == openapi_document()


def test_every_answer_sent_with_the_rate_limit_headers_declares_them_in_the_document(client: httpx.Client) -> None:
    """A 413 with a valid key carries the six headers, which /openapi.json declared only on 200, 400 and 429: a client
    validating answers against the document met headers it does not declare (or generated code that drops them)."""
    auth = {"Authorization": "Bearer pk_test_free_declared"}
    url = "/v1/images/generations"
    answers = [
        client.post(url, headers=auth, json={"prompt": "a kite"}),
        client.post(url, headers=auth, json={"prompt": ""}),
        client.post(url, headers=auth, content=b"{" + b" " * errors.MAX_BODY_BYTES + b"}"),
        *(client.post(url, headers=auth, json={"prompt": "a kite"}) for _ in range(tiers.TIERS["free"].images_per_minute)),
    ]
    responses = openapi_document()["paths"][url]["post"]["responses"]
    sent = {answer.status_code for answer in answers if tiers.HEADER_LIMIT_MINUTE in answer.headers}
    assert sent == {200, 400, 413, 429}
    for status in sent:
        assert set(tiers.RATE_LIMIT_HEADERS) <= set(responses[str(status)]["headers"]), status


def test_control_api_is_not_in_the_perf_document() -> None:
    assert not [path for path in openapi_document()["paths"] if path.startswith("/_sim")]


def test_readme_tables_are_generated_from_the_spec() -> None:
    assert tables.current_block(README.read_text()) == tables.block(), "run: python -m spec.tables --write README.md"


@pytest.mark.parametrize(
    ("argv", "said"), [(["--wirte", "README.md"], "unrecognized arguments: --wirte"), (["--write"], "expected one argument")]
)
def test_the_tables_tool_refuses_a_mistyped_option_or_write_without_its_file(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """It printed the tables and exited 0, and the README was not rewritten without a word."""
    with pytest.raises(SystemExit) as exited:
        tables.main(argv)
    assert exited.value.code == 2 and said in capsys.readouterr().err


def test_model_table_matches_the_document() -> None:
    """The document's table, restated: a change to spec/models.py that departs from it must be deliberate."""
    expected = {
        "dall-e-3": ("OpenAI", 1, "0.040"),
        "dall-e-2": ("OpenAI", 10, "0.020"),
        "stable-diffusion-3": ("Stability AI", 4, "0.035"),
        "flux-pro": ("Black Forest Labs", 4, "0.055"),
        "flux-dev": ("Black Forest Labs", 4, "0.025"),
        "ideogram-2": ("Ideogram", 4, "0.040"),
        "imagen-3": ("Google", 4, "0.040"),
    }
    actual = {name: (m.provider_name, m.max_n, str(m.price_per_image("1024x1024", "standard"))) for name, m in MODELS.items()}
    assert actual == expected
    assert str(MODELS["dall-e-3"].price_per_image("1024x1024", "hd")) == "0.080"
    assert [str(MODELS["dall-e-2"].price_per_image(s, "standard")) for s in MODELS["dall-e-2"].sizes] == ["0.016", "0.018", "0.020"]


@pytest.mark.parametrize(
    ("model", "size", "quality", "n", "cost"),
    [
        ("dall-e-3", "1024x1024", "standard", 1, 0.04),
        ("dall-e-3", "1792x1024", "hd", 1, 0.08),
        ("dall-e-2", "256x256", "standard", 10, 0.16),
        ("dall-e-2", "512x512", "standard", 3, 0.054),
        ("dall-e-2", "1024x1024", "standard", 7, 0.14),
        ("stable-diffusion-3", "1024x1024", "standard", 3, 0.105),
        ("flux-pro", "1440x256", "standard", 4, 0.22),
        ("flux-dev", "1024x1024", "standard", 3, 0.075),
        ("ideogram-2", "1024x1024", "standard", 2, 0.08),
        ("imagen-3", "1024x1024", "standard", 4, 0.16),
    ],
)
def test_a_request_costs_the_documents_price_per_image_times_n(model: str, size: str, quality: str, n: int, cost: float) -> None:
    """What perf.cost_usd reports, worked out by hand from the document's prices (dall-e-2's range resolved per size)."""
    assert MODELS[model].cost_usd(size, quality, n) == cost


def test_landing_page_offers_every_model_and_allows_browsers(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.headers["content-type"].startswith("text/html")
    assert all(f"<option>{name}</option>" in page.text for name in MODELS)
    preflight = client.options(
        "/v1/images/generations",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] in ("*", "http://localhost:3000")
