"""A real browser: a page on another origin calls the simulator with fetch() (CORS), as a web app would."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from simulator.launcher import RunningServer, free_port, running
from tests.observe.browser import browser_missing, chromium_page

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


needs_playwright = pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing()))

FAILURES = """async (sim) => {
  const generate = (init) => fetch(sim + '/v1/images/generations', {method: 'POST',
    headers: {'Authorization': 'Bearer pk_test_pro_browser', 'Content-Type': 'application/json'},
    body: JSON.stringify({prompt: 'a fox', model: 'dall-e-3'}), ...init});
  const rule = (action) => fetch(sim + '/_sim/faults', {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({match: {model: 'dall-e-3'}, action, times: 1})}).then(r => r.status);
  const out = {};
  out.rules = [await rule({status: 503, retry_after: 2})];
  const failed = await generate();
  out.failed = [failed.status, failed.headers.get('retry-after'), (await failed.json()).error.type];
  out.after = (await generate()).status;
  out.rules.push(await rule({truncate: true}));
  const cut = await generate();
  out.cut = [cut.status, cut.headers.get('x-request-id') !== null, await cut.text().then(() => 'read', e => e.name)];
  const journal = await fetch(sim + '/_sim/requests?model=dall-e-3').then(r => r.json());
  out.journal = journal.requests.map(entry => [entry.status, entry.fault]);
  out.credentialed = await generate({credentials: 'include'})
    .then(r => [r.status, r.headers.get('x-ratelimit-remaining-images')], e => String(e));
  return out;
}"""


@needs_playwright
def test_a_page_reads_the_faults_the_docs_recommend_for_browsers_each_sent_once(sim: RunningServer, other_origin: str) -> None:
    """docs/control.md, "Browser apps": a `times: 1` status rule reaches the page as a readable 503 with its Retry-After,
    a truncate as a status then a failed body read; neither is re-sent, as Chromium re-sends a request whose reused
    connection a drop or reset closes. A credentialed call (`credentials: 'include'`) is answered too."""
    with chromium_page() as page:
        page.goto(other_origin)
        page.wait_for_function("document.getElementById('out').textContent.startsWith('OK')")  # a kept-alive connection, as an app has
        out = page.evaluate(FAILURES, sim.base_url)
    assert out["rules"] == [201, 201]
    assert out["failed"] == [503, "2", "service_unavailable"] and out["after"] == 200
    assert out["cut"] == [200, True, "TypeError"], "status and headers readable, the body's read fails"
    assert out["journal"] == [[200, "truncate"], [200, None], [503, "status=503;retry_after=2"]], "each sent once"
    credentialed = out["credentialed"]  # [status, x-ratelimit-remaining-images], or the error the page got
    assert isinstance(credentialed, list) and credentialed[0] == 200 and credentialed[1].isdigit(), credentialed


@pytest.fixture
def isolated_origin(tmp_path: Path) -> Iterator[str]:
    """A page on another origin that isolates itself (`Cross-Origin-Embedder-Policy: require-corp`, as a page using
    SharedArrayBuffer or WebAssembly threads must)."""

    class Isolating(SimpleHTTPRequestHandler):
        def end_headers(self) -> None:
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            super().end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    (tmp_path / "isolated.html").write_text("<!doctype html><title>isolated</title>")
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), partial(Isolating, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/isolated.html"
    finally:
        server.shutdown()
        server.server_close()


EMBEDDED = """async (sim) => {
  const shown = (url) => new Promise(done => {
    const img = new Image(); img.onload = () => done('loaded ' + img.naturalWidth); img.onerror = () => done('blocked'); img.src = url;
  });
  const made = await fetch(sim + '/v1/images/generations', {method: 'POST',
    headers: {'Authorization': 'Bearer pk_test_pro_isolated', 'Content-Type': 'application/json'},
    body: JSON.stringify({prompt: 'an isolated fox', model: 'flux-dev', size: '256x256'})}).then(r => r.json());
  const task = await fetch(sim + '/v1/flux-dev', {method: 'POST',
    headers: {'x-key': 'pk_test_pro_isolated', 'Content-Type': 'application/json'},
    body: JSON.stringify({prompt: 'an isolated kite', width: 256, height: 256})}).then(r => r.json());
  const poll = await fetch(task.polling_url, {headers: {'x-key': 'pk_test_pro_isolated'}}).then(r => r.json());
  return [self.crossOriginIsolated, await shown(made.data[0].url), await shown(poll.result.sample)];
}"""


@needs_playwright
def test_an_isolated_page_shows_an_image_and_a_sample_in_a_plain_img(sim: RunningServer, isolated_origin: str) -> None:
    """`<img src=url>` with no `crossorigin`: Chromium blocked it in a COEP page until images said
    `Cross-Origin-Resource-Policy: cross-origin`."""
    with chromium_page() as page:
        page.goto(isolated_origin)
        assert page.evaluate(EMBEDDED, sim.base_url) == [True, "loaded 256", "loaded 256"]
