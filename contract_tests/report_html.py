"""One self-contained HTML page of a verdict: rules in green and red, each failure's request, response and curl line."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from contract_tests.verdict import Verdict

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; } td, th { padding: 2px 8px; text-align: left; border-bottom: 1px solid #eee; }
tr.pass td.state { background: #d8f5d8; }
tr.diff td.state { background: #fff0c0; } tr.fail td.state { background: #f8d0d0; } tr.skip td.state { background: #eee; }
details { margin: .5em 0 .5em 1em; } pre { background: #f6f6f6; padding: .5em; white-space: pre-wrap; word-break: break-all; }
.fail-title { color: #a00; font-weight: 600; } .note { background: #fff7d6; padding: .5em; }
"""


def _exchange(record: dict[str, Any]) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in record["request_headers"].items())
    response_headers = "\n".join(f"{k}: {v}" for k, v in record["response_headers"].items())
    return (
        f"<p>request</p><pre>{escape(record['method'])} {escape(record['url'])}\n{escape(headers)}\n\n"
        f"{escape(record['request_body'] or '')}</pre>"
        f"<p>response</p><pre>{record['status']}\n{escape(response_headers)}\n\n{escape(record['response_body'])}</pre>"
        f"<p>reproduce</p><pre>{escape(record['curl'])}</pre>"
    )


def _findings(findings: list[dict[str, Any]]) -> str:
    return "".join(
        f"<p class='fail-title'>RULE BROKEN: {escape(f['rule'])}</p><p>from: {escape(f['source'])}</p><p>{escape(f['detail'])}</p>"
        + "".join(_exchange(e) for e in f["exchanges"])
        for f in findings
    )


def render(verdict: Verdict) -> str:
    data = verdict.as_json()
    totals = data["totals"]
    rows, failures, differences = [], [], []
    for rule in data["rules"]:
        state = "fail" if rule["failed"] else ("skip" if not rule["passed"] else ("diff" if rule["differs"] else "pass"))
        rows.append(
            f"<tr class='{state}'><td class='state'>{state}</td><td>{escape(rule['area'])}</td><td>{escape(rule['rule'])}</td>"
            f"<td>{escape(rule['source'])}</td><td>{rule['passed']}</td><td>{rule['failed']}</td><td>{rule['skipped']}</td></tr>"
        )
        for case in rule["cases"]:
            if case["outcome"] == "failed":
                body = _findings(case["findings"]) or f"<pre>{escape(case['reason'])}</pre>"
                failures.append(f"<details><summary>{escape(case['case'])}</summary>{body}</details>")
            elif case["differences"]:
                differences.append(f"<details><summary>{escape(case['case'])}</summary>{_findings(case['differences'])}</details>")
    causes = "".join(f"<li>{c['count']} cases: {escape(c['cause'])}</li>" for c in data["causes"])
    notes = "".join(f"<p class='note'>{escape(n)}</p>" for n in data["notes"])
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Perf contract verdict</title><style>{STYLE}</style></head><body>"
        f"<h1>Perf contract verdict</h1><p>{escape(data['target'])}, level {escape(data['level'])}, {escape(verdict.judged_by())}: "
        f"{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped</p>{notes}"
        f"<h2>Rules</h2><table><tr><th></th><th>area</th><th>rule</th><th>source</th><th>passed</th><th>failed</th><th>skipped</th></tr>"
        f"{''.join(rows)}</table>"
        f"<h2>Causes</h2><ol>{causes or '<li>none: every rule held</li>'}</ol>"
        f"<h2>Failures</h2>{''.join(failures) or '<p>none</p>'}"
        f"<h2>Differs from the simulator's decisions (not counted)</h2>{''.join(differences) or '<p>none</p>'}</body></html>"
    )


def write_html(verdict: Verdict, path: str) -> None:
    Path(path).write_text(render(verdict))
