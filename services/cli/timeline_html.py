"""The audit timeline as one self-contained HTML page (``--format html``).

An auditor files the page as evidence or mails it on, so it must look the
same anywhere, offline, years later: all CSS is inline, there is no script,
font, image or link to anything outside the file (the only links are to steps
within it), and every value from the log goes through :func:`html.escape`, so
a stored value cannot become markup. It renders the document of
:func:`revmentor.cli.audit_timeline.document`: the same facts as the JSON.
"""

from __future__ import annotations

from html import escape
from typing import Any

#: One colour per service (the platform's order); others are grey.
SERVICE_COLOURS = {
    "enrolment": "#1f6feb",
    "training": "#1a7f37",
    "matching": "#8250df",
    "scheduling": "#bc4c00",
    "feedback": "#bf3989",
}
OTHER_COLOUR = "#57606a"
#: Golden-angle hues: neighbouring correlation groups get far-apart colours.
HUE_STEP = 137.508

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1f2328; }
h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
header p, header ul { margin: .2rem 0; }
header ul { padding: 0; list-style: none; display: flex; flex-wrap: wrap; gap: .4rem 1rem; }
code { font: 12px ui-monospace, monospace; }
table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
th, td { text-align: left; vertical-align: top; padding: .25rem .5rem;
         border-bottom: 1px solid #d0d7de; }
th { background: #f6f8fa; position: sticky; top: 0; }
td.service span { color: #fff; border-radius: 3px; padding: 0 .35rem; }
td.group { border-left: 6px solid; white-space: nowrap; }
tr.undecodable td { background: #ffebe9; }
.missing { color: #cf222e; font-weight: bold; }
.summary { max-width: 40rem; word-break: break-word; }
"""

HEADINGS = ("#", "time", "service", "event", "aggregate @ version", "position", "actor",
            "correlation", "causation", "summary")  # fmt: skip


def counted(number: int, noun: str) -> str:
    """``1 step``, ``2 steps``."""
    return f"{number} {noun}" + ("" if number == 1 else "s")


def e(value: Any) -> str:
    return escape(str(value), quote=True)


def colour_of(service: str) -> str:
    return SERVICE_COLOURS.get(service, OTHER_COLOUR)


def group_numbers(steps: list[dict[str, Any]]) -> dict[str, int]:
    """Correlation id -> group number, in order of first appearance."""
    groups: dict[str, int] = {}
    for step in steps:
        correlation = step["correlation_id"]
        if correlation and correlation not in groups:
            groups[correlation] = len(groups) + 1
    return groups


def group_colour(number: int) -> str:
    return f"hsl({number * HUE_STEP % 360:.0f}, 65%, 45%)"


def services_list(doc: dict[str, Any]) -> str:
    items = []
    for service, status in doc["services"].items():
        badge = f'<span style="color: {colour_of(service)}">&#9632;</span> {e(service)}'
        if status == "ok":
            scanned = doc["scanned"].get(service, 0)
            odd = doc["undecodable_elsewhere"].get(service, 0)
            note = f"{scanned} events read" + (f", {odd} undecodable elsewhere" if odd else "")
            items.append(f"<li>{badge}: ok ({e(note)})</li>")
        else:
            items.append(f'<li>{badge}: <span class="missing">{e(status)}</span></li>')
    return "<ul>" + "".join(items) + "</ul>"


def cause_cell(step: dict[str, Any]) -> str:
    raw = f"<code>{e(step['causation_id'] or '-')}</code>"
    if step["caused_by"]:
        number = int(step["caused_by"])
        return f'<a href="#step-{number}">#{number}</a> {raw}'
    return raw


def group_cell(step: dict[str, Any], groups: dict[str, int]) -> str:
    correlation = step["correlation_id"]
    if not correlation:
        return '<td class="group" style="border-left-color: transparent">-</td>'
    number = groups[correlation]
    return (
        f'<td class="group" style="border-left-color: {group_colour(number)}" '
        f'title="correlation group {number}">G{number} <code>{e(correlation)}</code></td>'
    )


def row(step: dict[str, Any], groups: dict[str, int]) -> str:
    number = int(step["step"])
    undecodable = bool(step["decode_error"])
    cells = [
        f"<td>{number}</td>",
        f"<td><code>{e(step['time'] or 'unknown')}</code></td>",
        f'<td class="service"><span style="background: {colour_of(step["service"])}">'
        f"{e(step['service'])}</span></td>",
        f"<td>{e(step['type'] or 'UNDECODABLE')}</td>",
        f"<td><code>{e(step['aggregate_id'])} @ {int(step['version'])}</code></td>",
        f"<td>{int(step['position'])}</td>",
        f"<td>{e(step['actor'] or '-')}</td>",
        group_cell(step, groups),
        f"<td>{cause_cell(step)}</td>",
        f'<td class="summary">{e(step["decode_error"] or step["summary"])}</td>',
    ]
    css = ' class="undecodable"' if undecodable else ""
    return f'<tr id="step-{number}"{css}>' + "".join(cells) + "</tr>"


def render_html(doc: dict[str, Any]) -> str:
    subject = doc["subject"]
    steps = doc["steps"]
    groups = group_numbers(steps)
    title = f"Timeline of {subject['kind']} {subject['id']}"
    body = "\n".join(row(step, groups) for step in steps)
    if not steps:
        empty = f"No events of this {subject['kind']} in the services read."
        body = f'<tr><td colspan="{len(HEADINGS)}">{e(empty)}</td></tr>'
    headings = "".join(f"<th>{e(h)}</th>" for h in HEADINGS)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>{e(title)}</h1>
<p>Generated {e(doc["generated_at"])}: <strong>{counted(len(steps), "step")}</strong> in \
{counted(len(groups), "correlation group")} (G1, G2... in the correlation column; a step caused \
by another links to it).</p>
{services_list(doc)}
<p>From each service's audit log; every personal field reads [withheld].</p>
</header>
<table>
<thead><tr>{headings}</tr></thead>
<tbody>
{body}
</tbody>
</table>
</body>
</html>
"""
