"""A landing page for a person who opens the simulator in a browser: what it is, and a form to try a prompt.

The page calls the Perf API itself with fetch(), from its own origin: what a page on another origin gets (CORS) is
tests/test_browser.py's.
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from spec import tiers
from spec.models import MODELS

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>perf-image-sim</title>
<style>body{{font:15px system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
input,select,button{{font:inherit;padding:.3rem}} #prompt{{width:30rem}} img{{max-width:100%;margin-top:1rem}}
pre{{background:#f4f4f4;padding:.6rem;overflow:auto}}</style></head>
<body><h1>perf-image-sim</h1>
<p>The offline twin of the Perf Image Generation API. Endpoint: <code>POST /v1/images/generations</code> ·
<a href="/openapi.json">OpenAPI</a> · <a href="/_sim/openapi.json">control API</a> under <code>/_sim/</code> ·
<a href="/_sim/ui">dashboard</a> · <a href="/metrics">metrics</a>.</p>
<form id="f"><input id="prompt" value="A serene Japanese garden with cherry blossoms at sunset">
<select id="model">{models}</select> <input id="key" value="{key}"> <button>Generate</button></form>
<pre id="out"></pre><img id="img" alt="">
<script>
// Whatever came is shown, and only it: a fault rule's malformed body or dropped connection is what an app would get.
document.getElementById('f').onsubmit = async (e) => {{
  e.preventDefault();
  const out = document.getElementById('out'), img = document.getElementById('img');
  out.textContent = '…';
  img.removeAttribute('src');
  let response, text;
  try {{
    response = await fetch('/v1/images/generations', {{method: 'POST',
      headers: {{'Authorization': 'Bearer ' + document.getElementById('key').value, 'Content-Type': 'application/json'}},
      body: JSON.stringify({{prompt: document.getElementById('prompt').value, model: document.getElementById('model').value}})}});
    text = await response.text();
  }} catch (error) {{
    out.textContent = 'no answer: ' + error.message + (response ? ' (after ' + response.status + ')' : '');
    return;
  }}
  let data;
  try {{
    data = JSON.parse(text);
  }} catch (error) {{
    out.textContent = response.status + ' (not JSON)\\n' + text;
    return;
  }}
  out.textContent = response.status + ' ' + JSON.stringify(data, null, 2);
  const first = response.ok && Array.isArray(data.data) ? data.data[0] : null;
  if (first && first.url) img.src = first.url;
}};
</script></body></html>"""


async def home(request: Request) -> Response:
    models = "".join(f"<option>{html.escape(name)}</option>" for name in MODELS)
    return HTMLResponse(_PAGE.format(models=models, key=html.escape(tiers.DOCUMENT_EXAMPLE_KEY)))


async def no_icon(request: Request) -> Response:
    """A browser asks for /favicon.ico beside any page it shows (this one, /openapi.json, a control call): answered
    here, with no icon, it is a request for the simulator itself, so it never shows in the journal and the log as an
    unmatched API request."""
    return Response(status_code=204)


def routes() -> list[Route]:
    return [Route("/", home, methods=["GET"]), Route("/favicon.ico", no_icon, methods=["GET"])]
