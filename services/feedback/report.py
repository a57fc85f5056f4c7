"""The outcomes report of a programme as files people read: JSON, CSV, terminal text, charts.

The feedback service computes the report (aggregates only, any figure over
fewer than ``min_group_size`` people suppressed); this module only renders it,
without gRPC, so the CLI, the demo and the tests share one rendering. The
report is a plain dict (see :func:`report_from_message` for its shape)::

    Figure = {"value": float | None, "people": int, "suppressed": bool}
    Change = {"mean": Figure, "distribution": {"-1": 2, "0": 3, "1": 4} | None}

Suppression is a promise to participants, so every export goes through
:func:`redacted` first: a suppressed figure is never rendered as a number (nor
its people count, which for a funnel stage *is* the figure), even if a caller
left the value in. ``value`` None with ``people`` 0 and not suppressed means
"no data yet", which is not the same thing and is worded differently.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from revmentor.feedback.v1 import feedback_pb2 as pb

Report = dict[str, Any]
Figure = dict[str, Any]
Change = dict[str, Any]

ROLES = ("mentee", "mentor")
STAGES = ("enrolled", "certified", "matched", "met", "completed")
#: (key in the report and CSV name, text label, value format) of the single figures.
SUMMARY = (
    ("sessions_held", "Sessions held", "{:.0f}"),
    ("average_usefulness", "Average usefulness of sessions", "{:.2f} / 5"),
    ("nps", "Net promoter score (-100 to +100)", "{:+.1f}"),
    ("days_enrolment_to_first_session", "Days from enrolment to first session", "{:.1f}"),
)
#: (CSV section, CSV name, key in the report) of every change, in report order.
MENTOR_CHANGES = (
    ("mentor_change", "pedagogy", "mentor_pedagogy_change"),
    ("mentor_change", "confidence", "mentor_confidence_change"),
)
UNDERSTANDING = ("understanding_change", "all", "understanding_change")
CSV_HEADER = ("section", "name", "value", "people", "suppressed")
NO_DATA = "no data yet"


# -- the dict -----------------------------------------------------------------------------------
def report_from_message(msg: pb.OutcomesReport) -> Report:
    """The gRPC ``OutcomesReport`` as the report dict every export takes."""
    return {
        "programme_id": msg.programme_id,
        "generated_at": msg.generated_at,
        "min_group_size": msg.min_group_size,
        "funnel": [_stage_from(stage) for stage in msg.funnel],
        "sessions_held": _sessions_from(msg),
        "average_usefulness": _figure_from(msg.average_usefulness),
        "nps": _figure_from(msg.nps),
        "days_enrolment_to_first_session": _figure_from(msg.days_enrolment_to_first_session),
        "mentee_skill_change": {
            topic: _change_from(msg.mentee_skill_change[topic])
            for topic in sorted(msg.mentee_skill_change)
        },
        "mentor_pedagogy_change": _change_from(msg.mentor_pedagogy_change),
        "mentor_confidence_change": _change_from(msg.mentor_confidence_change),
        "understanding_change": _change_from(msg.understanding_change),
    }


def _figure_from(msg: pb.Figure) -> Figure:
    """``value`` unset (or suppressed) becomes None, never 0.0."""
    value = msg.value if msg.HasField("value") and not msg.suppressed else None
    return {"value": value, "people": msg.people, "suppressed": msg.suppressed}


def _sessions_from(msg: pb.OutcomesReport) -> Figure:
    """Sessions held as the count it is; a server older than the ``sessions``
    figure sends only the bare number (which it never suppressed)."""
    if not msg.HasField("sessions"):
        return {"value": msg.sessions_held, "people": 0, "suppressed": False}
    figure = _figure_from(msg.sessions)
    return figure | {"value": None if figure["value"] is None else round(figure["value"])}


def _change_from(msg: pb.Change) -> Change:
    mean = _figure_from(msg.mean)
    distribution = (
        None
        if mean["suppressed"]
        else {str(delta): msg.distribution[delta] for delta in sorted(msg.distribution)}
    )
    return {"mean": mean, "distribution": distribution}


def _stage_from(msg: pb.FunnelStage) -> dict[str, Any]:
    count = _figure_from(msg.count)
    value = None if count["value"] is None else round(count["value"])
    return {"role": msg.role, "stage": msg.stage, **count, "value": value}


def redacted(report: Mapping[str, Any]) -> Report:
    """A copy in which no suppressed figure carries a value or a distribution."""
    out = copy.deepcopy(dict(report))
    for stage in out.get("funnel") or []:
        _blank(stage)
    for key, _, _ in SUMMARY:
        _blank(out.get(key))
    for _, _, change in changes(out):
        _blank(change.get("mean"))
        if (change.get("mean") or {}).get("suppressed"):
            change["distribution"] = None
    return out


def _blank(figure: dict[str, Any] | None) -> None:
    if figure and figure.get("suppressed"):
        figure["value"] = None


def figure_of(report: Mapping[str, Any], key: str) -> Figure:
    """The figure at ``key``, "no data yet" when the report lacks it."""
    return report.get(key) or {"value": None, "people": 0, "suppressed": False}


def change_of(report: Mapping[str, Any], key: str) -> Change:
    """The change at ``key``, "no data yet" when the report lacks it."""
    return report.get(key) or {"mean": figure_of({}, ""), "distribution": {}}


def changes(report: Mapping[str, Any]) -> Iterator[tuple[str, str, Change]]:
    """(section, name, change) of every change: skills by topic, mentors, understanding."""
    skills = report.get("mentee_skill_change") or {}
    for topic in sorted(skills):
        yield "skill_change", topic, skills[topic]
    for section, name, key in (*MENTOR_CHANGES, UNDERSTANDING):
        yield section, name, change_of(report, key)


def deltas(change: Mapping[str, Any]) -> list[tuple[int, int]]:
    """The distribution as (delta, people), by delta; empty when suppressed or absent."""
    distribution = change.get("distribution") or {}
    return sorted((int(delta), count) for delta, count in distribution.items())


# -- JSON and CSV -------------------------------------------------------------------------------
def to_json(report: Mapping[str, Any]) -> str:
    """The report as JSON, stable (sorted keys) so two exports diff cleanly."""
    return json.dumps(redacted(report), indent=2, sort_keys=True) + "\n"


def to_csv(report: Mapping[str, Any]) -> str:
    """One row per figure (``section,name,value,people,suppressed``), then the distributions.

    A suppressed figure has empty value and people cells: a spreadsheet shows a
    gap, never a number someone could mistake for (or use to recover) the figure.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_rows(redacted(report)))
    return buffer.getvalue()


