"""A results file as the markdown table ``docs/performance.md`` quotes.

``python -m bench.markdown [bench/results/<time>.json]`` (default: the latest):
every row, its figure and raw baseline, the ratio, and the issue's target and
verdict where the issue sets one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.run import RESULTS

#: The issue's targets the rows carry no ``target`` for: (name test, text, met?).
TARGETS: list[tuple[Callable[[str], bool], str, Callable[[dict[str, Any]], bool]]] = [
    (lambda name: name == "relay vs raw publish_async", ">= 0.5", lambda r: r["ratio"] >= 0.5),
    (
        lambda name: name.startswith("propagation p99"),
        "p99 < 100 ms at 200/s",
        lambda r: r["ours"] < 100 and "(sustained)" in r["benchmark"],
    ),
    (
        lambda name: name.startswith("replay") and "working set" in name,
        "flat (growth < 1.5)",
        lambda r: r["ours"] < 1.5,
    ),
    (lambda name: name.startswith("matching 10000x5000: s "), "< 20 s", lambda r: r["ours"] < 20),
    (
        lambda name: name.startswith("matching 10000x5000: MB "),
        "< 1,536 MB",
        lambda r: r["ours"] < 1536,
    ),
]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value < 10:
        return f"{value:,.2f}"
    if isinstance(value, float) and value < 1000:
        return f"{value:,.1f}"
    return f"{value:,.0f}" if isinstance(value, (int, float)) else str(value)


def _target(row: dict[str, Any]) -> str:
    if "target" in row:
        met = row["ratio"] is not None and row["ratio"] >= row["target"]
        return f">= {row['target']} ({'met' if met else 'missed'})"
    for applies, text, met_by in TARGETS:
        if applies(row["benchmark"]):
            return f"{text} ({'met' if met_by(row) else 'missed'})"
    return ""


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| benchmark | ours | raw baseline | ours/raw | unit | target |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        if "ours_per_s" in row:
            ours, raw, unit = row["ours_per_s"], row["raw_per_s"], f"{row['unit']}/s"
        else:
            ours, raw, unit = row["ours"], row["raw"], row.get("unit", row.get("note", ""))
        ratio = row.get("ratio")
        lines.append(
            f"| {row['benchmark']} | {_cell(ours)} | {_cell(raw)} |"
            f" {'-' if ratio is None else f'{ratio:.3f}'} | {unit} | {_target(row)} |"
        )
    return "\n".join(lines)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else max(RESULTS.glob("*.json"))
    document = json.loads(path.read_text())
    print(f"<!-- {path.name}, scale {document.get('scale')} -->")
    print(table(document["results"]))


if __name__ == "__main__":
    main()
