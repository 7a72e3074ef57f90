"""`perf-contract proxy`: a validation proxy in front of any implementation (Prism's proxy mode is the model).

Any client's traffic (an app's own tests, a browser, Locust) goes through it to the target unchanged (the Host
header excepted, so the target sees its own name); each exchange is judged against spec/ afterwards, off the
request path, by `proxy_checks.ExchangeJudge`. One line per violation is printed as it is found; on Ctrl-C or
SIGTERM the proxy finishes judging, writes the report and exits 1 if any rule was broken, else 0.
"""

from __future__ import annotations

import argparse
import gzip
import json
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn

from contract_tests import decisions
from contract_tests.exchange import KEY_ENV_VAR, Exchange
from contract_tests.proxy_checks import ExchangeJudge, say
from contract_tests.violations import Finding
from perf_image_sim_plugins.contract_options import JUDGES

# Not forwarded: hop-by-hop headers, and Host (the target gets its own).
HOP_BY_HOP = {b"host", b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade", b"proxy-authorization"}
JUDGE_THREADS = 4
JUDGE_DOCUMENT, JUDGE_ALL = JUDGES
FORWARD_TIMEOUT = 120.0


async def whole_body(receive: Any) -> bytes:
    """An ASGI request's body, all its messages joined."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


class ViolationLog:
    """Prints each broken rule as one line and keeps it for the report: as a VIOLATION when it counts (`judge`
    "document": a rule of the document; "all": any), else as DIFFERS, a difference from a simulator decision.

    Decision: the proxy judges as `perf-contract` does, by the document unless told `--judge all`. Counting every
    finding failed each answer of a correct implementation that decided otherwise (no revised_prompt but for
    dall-e-3, its own content policy), so the proxy could not gate a build."""

    def __init__(self, judge: str = JUDGE_DOCUMENT) -> None:
        self.judge = judge
        self.violations: list[tuple[Exchange, Finding]] = []
        self.differences: list[tuple[Exchange, Finding]] = []
        self.lock = threading.Lock()

    def counts(self, finding: Finding) -> bool:
        return self.judge == JUDGE_ALL or finding.source.is_document

    def __call__(self, exchange: Exchange, finding: Finding) -> None:
        path = exchange.url.split("://", 1)[-1].partition("/")[2]
        counted = self.counts(finding)
        kind = "VIOLATION" if counted else "DIFFERS"
        line = (
            f"{kind} {exchange.method} /{path} -> {exchange.status} [{decisions.numbered(finding.source)}]: {finding.rule} "
            f"({finding.detail[:300]})"
        )
        with self.lock:
            (self.violations if counted else self.differences).append((exchange, finding))
            say(line)

    def report(self, target: str, exchanges: int) -> dict[str, Any]:
        def listed(found: list[tuple[Exchange, Finding]]) -> list[dict[str, Any]]:
            return [
                {
                    "rule": f.rule,
                    "detail": f.detail,
                    "cause": f.group,
                    "source": str(f.source),
                    "counted": self.counts(f),
                    "exchange": e.as_record(),
                }
                for e, f in found
            ]

        def by_cause(found: list[tuple[Exchange, Finding]]) -> dict[str, int]:
            counts: dict[str, int] = {}
            for _, finding in found:
                counts[finding.group] = counts.get(finding.group, 0) + 1
            return dict(sorted(counts.items(), key=lambda item: -item[1]))

        return {
            "target": target,
            "judge": self.judge,
            "exchanges": exchanges,
            "violations": listed(self.violations),
            "by_cause": by_cause(self.violations),
            "differences": listed(self.differences),
            "differences_by_cause": by_cause(self.differences),
        }


class ValidationProxy:
    """An ASGI app forwarding every request to `target` and handing each exchange to the judge."""

    def __init__(self, target: str, judge: ExchangeJudge, pool: ThreadPoolExecutor) -> None:
        self.target = target.rstrip("/")
        self.judge = judge
        self.pool = pool
        self.client: httpx.AsyncClient | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.client = httpx.AsyncClient(timeout=FORWARD_TIMEOUT)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.client is not None:
                        await self.client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http" or self.client is None:
            return
        body = await whole_body(receive)
        url = self.target + scope["raw_path"].decode("latin-1")
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP and k.lower() != b"content-length"]
        sent_at = time.monotonic()
        try:
            response = await self.client.send(self.client.build_request(scope["method"], url, headers=headers, content=body), stream=True)
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
            await response.aclose()
        except httpx.HTTPError as exc:
            error = {"error": {"type": "upstream_error", "message": f"perf-contract proxy: the target did not answer ({exc})"}}
            await _answer(send, 502, [(b"content-type", b"application/json")], json.dumps(error).encode())
            return
        out_headers = [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP]
        await _answer(send, response.status_code, out_headers, raw)
        decoded = gzip.decompress(raw) if response.headers.get("content-encoding") == "gzip" else raw
        sent = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers}
        exchange = Exchange(
            method=scope["method"],
            url=url,
            request_headers=sent,
            request_body=body or None,
            status=response.status_code,
            response_headers={k.lower(): v for k, v in response.headers.items()},
            response_body=decoded,
            sent_at=sent_at,
            received_at=time.monotonic(),
            secret_keys=clients_key(sent),
        )
        self.judge.record(exchange)
        self.pool.submit(self.judge.judge, exchange)


async def _answer(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="perf-contract proxy",
        description="Forward traffic to an implementation and report every exchange that breaks a rule of spec/.",
    )
    parser.add_argument("--target", required=True, help="base URL of the implementation, e.g. http://127.0.0.1:8080")
    parser.add_argument("--host", default="127.0.0.1", help="where to listen (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4010, help="where to listen (default 4010)")
    parser.add_argument("--report-json", help="on exit, write every violation (rule, detail, exchange, curl line) here")
    parser.add_argument(
        "--judge",
        choices=(JUDGE_DOCUMENT, JUDGE_ALL),
        default=JUDGE_DOCUMENT,
        help="document (default): only the document's rules count toward the exit status; differences from the "
        "simulator's decisions are printed as DIFFERS lines, not counted. all: both count",
    )
    args = parser.parse_args(argv)
    log = ViolationLog(args.judge)
    judge = ExchangeJudge(log, urlsplit(args.target).path)
    pool = ThreadPoolExecutor(JUDGE_THREADS, thread_name_prefix="perf-contract-judge")
    app = ValidationProxy(args.target, judge, pool)
    say(f"perf-contract proxy: http://{args.host}:{args.port} -> {args.target}; Ctrl-C or SIGTERM writes the report")
    # uvicorn stops on Ctrl-C/SIGTERM, then re-raises the signal to whatever handler was there before it:
    # make that a no-op, so the report is still written.
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, lambda *_: None)
    uvicorn.Server(
        uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", lifespan="on", server_header=False, date_header=False)
    ).run()
    pool.shutdown(wait=True)
    report = {**log.report(args.target, judge.exchanges), "not_judged": judge.notes}
    if args.report_json:
        Path(args.report_json).write_text(json.dumps(report, indent=2, ensure_ascii=False))
    differing = f", {len(log.differences)} differences from the simulator's decisions (not counted)" if log.differences else ""
    say(f"perf-contract proxy: {judge.exchanges} exchanges judged, {len(log.violations)} violations{differing}")
    sys.exit(1 if log.violations else 0)


def clients_key(headers: dict[str, str]) -> dict[str, str]:
    """Every key through the proxy is a client's real key: its curl lines read it from $PERF_KEY."""
    token = next((value.partition(" ")[2] for name, value in headers.items() if name.lower() == "authorization"), "")
    return {token: KEY_ENV_VAR} if token else {}