def csv_rows(report: Mapping[str, Any]) -> Iterator[tuple[str, ...]]:
    """The data rows of :func:`to_csv` (the report must already be redacted)."""
    for stage in report.get("funnel") or []:
        yield _figure_row("funnel", f"{stage['role']}.{stage['stage']}", stage)
    for key, _, _ in SUMMARY:
        yield _figure_row("summary", key, figure_of(report, key))
    for section, name, change in changes(report):
        yield _figure_row(section, name, change["mean"])
    for section, name, change in changes(report):
        for delta, count in deltas(change):
            yield "distribution", f"{section}.{name}.{delta}", str(count), "", ""


def _figure_row(section: str, name: str, figure: Mapping[str, Any]) -> tuple[str, ...]:
    suppressed = bool(figure.get("suppressed"))
    value = figure.get("value")
    people = "" if suppressed else str(figure.get("people", 0))
    cell = "" if suppressed or value is None else _number(value)
    return section, name, cell, people, "true" if suppressed else "false"


def _number(value: float) -> str:
    """Counts as integers, means as Python writes them (exact, round-trippable)."""
    return str(value) if isinstance(value, int) else repr(float(value))


# -- text ---------------------------------------------------------------------------------------
LABEL = 40  # width of the label column
VALUE = 10  # width of the (right-aligned) value column
SHARE = "of enrolled"  # heading of the funnel's share column


