"""Traffic an application might send, driven through the validation proxy: every kind of answer the API gives."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx

from spec import errors, policy
from spec.models import MODELS

GENERATIONS = "/v1/images/generations"
KEY = "pk_test_enterprise_proxy"
FREE_KEY = "pk_test_free_contract"
PROMPT = "A kingfisher on a mossy branch"


def requests() -> list[tuple[str, str, dict[str, str], bytes]]:
    """(method, path, headers, body) of one pass of traffic."""
    auth = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    bodies: list[dict[str, object]] = [
        {"prompt": PROMPT},
        {"prompt": PROMPT, "model": "dall-e-3", "quality": "hd", "style": "vivid"},
        {"prompt": PROMPT, "model": "dall-e-2", "size": "512x512", "n": 3},
        {"prompt": PROMPT, "model": "flux-dev", "size": "1440x768", "n": 2, "response_format": "b64_json"},
        {"prompt": PROMPT, "model": "dall-e-3", "n": 2},
        {"prompt": PROMPT, "model": "flux-pro", "style": "vivid"},
        {"prompt": PROMPT, "model": "flux-dev", "quality": "hd"},
        {"prompt": "x" * (MODELS["dall-e-2"].max_prompt_chars + 1), "model": "dall-e-2"},
        {"prompt": PROMPT, "seed": 7},
        {"prompt": "Un martin-pêcheur à Ōsaka, 東京 🦊"},
        {"prompt": f"{PROMPT} {policy.TRIGGER_PHRASE}"},
    ]
    bodies += [
        {"prompt": PROMPT, "model": name, "size": next(s for s in spec.sizes if s != "1024x1024") if len(spec.sizes) > 1 else spec.sizes[0]}
        for name, spec in MODELS.items()
    ]
    traffic = [("POST", GENERATIONS, auth, json.dumps(body).encode()) for body in bodies]
    traffic += [
        ("POST", GENERATIONS, {"Content-Type": "application/json"}, json.dumps({"prompt": PROMPT}).encode()),
        ("POST", GENERATIONS, auth, b'{"prompt": "a cat"'),
        ("POST", GENERATIONS, auth, b'{"prompt": "' + b"a" * (errors.MAX_BODY_BYTES + 1) + b'"}'),
        ("GET", GENERATIONS, auth, b""),
        ("POST", "/v1/images/generate", auth, json.dumps({"prompt": PROMPT}).encode()),
    ]
    free = {"Authorization": f"Bearer {FREE_KEY}", "Content-Type": "application/json"}
    cheap = json.dumps({"prompt": PROMPT, "model": "dall-e-2", "size": "256x256"}).encode()
    traffic += [("POST", GENERATIONS, free, cheap)] * 8
    return traffic


def drive(base_url: str) -> list[int]:
    """Send one pass of traffic to `base_url` (the proxy), then fetch an image URL never issued, through it too."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        statuses = [
            client.request(method, path, headers=headers, content=body or None).status_code for method, path, headers, body in requests()
        ]
        answer = client.post(
            GENERATIONS, headers={"Authorization": f"Bearer {KEY}"}, json={"prompt": PROMPT, "model": "dall-e-2", "size": "256x256"}
        )
        issued = urlsplit(answer.json()["data"][0]["url"]).path
        statuses.append(client.get(issued.rsplit("/", 1)[0] + "/img_neverissued0000000000000.png").status_code)
    return statuses
