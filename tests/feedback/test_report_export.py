"""The outcomes report as files: JSON, CSV, text and charts, and the ``revmentor report``
command against a real in-process gRPC server standing in for feedback.

The promise checked throughout: a suppressed figure is never rendered as a
number. Reports are built by hand here (one with data and suppressed figures,
one empty), and a "leaky" copy carries would-be values in every suppressed
figure: every export of it must be byte for byte the export of the clean one.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
import stat
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import matplotlib
import pytest
from matplotlib import _pylab_helpers

from revmentor.cli import report as cli
from revmentor.cli.common import CliError
from revmentor.cli.main import build_parser, main
from revmentor.feedback import report
from revmentor.feedback.v1 import feedback_pb2 as pb
from revmentor.feedback.v1 import feedback_pb2_grpc as pb_grpc

PROGRAMME = "3f1c2a9e-0000-4000-8000-00000000abcd"
NOTE = "suppressed (fewer than 5 people)"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def figure(value: float | None, people: int) -> dict[str, Any]:
    return {"value": value, "people": people, "suppressed": False}


def hidden(people: int) -> dict[str, Any]:
    return {"value": None, "people": people, "suppressed": True}


def stage(role: str, name: str, count: int, suppressed: bool = False) -> dict[str, Any]:
    value = None if suppressed else count
    return {"role": role, "stage": name, "value": value, "people": count, "suppressed": suppressed}


def change(mean: dict[str, Any], distribution: dict[str, int] | None) -> dict[str, Any]:
    return {"mean": mean, "distribution": distribution}


REPORT: dict[str, Any] = {
    "programme_id": PROGRAMME,
    "generated_at": "2026-11-26T10:00:00Z",
    "min_group_size": 5,
    "funnel": [
        stage("mentee", "enrolled", 12),
        stage("mentee", "matched", 10),
        stage("mentee", "met", 8),
        stage("mentee", "completed", 3, suppressed=True),
        stage("mentor", "enrolled", 11),
        stage("mentor", "certified", 9),
        stage("mentor", "matched", 10),
        stage("mentor", "met", 8),
        stage("mentor", "completed", 2, suppressed=True),
    ],
    "sessions_held": figure(42, 16),
    "average_usefulness": figure(4.21, 18),
    "nps": figure(33.3, 12),
    "days_enrolment_to_first_session": hidden(4),
    "mentee_skill_change": {
        "data-literacy": change(figure(-0.4, 5), {"-1": 2, "0": 3}),
        "generative-ai": change(figure(1.2, 8), {"0": 2, "1": 3, "2": 3}),
        "social-media": change(hidden(4), None),
    },
    "mentor_pedagogy_change": change(figure(0.5, 7), {"0": 4, "1": 3}),
    "mentor_confidence_change": change(hidden(3), None),
    "understanding_change": change(figure(0.45, 20), {"-1": 1, "0": 10, "1": 8, "2": 1}),
}

#: What suppression hides, put back in: none of it may reach any export.
WOULD_BE = ("31.25", "0.875", "1.625", "907", "803", "71")


def leaky() -> dict[str, Any]:
    out = copy.deepcopy(REPORT)
    out["funnel"][3]["value"] = 71
    out["days_enrolment_to_first_session"]["value"] = 31.25
    out["mentor_confidence_change"] = change({**hidden(3), "value": 0.875}, {"3": 907})
    out["mentee_skill_change"]["social-media"] = change({**hidden(4), "value": -1.625}, {"-4": 803})
    return out


def no_data() -> dict[str, Any]:
    return figure(None, 0)


EMPTY: dict[str, Any] = {
    "programme_id": "empty-programme",
    "generated_at": "2026-11-26T10:00:00Z",
    "min_group_size": 5,
    "funnel": [
        stage(role, name, 0)
        for role in ("mentee", "mentor")
        for name in ("enrolled", "certified", "matched", "met", "completed")
        if (role, name) != ("mentee", "certified")
    ],
    "sessions_held": figure(0, 0),
    "average_usefulness": no_data(),
    "nps": no_data(),
    "days_enrolment_to_first_session": no_data(),
    "mentee_skill_change": {},
    "mentor_pedagogy_change": change(no_data(), {}),
    "mentor_confidence_change": change(no_data(), {}),
    "understanding_change": change(no_data(), {}),
}


# -- the proto message ---------------------------------------------------------------------------
def pb_figure(data: dict[str, Any]) -> pb.Figure:
    msg = pb.Figure(people=data["people"], suppressed=data["suppressed"])
    if data["value"] is not None:
        msg.value = float(data["value"])
    return msg


def pb_change(data: dict[str, Any]) -> pb.Change:
    distribution = {int(k): v for k, v in (data["distribution"] or {}).items()}
    return pb.Change(mean=pb_figure(data["mean"]), distribution=distribution)


def message(data: dict[str, Any]) -> pb.OutcomesReport:
    return pb.OutcomesReport(
        programme_id=data["programme_id"],
        generated_at=data["generated_at"],
        min_group_size=data["min_group_size"],
        funnel=[
            pb.FunnelStage(role=s["role"], stage=s["stage"], count=pb_figure(s))
            for s in data["funnel"]
        ],
        sessions_held=data["sessions_held"]["value"] or 0,
        sessions=pb_figure(data["sessions_held"]),
        average_usefulness=pb_figure(data["average_usefulness"]),
        nps=pb_figure(data["nps"]),
        days_enrolment_to_first_session=pb_figure(data["days_enrolment_to_first_session"]),
        mentee_skill_change={t: pb_change(c) for t, c in data["mentee_skill_change"].items()},
        mentor_pedagogy_change=pb_change(data["mentor_pedagogy_change"]),
        mentor_confidence_change=pb_change(data["mentor_confidence_change"]),
        understanding_change=pb_change(data["understanding_change"]),
    )


@pytest.mark.parametrize("data", [REPORT, EMPTY], ids=["with-data", "empty"])
def test_the_message_becomes_exactly_the_report_dict(data: dict[str, Any]) -> None:
    converted = report.report_from_message(message(data))
    assert converted == data
    assert isinstance(converted["funnel"][0]["value"], int)
    assert all(isinstance(k, str) for k in converted["understanding_change"]["distribution"])


def test_a_value_sent_with_a_suppressed_figure_is_dropped() -> None:
    msg = message(REPORT)
    msg.nps.suppressed = True
    msg.mentor_confidence_change.mean.value = 0.875
    msg.mentor_confidence_change.distribution[3] = 907
    converted = report.report_from_message(msg)
    assert converted["nps"] == {"value": None, "people": 12, "suppressed": True}
    assert converted["mentor_confidence_change"]["mean"]["value"] is None
    assert converted["mentor_confidence_change"]["distribution"] is None


def test_sessions_held_sent_suppressed_is_dropped_and_an_older_server_is_read() -> None:
    msg = message(REPORT)
    msg.sessions.suppressed = True  # a would-be value must not come through
    assert report.report_from_message(msg)["sessions_held"] == {
        "value": None,
        "people": 16,
        "suppressed": True,
    }
    older = message(REPORT)
    older.ClearField("sessions")  # a server from before the figure: the bare count
    assert report.report_from_message(older)["sessions_held"] == figure(42, 0)


def test_an_unset_message_is_a_report_without_data() -> None:
    converted = report.report_from_message(pb.OutcomesReport(programme_id="p"))
    assert converted["funnel"] == [] and converted["mentee_skill_change"] == {}
    assert converted["nps"] == {"value": None, "people": 0, "suppressed": False}
    assert converted["understanding_change"] == change(no_data(), {})
    assert "no data yet" in report.to_text(converted)
    assert report.chart(converted, "funnel", "svg").startswith(b"<?xml")


# -- JSON and CSV ---------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [REPORT, EMPTY], ids=["with-data", "empty"])
def test_json_round_trips_with_sorted_keys(data: dict[str, Any]) -> None:
    text = report.to_json(data)
    assert text.endswith("}\n") and text.startswith('{\n  "')
    assert json.loads(text) == data
    assert list(json.loads(text)) == sorted(data)


def csv_rows(text: str) -> dict[tuple[str, str], dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == ["section", "name", "value", "people", "suppressed"]
    rows = list(reader)
    keyed = {(row["section"], row["name"]): row for row in rows}
    assert len(keyed) == len(rows), "one row per figure"
    return keyed


def test_csv_has_one_row_per_figure_and_the_distributions() -> None:
    rows = csv_rows(report.to_csv(REPORT))

    def cells(section: str, name: str) -> tuple[str, str, str]:
        row = rows[(section, name)]
        return row["value"], row["people"], row["suppressed"]

    assert cells("funnel", "mentee.enrolled") == ("12", "12", "false")
    assert cells("funnel", "mentor.certified") == ("9", "9", "false")
    assert cells("summary", "sessions_held") == ("42", "16", "false")
    assert cells("summary", "average_usefulness") == ("4.21", "18", "false")
    assert cells("summary", "nps") == ("33.3", "12", "false")
    assert cells("skill_change", "generative-ai") == ("1.2", "8", "false")
    assert cells("skill_change", "data-literacy") == ("-0.4", "5", "false")
    assert cells("mentor_change", "pedagogy") == ("0.5", "7", "false")
    assert cells("understanding_change", "all") == ("0.45", "20", "false")
    assert cells("distribution", "skill_change.generative-ai.2") == ("3", "", "")
    assert cells("distribution", "skill_change.data-literacy.-1") == ("2", "", "")
    assert cells("distribution", "understanding_change.all.0") == ("10", "", "")
    assert cells("distribution", "mentor_change.pedagogy.1") == ("3", "", "")
    assert len(rows) == 9 + 4 + 3 + 2 + 1 + 2 + 3 + 2 + 4  # figures, then distributions


def test_csv_suppressed_figures_have_empty_cells_and_no_distribution() -> None:
    rows = csv_rows(report.to_csv(leaky()))
    suppressed = {key for key, row in rows.items() if row["suppressed"] == "true"}
    assert suppressed == {
        ("funnel", "mentee.completed"),
        ("funnel", "mentor.completed"),
        ("summary", "days_enrolment_to_first_session"),
        ("skill_change", "social-media"),
        ("mentor_change", "confidence"),
    }
    for key in suppressed:
        assert rows[key]["value"] == "" and rows[key]["people"] == "", key
    names = {name for section, name in rows if section == "distribution"}
    assert not [n for n in names if n.startswith(("skill_change.social-media.", "mentor_change.c"))]


def test_csv_of_the_empty_report_has_every_figure_without_numbers() -> None:
    rows = csv_rows(report.to_csv(EMPTY))
    assert rows[("funnel", "mentee.enrolled")]["value"] == "0"
    assert rows[("summary", "nps")] == {
        "section": "summary",
        "name": "nps",
        "value": "",
        "people": "0",
        "suppressed": "false",
    }
    assert not [key for key in rows if key[0] in ("distribution", "skill_change")]


# -- nothing suppressed leaks ------------------------------------------------------------------
@pytest.mark.parametrize(
    "export",
    [
        report.to_json,
        report.to_csv,
        report.to_text,
        lambda r: report.chart(r, "funnel", "svg").decode(),
        lambda r: report.chart(r, "skills", "svg").decode(),
    ],
    ids=["json", "csv", "text", "funnel-svg", "skills-svg"],
)
def test_would_be_values_of_suppressed_figures_never_appear(export: Any) -> None:
    clean, dirty = export(REPORT), export(leaky())
    assert dirty == clean
    for value in WOULD_BE:
        assert not re.search(rf"(?<![\d.]){re.escape(value)}(?![\d.])", clean), value


@pytest.mark.parametrize(
    "export",
    [
        report.to_csv,
        report.to_text,
        lambda r: report.chart(r, "funnel", "svg"),
        lambda r: report.chart(r, "skills", "svg"),
    ],
    ids=["csv", "text", "funnel-svg", "skills-svg"],
)
def test_readable_exports_do_not_depend_on_how_many_people_a_suppressed_figure_has(
    export: Any,
) -> None:
    """For a funnel stage the people count *is* the figure."""
    other = copy.deepcopy(REPORT)
    other["funnel"][3]["people"] = 1
    other["mentee_skill_change"]["social-media"]["mean"]["people"] = 2
    other["mentor_confidence_change"]["mean"]["people"] = 1
    assert export(other) == export(REPORT)


@pytest.mark.parametrize("export", [report.to_json, report.to_csv, report.to_text])
def test_suppressed_sessions_held_is_a_gap_like_any_suppressed_figure(export: Any) -> None:
    """How many sessions were held tells how many people met: hidden with them."""
    clean = copy.deepcopy(REPORT)
    clean["sessions_held"] = hidden(0)
    dirty = copy.deepcopy(clean)
    dirty["sessions_held"]["value"] = 4242
    assert export(dirty) == export(clean) and "4242" not in export(clean)


def test_suppressed_sessions_held_reads_as_suppressed() -> None:
    data = copy.deepcopy(REPORT)
    data["sessions_held"] = hidden(0)
    assert csv_rows(report.to_csv(data))[("summary", "sessions_held")]["suppressed"] == "true"
    line = next(ln for ln in report.to_text(data).splitlines() if "Sessions held" in ln)
    assert line == f"  {'Sessions held':<38}{NOTE}"
    assert json.loads(report.to_json(data))["sessions_held"] == hidden(0)


# -- text ---------------------------------------------------------------------------------------
def test_text_reads_as_a_report() -> None:
    text = report.to_text(REPORT)
    lines = text.splitlines()
    assert lines[0] == f"Outcomes report - programme {PROGRAMME}"
    assert text.endswith("\n")

    def line(start: str, after: str = "") -> str:
        begin = next(i for i, ln in enumerate(lines) if after in ln) if after else 0
        return next(ln for ln in lines[begin:] if ln.strip().startswith(start))

    assert re.fullmatch(r"\s+enrolled\s+12\s+100%", line("enrolled", "Mentees"))
    assert re.fullmatch(r"\s+matched\s+10\s+83%", line("matched", "Mentees"))
    assert re.fullmatch(r"\s+certified\s+9\s+82%", line("certified", "Mentors"))
    assert line("completed", "Mentees").strip() == f"completed{' ' * 27}{NOTE}"
    assert re.fullmatch(r"\s+Sessions held\s+42   16 people", line("Sessions held"))
    assert re.search(r"4\.21 / 5\s+18 people", line("Average usefulness"))
    assert re.search(r"\+33\.3\s+12 people", line("Net promoter score"))
    assert line("Days from enrolment").endswith(NOTE)
    assert re.search(r"\+1\.20\s+8 people\s+0:2\s+\+1:3\s+\+2:3", line("generative-ai"))
    assert re.search(r"-0\.40\s+5 people\s+-1:2\s+0:3", line("data-literacy"))
    assert line("social-media").endswith(NOTE)
    assert line("Mentors' coaching confidence").endswith(NOTE)
    assert re.search(r"\+0\.45\s+20 people", line("Intergenerational understanding"))
    # values line up: every number in the value column ends at the same place
    ends = {m.end(1) for ln in lines if (m := re.search(r"(\S+)   \d+ people", ln))}
    assert len(ends) == 1


def test_text_never_shows_a_number_on_a_suppressed_line() -> None:
    lines = [ln for ln in report.to_text(leaky()).splitlines() if "suppressed (" in ln]
    assert len(lines) == 5
    for line in lines:
        assert not re.search(r"\d", line.replace(NOTE, "")), line


def test_text_of_the_empty_report_says_no_data_yet() -> None:
    text = report.to_text(EMPTY)
    assert "suppressed (" not in text
    assert text.count("no data yet") == 7  # 3 summary figures, skills, 3 other changes
    assert re.search(r"\s+enrolled\s+0\s+-", text)


# -- charts -------------------------------------------------------------------------------------
def svg_texts(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)
    return [
        "".join(el.itertext()).strip() for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "text"
    ]


def test_funnel_svg_has_stage_labels_and_marks_suppressed_stages() -> None:
    texts = svg_texts(report.chart(REPORT, "funnel", "svg"))
    for label in ("enrolled", "certified", "matched", "met", "completed", "12", "9"):
        assert label in texts
    assert texts.count("suppressed") == 3  # two stages and the legend
    assert any(PROGRAMME in t for t in texts)
    assert any("2026-11-26T10:00:00Z" in t for t in texts)


def test_skills_svg_has_topics_means_and_gaps() -> None:
    texts = svg_texts(report.chart(REPORT, "skills", "svg"))
    for label in ("data-literacy", "generative-ai", "social-media", NOTE):
        assert label in texts
    assert "+1.20 (8 people)" in texts and "-0.40 (5 people)" in texts


@pytest.mark.parametrize("kind", ["funnel", "skills"])
def test_empty_report_charts_say_no_data_yet(kind: str) -> None:
    assert "no data yet" in svg_texts(report.chart(EMPTY, kind, "svg"))
    assert report.chart(EMPTY, kind, "png").startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("kind", ["funnel", "skills"])
def test_png_is_a_plausible_image(kind: str) -> None:
    png = report.chart(REPORT, kind, "png")
    assert png.startswith(PNG_SIGNATURE) and 5_000 < len(png) < 1_000_000
    width, height = struct.unpack(">II", png[16:24])  # IHDR
    assert width == 1200 and 500 <= height <= 1500


def test_charts_are_reproducible_and_leave_matplotlib_as_they_found_it() -> None:
    before = dict(matplotlib.rcParams)
    first = report.chart(REPORT, "funnel", "svg")
    report.chart(REPORT, "skills", "png")
    assert report.chart(REPORT, "funnel", "svg") == first
    assert report.chart(REPORT, "funnel", "png") == report.chart(REPORT, "funnel", "png")
    assert dict(matplotlib.rcParams) == before
    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0


def test_unknown_chart_kind_or_format_is_refused() -> None:
    with pytest.raises(ValueError, match="funnel"):
        report.chart(REPORT, "pie", "svg")
    with pytest.raises(ValueError, match="svg or png"):
        report.chart(REPORT, "funnel", "pdf")


# -- the CLI ------------------------------------------------------------------------------------
def test_report_arguments_parse() -> None:
    args = build_parser().parse_args(
        [
            *("report", "P1", "--format", "svg", "--chart", "skills", "--output", "s.svg"),
            *("--target", "127.0.0.1:50055", "--token", "jwt"),
        ]
    )
    assert (args.command, args.programme_id, args.format, args.chart) == (
        "report",
        "P1",
        "svg",
        "skills",
    )
    assert (args.output, args.target, args.token) == (Path("s.svg"), "127.0.0.1:50055", "jwt")
    bare = build_parser().parse_args(["report", "P1"])
    assert (bare.format, bare.chart, bare.output, bare.target, bare.token) == (None,) * 5
    with pytest.raises(SystemExit):
        build_parser().parse_args(["report", "P1", "--format", "pdf"])


def test_format_follows_the_output_suffix_unless_given() -> None:
    assert cli.choose_format(None, None, None) == ("text", "funnel")
    assert cli.choose_format(None, None, Path("out.PNG")) == ("png", "funnel")
    assert cli.choose_format(None, "skills", Path("out.svg")) == ("svg", "skills")
    assert cli.choose_format(None, None, Path("out.csv")) == ("csv", "funnel")
    assert cli.choose_format("json", None, Path("out.txt")) == ("json", "funnel")


def test_a_chart_without_output_is_refused_before_any_call() -> None:
    with pytest.raises(CliError, match=r"--output FILE\.svg"):
        cli.run(PROGRAMME, "x", None, "127.0.0.1:1", "svg")
    with pytest.raises(CliError, match="--chart"):
        cli.run(PROGRAMME, "x", None, "127.0.0.1:1", "csv", "skills")


def test_main_prints_the_refusal_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", PROGRAMME, "--format", "png", "--target", "127.0.0.1:1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("revmentor: error:") and "--output" in err and "Traceback" not in err


class FakeFeedback(pb_grpc.FeedbackServiceServicer):
    """Answers GetOutcomesReport with REPORT for PROGRAMME; NOT_FOUND or refusal otherwise."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def GetOutcomesReport(
        self, request: pb.GetOutcomesReportRequest, context: grpc.ServicerContext
    ) -> pb.OutcomesReport:
        self.calls.append((request.programme_id, dict(context.invocation_metadata())))
        if request.programme_id == "forbidden":
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "not your programme")
        if request.programme_id != PROGRAMME:
            context.abort(grpc.StatusCode.NOT_FOUND, "no such programme")
        return message(REPORT)