def to_text(report: Mapping[str, Any]) -> str:
    """A report a programme manager reads in a terminal: headings and aligned columns."""
    safe = redacted(report)
    floor = int(safe.get("min_group_size") or 0)
    sections = (
        _text_header(safe, floor),
        _text_funnel(safe, floor),
        _text_summary(safe, floor),
        _text_skills(safe, floor),
        _text_other_changes(safe, floor),
    )
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"


def suppressed_note(floor: int) -> str:
    return f"suppressed (fewer than {floor} people)"


def people(count: int) -> str:
    return f"{count} person" if count == 1 else f"{count} people"


def _text_header(report: Mapping[str, Any], floor: int) -> list[str]:
    title = f"Outcomes report - programme {report.get('programme_id', '')}"
    return [
        title,
        "=" * len(title),
        f"Generated {report.get('generated_at', '')}. Figures about fewer than {floor} people",
        "are suppressed so that nobody can be singled out.",
    ]


def _heading(text: str) -> list[str]:
    return [text, "-" * len(text)]


def _line(label: str, value: str, note: str = "", indent: int = 2) -> str:
    """``label .... value   note``, the value right-aligned under its column heading."""
    column = " " * indent + f"{label:<{LABEL - indent}}"
    return (column + f"{value:>{VALUE}}" + (f"   {note}" if note else "")).rstrip()


def _words(label: str, text: str, indent: int = 2) -> str:
    """``label .... text``: words (suppressed, no data yet) start where values do."""
    return " " * indent + f"{label:<{LABEL - indent}}{text}"


def _either(label: str, shown: tuple[str, str] | str, indent: int = 2) -> str:
    """A figure's line: its words, or its (value, note)."""
    if isinstance(shown, str):
        return _words(label, shown, indent)
    return _line(label, *shown, indent=indent)


def _figure_text(figure: Mapping[str, Any], floor: int, form: str) -> tuple[str, str] | str:
    """(value, people) of one figure, or words when there is no number to show."""
    if figure.get("suppressed"):
        return suppressed_note(floor)
    if figure.get("value") is None:
        return NO_DATA if not figure.get("people") else "not available"
    count = int(figure.get("people", 0))
    return form.format(figure["value"]), people(count) if count else ""  # 0 sessions: nobody


def _text_funnel(report: Mapping[str, Any], floor: int) -> list[str]:
    lines = _heading("Participation funnel")
    funnel = report.get("funnel") or []
    if not funnel:
        return [*lines, f"  {NO_DATA}"]
    lines.append(_line("", "people", SHARE))
    for role in ROLES:
        stages = [stage for stage in funnel if stage.get("role") == role]
        if stages:
            lines.append(f"  {role.capitalize()}s")
            lines.extend(_funnel_line(stage, stages[0], floor) for stage in stages)
    return lines


def _funnel_line(stage: Mapping[str, Any], enrolled: Mapping[str, Any], floor: int) -> str:
    label = str(stage.get("stage", ""))
    if stage.get("suppressed"):
        return _words(label, suppressed_note(floor), indent=4)
    value = stage.get("value")
    if value is None:
        return _words(label, NO_DATA, indent=4)
    base = enrolled.get("value")
    share = f"{100 * value / base:.0f}%" if base else "-"
    return _line(label, str(value), f"{share:>{len(SHARE)}}", indent=4)


def _text_summary(report: Mapping[str, Any], floor: int) -> list[str]:
    lines = _heading("Sessions and satisfaction")
    for key, label, form in SUMMARY:
        lines.append(_either(label, _figure_text(figure_of(report, key), floor, form)))
    return lines


def _change_line(label: str, change: Mapping[str, Any], floor: int) -> str:
    shown = _figure_text(change.get("mean") or {}, floor, "{:+.2f}")
    if isinstance(shown, str):
        return _words(label, shown)
    value, who = shown
    spread = "  ".join(f"{_signed(delta)}:{count}" for delta, count in deltas(change))
    return _line(label, value, f"{who:<11}{spread}" if spread else who)


