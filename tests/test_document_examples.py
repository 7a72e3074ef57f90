"""The document's own examples (cURL, Python requests, JavaScript fetch), verbatim but for the host, and the
official openai SDK, against a real simulator process."""

from __future__ import annotations

import base64
import io
import json
import shutil
import statistics
import subprocess
from decimal import Decimal

import httpx
import pytest
from openai import OpenAI
from PIL import Image

from simulator.engine.latency import modelled_latency_ms
from simulator.engine.validate import validate_perf_request
from simulator.launcher import RunningServer
from spec.models import MODELS, parse_size


def test_document_curl_example(sim: RunningServer) -> None:
    command = f"""curl -s -X POST {sim.base_url}/v1/images/generations \\
  -H "Authorization: Bearer pk_live_abc123" \\
  -H "Content-Type: application/json" \\
  -d '{{
    "prompt": "A serene Japanese garden with cherry blossoms at sunset, photorealistic",
    "model": "dall-e-3",
    "size": "1024x1024",
    "quality": "hd",
    "style": "vivid"
  }}'"""
    out = subprocess.run(["bash", "-c", command + " -w '\\n%{http_code}'"], capture_output=True, text=True, check=True).stdout
    body, status = out.rsplit("\n", 1)
    assert status == "200", body
    perf = json.loads(body)["perf"]
    assert perf["model_used"] == "dall-e-3" and perf["quality"] == "hd" and perf["cost_usd"] == 0.08


def test_the_documents_example_request_takes_about_the_documents_5234_ms() -> None:
    """The document's one latency figure is its example's, an hd 1024x1024 dall-e-3 request: the model's seeded spread
    (+/-15%) must hold it, and be centred on it."""
    figures = [
        modelled_latency_ms(seed, validate_perf_request({"prompt": f"a garden {seed}", "quality": "hd", "style": "vivid"}))
        for seed in range(200)
    ]
    assert all(5234 * 0.85 <= figure <= 5234 * 1.15 for figure in figures)
    assert abs(statistics.mean(figures) - 5234) < 5234 * 0.03


def test_document_python_requests_example(sim: RunningServer) -> None:
    import requests

    response = requests.post(
        f"{sim.base_url}/v1/images/generations",
        headers={"Authorization": "Bearer pk_live_abc123", "Content-Type": "application/json"},
        json={
            "prompt": "A serene Japanese garden with cherry blossoms at sunset, photorealistic",
            "model": "dall-e-3",
            "size": "1024x1024",
            "quality": "hd",
        },
    )

    data = response.json()
    url = data["data"][0]["url"]
    image = Image.open(io.BytesIO(requests.get(url).content))
    assert image.format == "PNG" and image.size == (1024, 1024)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_document_javascript_example(sim: RunningServer) -> None:
    script = f"""
const response = await fetch('{sim.base_url}/v1/images/generations', {{
  method: 'POST',
  headers: {{
    'Authorization': 'Bearer pk_live_abc123',
    'Content-Type': 'application/json'
  }},
  body: JSON.stringify({{
    prompt: 'A serene Japanese garden with cherry blossoms at sunset, photorealistic',
    model: 'dall-e-3',
    size: '1024x1024',
    quality: 'hd'
  }})
}});

const data = await response.json();
console.log(data.data[0].url);
"""
    out = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    url = out.stdout.strip()
    assert url.startswith(sim.base_url + "/images/") and httpx.get(url).headers["content-type"] == "image/png"


def _openai(sim: RunningServer, key: str = "pk_test_enterprise_sdk") -> OpenAI:
    return OpenAI(api_key=key, base_url=sim.base_url + "/v1", max_retries=0)


# The document's Pricing column at standard quality, as it prints it: (lowest, highest) dollars per image.
DOCUMENT_PRICE_PER_IMAGE = {
    "dall-e-3": ("0.040", "0.040"),
    "dall-e-2": ("0.016", "0.020"),
    "stable-diffusion-3": ("0.035", "0.035"),
    "flux-pro": ("0.055", "0.055"),
    "flux-dev": ("0.025", "0.025"),
    "ideogram-2": ("0.040", "0.040"),
    "imagen-3": ("0.040", "0.040"),
}


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("response_format", ["url", "b64_json"])
def test_openai_sdk_generates_every_model(sim: RunningServer, model: str, response_format: str) -> None:
    spec = MODELS[model]
    size = spec.sizes[-1]
    n = min(2, spec.max_n)
    result = _openai(sim).images.generate(  # type: ignore[call-overload]
        model=model,
        prompt="a lighthouse on a cliff",
        size=size,
        n=n,
        response_format=response_format,
    )
    assert len(result.data) == n
    for item in result.data:
        if response_format == "url":
            assert item.url is not None
            png = httpx.get(item.url).content
        else:
            assert item.b64_json is not None
            png = base64.b64decode(item.b64_json)
        assert Image.open(io.BytesIO(png)).size == parse_size(size)
        assert item.revised_prompt
    perf = result.model_extra["perf"] if result.model_extra else {}
    assert perf["model_used"] == model and perf["size"] == size
    low, high = DOCUMENT_PRICE_PER_IMAGE[model]
    assert Decimal(low) * n <= Decimal(str(perf["cost_usd"])) <= Decimal(high) * n


@pytest.mark.parametrize(
    "prompt",
    ["a red fox " * 400, "x" * 3990, "ß" + "x" * 3999, "a red fox " * 395 + "ok"],
    ids=["4000 chars", "3990 chars", "capital lengthens", "room for one clause"],
)
def test_dall_e_3s_revised_prompt_can_be_sent_back_as_the_prompt(client: httpx.Client, prompt: str) -> None:
    """The document calls revised_prompt "the actual prompt used": sending it back must be accepted."""
    key = {"Authorization": "Bearer pk_test_enterprise_revised"}
    body = {"model": "dall-e-3", "prompt": prompt}
    revised = client.post("/v1/images/generations", json=body, headers=key).json()["data"][0]["revised_prompt"]
    assert len(revised) <= MODELS["dall-e-3"].max_prompt_chars
    again = client.post("/v1/images/generations", json={**body, "prompt": revised}, headers=key)
    assert again.status_code == 200, again.text
