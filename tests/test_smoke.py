"""The document's own cURL example, verbatim but for the host."""

from __future__ import annotations

import subprocess

from simulator.launcher import RunningServer


def test_document_curl_example_succeeds(sim: RunningServer) -> None:
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
    assert '"model_used":"dall-e-3"' in body and '"cost_usd":0.08' in body