def _signed(delta: int) -> str:
    return f"{delta:+d}" if delta else "0"


def _text_skills(report: Mapping[str, Any], floor: int) -> list[str]:
    lines = _heading("Mentee skill change (end minus baseline, 1-5 scale)")
    skills = report.get("mentee_skill_change") or {}
    if not skills:
        return [*lines, f"  {NO_DATA}"]
    lines.append(_line("topic", "mean", f"{'people':<11}spread (change:people)"))
    lines.extend(_change_line(topic, skills[topic], floor) for topic in sorted(skills))
    return lines


def _text_other_changes(report: Mapping[str, Any], floor: int) -> list[str]:
    lines = _heading("Mentor and intergenerational change (end minus baseline, 1-5 scale)")
    labels = {
        "mentor_pedagogy_change": "Mentors' pedagogy",
        "mentor_confidence_change": "Mentors' coaching confidence",
        "understanding_change": "Intergenerational understanding",
    }
    for key, label in labels.items():
        lines.append(_change_line(label, change_of(report, key), floor))
    return lines


# -- charts -------------------------------------------------------------------------------------
#: Fixed settings so that the same report always gives the same bytes.
CHART_RC: dict[str, Any] = {
    "svg.fonttype": "none",  # text stays text: searchable, and no font outlines to differ
    "svg.hashsalt": "revmentor-outcomes-report",  # stable element ids
    "font.family": "DejaVu Sans",  # bundled with matplotlib: same layout everywhere
    "font.size": 9,
    "figure.dpi": 100,
    "savefig.dpi": 150,
}
METADATA = {"svg": {"Date": None}, "png": {"Software": None}}
COLOURS = {"mentee": "#2a7ab0", "mentor": "#d9822b"}
_rendering = threading.Lock()  # rcParams are process-wide; one chart at a time


def chart(report: Mapping[str, Any], kind: str = "funnel", fmt: str = "svg") -> bytes:
    """The ``funnel`` or ``skills`` chart as SVG or PNG bytes, identical for the same report.

    Uses matplotlib's object API (no pyplot): no GUI backend, no global list of
    open figures to leak, and the figure is released when this returns.
    """
    if kind not in DRAW:
        raise ValueError(f"chart kind must be one of {sorted(DRAW)}, not {kind!r}")
    if fmt not in METADATA:
        raise ValueError(f"chart format must be svg or png, not {fmt!r}")
    import matplotlib
    from matplotlib.figure import Figure as Canvas

    safe = redacted(report)
    with _rendering, matplotlib.rc_context():
        matplotlib.rcdefaults()  # ignore any matplotlibrc of the user
        matplotlib.rcParams.update(cast(Any, CHART_RC))  # keys checked by matplotlib
        canvas = Canvas(figsize=(8, _height(kind, safe)), layout="constrained")
        DRAW[kind](canvas.add_subplot(), safe)
        buffer = io.BytesIO()
        canvas.savefig(buffer, format=fmt, metadata=METADATA[fmt])
    return buffer.getvalue()


def _height(kind: str, report: Mapping[str, Any]) -> float:
    rows = len(report.get("mentee_skill_change") or {}) if kind == "skills" else len(STAGES)
    return max(3.5, 1.6 + 0.45 * rows)


def _title(ax: Axes, report: Mapping[str, Any], what: str) -> None:
    floor = report.get("min_group_size") or 0
    ax.set_title(
        f"Programme {report.get('programme_id', '')}: {what}\n"
        f"generated {report.get('generated_at', '')}; groups under {floor} people suppressed",
        fontsize=10,
    )


def _no_data(ax: Axes) -> None:
    box = {"facecolor": "white", "edgecolor": "none"}
    ax.text(
        0.5, 0.5, NO_DATA, transform=ax.transAxes, ha="center", va="center", fontsize=14, bbox=box
    )