@pytest.fixture
def feedback(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, FakeFeedback]]:
    """A plaintext sync gRPC server on a free port: (address, servicer)."""
    for name in ("GRPC_TLS_CA", "GRPC_TLS_CLIENT_CERT", "GRPC_TLS_CLIENT_KEY"):
        monkeypatch.delenv(name, raising=False)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = FakeFeedback()
    pb_grpc.add_FeedbackServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", servicer
    finally:
        server.stop(grace=None)


def test_report_command_prints_the_text_report(
    feedback: tuple[str, FakeFeedback], capsys: pytest.CaptureFixture[str]
) -> None:
    address, servicer = feedback
    assert main(["report", PROGRAMME, "--target", address, "--token", "x"]) == 0
    assert capsys.readouterr().out == report.to_text(REPORT)
    programme, metadata = servicer.calls[0]
    assert programme == PROGRAMME and metadata["authorization"] == "Bearer x"


def test_fetch_report_gives_the_dict(feedback: tuple[str, FakeFeedback]) -> None:
    assert cli.fetch_report(PROGRAMME, "x", feedback[0]) == REPORT


@pytest.mark.parametrize("fmt", ["json", "csv", "svg", "png"])
def test_report_command_writes_files(
    feedback: tuple[str, FakeFeedback],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fmt: str,
) -> None:
    output = tmp_path / f"outcomes.{fmt}"
    assert cli.run(PROGRAMME, "x", output, feedback[0], fmt) == 0
    expected = {
        "json": lambda: report.to_json(REPORT).encode(),
        "csv": lambda: report.to_csv(REPORT).encode(),
        "svg": lambda: report.chart(REPORT, "funnel", "svg"),
        "png": lambda: report.chart(REPORT, "funnel", "png"),
    }[fmt]()
    assert output.read_bytes() == expected
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(output.stat().st_mode) == 0o644 & ~umask
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().startswith("wrote ") and str(output) in captured.err


