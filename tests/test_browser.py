"""A real browser: a page on another origin calls the simulator with fetch() (CORS), as a web app would."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from simulator.launcher import RunningServer, free_port, running

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium on this machine (apt-get install chromium)")

PAGE = """<!doctype html><html><body><pre id="out">pending</pre><script>
fetch('{base}/v1/images/generations', {{method: 'POST',
  headers: {{'Authorization': 'Bearer pk_live_abc123', 'Content-Type': 'application/json'}},
  body: JSON.stringify({{prompt: 'a red fox', model: 'flux-dev', size: '512x256'}})}})
  .then(r => r.json().then(d => fetch(d.data[0].url).then(img => img.blob()).then(b =>
    document.getElementById('out').textContent = 'OK ' + r.status + ' ' + d.perf.model_used + ' ' + b.type + ' ' + b.size)))
  .catch(e => document.getElementById('out').textContent = 'ERR ' + e);
</script></body></html>"""


@pytest.fixture
def other_origin(sim: RunningServer, tmp_path: Path) -> Iterator[str]:
    (tmp_path / "index.html").write_text(PAGE.format(base=sim.base_url))
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    with running(command, port, health_path="/index.html") as page_server:
        yield page_server.base_url + "/index.html"


def test_a_page_on_another_origin_generates_and_loads_an_image(other_origin: str, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000", "--dump-dom", other_origin,
    ]  # fmt: skip
    dom = subprocess.run(command, capture_output=True, text=True, timeout=90).stdout
    assert '<pre id="out">OK 200 flux-dev image/png ' in dom, dom[-500:]


def test_a_browser_showing_the_home_page_adds_nothing_to_the_journal(sim: RunningServer, tmp_path: Path) -> None:
    """Chromium asks for /favicon.ico beside the page: that is not a request of the app under test."""
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=3000", "--dump-dom", sim.base_url + "/",
    ]  # fmt: skip
    dom = subprocess.run(command, capture_output=True, text=True, timeout=90).stdout
    assert "perf-image-sim" in dom, dom[-500:]
    assert httpx.get(sim.base_url + "/_sim/requests").json()["requests"] == []