def _draw_funnel(ax: Axes, report: Mapping[str, Any]) -> None:
    """Mentee and mentor bars side by side per stage; suppressed stages hatched and empty."""
    floor = int(report.get("min_group_size") or 0)
    funnel = report.get("funnel") or []
    known = [float(s["value"]) for s in funnel if s.get("value") is not None]
    right = max([*known, float(floor), 1.0])
    if any(s.get("value") or s.get("suppressed") for s in funnel):
        for stage in funnel:
            _funnel_bar(ax, stage, floor, right)
    else:
        _no_data(ax)
    ax.set_yticks(range(len(STAGES)), STAGES)
    ax.set_ylim(len(STAGES) - 0.5, -0.5)  # enrolled at the top
    ax.set_xlim(0, right * 1.45)
    ax.set_xlabel("people")
    _legend(ax)
    _title(ax, report, "participation funnel")


def _funnel_bar(ax: Axes, stage: Mapping[str, Any], floor: int, right: float) -> None:
    if stage.get("stage") not in STAGES or stage.get("role") not in ROLES:
        return
    offset = -0.2 if stage["role"] == "mentee" else 0.2
    y = STAGES.index(stage["stage"]) + offset
    colour = COLOURS[stage["role"]]
    pad = right * 0.01
    if stage.get("suppressed"):  # drawn up to the group size: "fewer than", never the count
        ax.barh(y, floor, height=0.38, fill=False, hatch="///", edgecolor=colour)
        ax.text(floor + pad, y, "suppressed", va="center", fontsize=8, color="#555555")
    elif stage.get("value") is not None:
        ax.barh(y, stage["value"], height=0.38, color=colour)
        ax.text(stage["value"] + pad, y, str(stage["value"]), va="center", fontsize=8)


def _legend(ax: Axes) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(color=COLOURS[role], label=f"{role}s") for role in ROLES]
    handles.append(Patch(fill=False, hatch="///", edgecolor="#555555", label="suppressed"))
    ax.legend(handles=handles, loc="lower right", frameon=False)


def _draw_skills(ax: Axes, report: Mapping[str, Any]) -> None:
    """One bar per topic of the mean change, labelled with it and the people it stands for."""
    floor = int(report.get("min_group_size") or 0)
    skills = report.get("mentee_skill_change") or {}
    topics = sorted(skills)
    means = [skills[t]["mean"] for t in topics]
    reach = max([abs(float(m["value"])) for m in means if m.get("value") is not None] + [1.0])
    for row, mean in enumerate(means):
        _skill_bar(ax, row, mean, floor)
    ax.axvline(0, color="#333333", linewidth=0.8)
    ax.set_yticks(range(len(topics)), topics)
    ax.set_ylim(max(len(topics), 1) - 0.5, -0.5)
    ax.set_xlim(-reach * 1.9, reach * 1.9)
    ax.set_xlabel("mean change in self-rated skill (end minus baseline, points on 1-5)")
    _title(ax, report, "mentee skill change by topic")
    if not topics:
        _no_data(ax)


def _skill_bar(ax: Axes, row: int, mean: Mapping[str, Any], floor: int) -> None:
    value = mean.get("value")
    if mean.get("suppressed") or value is None:
        gap = suppressed_note(floor) if mean.get("suppressed") else NO_DATA
        ax.text(0, row, gap, ha="center", va="center", fontsize=8, style="italic", color="#555")
        return
    colour = "#3c8d40" if value >= 0 else "#c0392b"
    ax.barh(row, value, height=0.6, color=colour)
    label = f" {value:+.2f} ({people(int(mean.get('people', 0)))}) "
    side = "left" if value >= 0 else "right"
    ax.text(value, row, label, ha=side, va="center", fontsize=8)


DRAW: dict[str, Callable[[Axes, Mapping[str, Any]], None]] = {
    "funnel": _draw_funnel,
    "skills": _draw_skills,
}