def test_report_command_writes_the_skills_chart(
    feedback: tuple[str, FakeFeedback], tmp_path: Path
) -> None:
    output = tmp_path / "skills.svg"
    assert cli.run(PROGRAMME, "x", output, feedback[0], None, "skills") == 0
    assert "generative-ai" in svg_texts(output.read_bytes())


def test_unknown_programme_tells_how_to_list_them(feedback: tuple[str, FakeFeedback]) -> None:
    with pytest.raises(CliError) as raised:
        cli.run("00000000-0000-4000-8000-000000000000", "x", None, feedback[0])
    assert raised.value.exit_code == 1
    assert "feedback knows no programme 00000000-0000-4000-8000-000000000000" in str(raised.value)
    assert "`revmentor enrol programmes`" in str(raised.value)


def test_refusal_names_the_code_and_what_to_do(feedback: tuple[str, FakeFeedback]) -> None:
    with pytest.raises(CliError, match=r"PERMISSION_DENIED: not your programme; .*token"):
        cli.run("forbidden", "x", None, feedback[0])


def test_unreachable_feedback_says_how_to_start_it() -> None:
    with pytest.raises(CliError, match="cannot reach the feedback service") as raised:
        cli.fetch_report(PROGRAMME, "x", "127.0.0.1:1")
    assert raised.value.exit_code == 2
