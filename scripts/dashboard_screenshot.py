"""Take docs/dashboard.png, the README's picture of the dashboard, and measure the page's weight.

Run from the repository root: `.venv/bin/python -m scripts.dashboard_screenshot`. It starts a simulator on a free
port of 127.0.0.1 with a manual clock, sends it a little of everything (several models on the Perf API, the OpenAI
face through the official SDK, a free key past its minute limit, a fault rule and the request it failed), opens the
dashboard in headless Chromium, selects a request and saves the page as an indexed-colour PNG. It prints what loading
the page and one poll cost, in requests and bytes.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

import httpx
import openai
from PIL import Image
from playwright.sync_api import Page, Request

from simulator.launcher import PROJECT_ROOT, running_simulator
from simulator.observe.dashboard import PATH, POLL_MS
from spec import tiers
from tests.observe.browser import chromium_page

DEFAULT_OUT = PROJECT_ROOT / "docs" / "dashboard.png"
PROMPTS = {
    "dall-e-3": "a lighthouse on a cliff at dusk",
    "flux-pro": "a red fox in fresh snow",
    "imagen-3": "a bowl of ramen, studio light",
    "ideogram-2": "a poster for a jazz night",
    "stable-diffusion-3": "a watercolour of a harbour town",
}
PALETTE_COLOURS = 64


def send_traffic(base_url: str) -> None:
    pro = {"Authorization": f"Bearer {tiers.DOCUMENT_EXAMPLE_KEY}"}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for model, prompt in PROMPTS.items():
            client.post("/v1/images/generations", headers=pro, json={"model": model, "prompt": prompt}).raise_for_status()
        free = {"Authorization": f"Bearer {tiers.TEST_KEY_PREFIX}free_screenshot01"}
        for _ in range(3):
            client.post("/v1/images/generations", headers=free, json={"model": "dall-e-2", "prompt": "a paper boat", "n": 2})
        client.post("/openai/v1/images/generations", headers=pro, json={"model": "dall-e-2", "prompt": "a green teapot"})
        rule = {"match": {"face": "openai"}, "action": {"status": 503, "retry_after": 2}, "times": 3}
        client.post("/_sim/faults", json=rule).raise_for_status()
    sdk = openai.OpenAI(api_key=tiers.DOCUMENT_EXAMPLE_KEY, base_url=f"{base_url}/openai/v1", max_retries=0)
    with contextlib.suppress(openai.InternalServerError):  # the rule's first fault, for the picture
        sdk.images.generate(model="dall-e-2", prompt="a teapot", size="256x256")


def weigh(page: Page, url: str) -> str:
    """What loading the page costs, then what one poll costs (requests and response bytes)."""
    loaded: list[Request] = []
    page.on("requestfinished", lambda request: loaded.append(request))
    page.goto(url)
    page.wait_for_selector("#requests tbody tr")
    page_bytes = sum(r.sizes()["responseBodySize"] for r in loaded if r.resource_type == "document")
    seen = len(loaded)
    page.wait_for_timeout(POLL_MS * 3)
    polls = [r for r in loaded[seen:] if "/_sim/" in r.url]
    per_poll = len(polls) / 3
    poll_bytes = sum(r.sizes()["responseBodySize"] for r in polls) / 3
    images = [r for r in loaded if r.resource_type == "image"]
    image_bytes = sum(r.sizes()["responseBodySize"] for r in images)
    return (
        f"page: {page_bytes} bytes in 1 request (HTML with inline CSS and JS); gallery: {len(images)} images, {image_bytes} bytes; "
        f"each poll: {per_poll:.0f} requests, {poll_bytes:.0f} bytes of JSON"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    with running_simulator("--clock", "manual", "--seed", "7") as simulator:
        send_traffic(simulator.base_url)
        with chromium_page() as page:
            print(weigh(page, simulator.base_url + PATH))
            page.locator("#requests tbody tr", has_text="429").first.click()
            page.wait_for_function("[...document.images].every(img => img.complete)")
            page.screenshot(path=str(args.out), full_page=True)
    Image.open(args.out).convert("RGB").quantize(PALETTE_COLOURS).save(args.out, optimize=True)
    print(f"{args.out}: {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
