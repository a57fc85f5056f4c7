"""``revmentor report PROGRAMME_ID``: a programme's outcomes, for a terminal, a file or a slide.

Asks the feedback service for the outcomes report (aggregates only; any figure
over fewer than the programme's minimum group is suppressed by the service) and
renders it with :mod:`revmentor.feedback.report`: readable text, JSON, CSV, or
an SVG/PNG chart of the funnel or of the mentees' skill change. Text formats go
to standard output unless ``--output`` is given; charts always go to a file.
Without ``--format`` the format follows the suffix of ``--output`` (text when
there is none), so ``--output funnel.svg`` is enough for a chart.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import grpc

from revmentor.cli.common import EXIT_FAILED, EXIT_UNREACHABLE, LOST, CliError
from revmentor.cli.endpoints import require_reachable, service_target, unreachable_message
from revmentor.cli.importer import bearer, refused_message
from revmentor.feedback import report as render
from revmentor.feedback.v1 import feedback_pb2 as pb
from revmentor.feedback.v1 import feedback_pb2_grpc as pb_grpc
from revmentor.kernel.tls import secure_channel

TOOL = "cli:report"
FORMATS = ("text", "json", "csv", "svg", "png")
CHARTS = ("funnel", "skills")
BINARY = ("svg", "png")
SUFFIXES = {".txt": "text", ".json": "json", ".csv": "csv", ".svg": "svg", ".png": "png"}


def fetch_report(programme_id: str, token: str | None, target: str | None = None) -> dict[str, Any]:
    """The programme's outcomes report as a dict; CliError saying what to do on failure."""
    metadata = bearer(token, TOOL)
    address, source = service_target("feedback", target)
    require_reachable("feedback", address, source)
    with secure_channel(address) as channel:
        try:
            reply = pb_grpc.FeedbackServiceStub(channel).GetOutcomesReport(
                pb.GetOutcomesReportRequest(programme_id=programme_id),
                metadata=metadata,
                timeout=30,
            )
        except grpc.RpcError as error:
            raise failure(error, programme_id, address, source) from None
    return render.report_from_message(reply)


def failure(error: grpc.RpcError, programme_id: str, address: str, source: str) -> CliError:
    """The message for a refused call: what went wrong and what to do next."""
    code = error.code()  # type: ignore[attr-defined]
    if code == grpc.StatusCode.NOT_FOUND:
        return CliError(
            f"feedback knows no programme {programme_id} you may see: "
            "`revmentor enrol programmes` lists them",
            EXIT_FAILED,
        )
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        details = error.details()  # type: ignore[attr-defined]
        return CliError(
            f"feedback: {details}; `revmentor enrol programmes` lists the programme ids",
            EXIT_FAILED,
        )
    if code in LOST:
        reason = f"{code.name}: {error.details()}"  # type: ignore[attr-defined]
        return CliError(unreachable_message("feedback", address, source, reason), EXIT_UNREACHABLE)
    return CliError(f"feedback: {refused_message(error)}", EXIT_FAILED)


def choose_format(fmt: str | None, chart: str | None, output: Path | None) -> tuple[str, str]:
    """(format, chart kind), checked before anything is fetched."""
    fmt = fmt or SUFFIXES.get(output.suffix.lower() if output else "", "text")
    if fmt in BINARY and output is None:
        raise CliError(
            f"a {fmt.upper()} chart is binary and goes to a file: add --output FILE.{fmt}"
        )
    if chart and fmt not in BINARY:
        raise CliError(
            f"--chart picks the chart of --format svg or png, not {fmt}: "
            f"add --format svg --output {chart}.svg"
        )
    return fmt, chart or "funnel"


def rendered(report: dict[str, Any], fmt: str, chart: str) -> bytes:
    """The report in ``fmt`` as the bytes to write (UTF-8 for the text formats)."""
    if fmt in BINARY:
        return render.chart(report, chart, fmt)
    text = {"text": render.to_text, "json": render.to_json, "csv": render.to_csv}[fmt]
    return text(report).encode("utf-8")


def write(output: Path, data: bytes) -> None:
    """Aggregates only, nothing personal: readable by others like any report (0644)."""
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except OSError as error:
        reason = error.strerror or str(error)
        raise CliError(f"cannot write {output}: {reason}; choose another --output") from None


def run(
    programme_id: str,
    token: str | None,
    output: Path | None,
    target: str | None,
    fmt: str | None = None,
    chart: str | None = None,
) -> int:
    fmt, chart = choose_format(fmt, chart, output)
    report = fetch_report(programme_id, token, target)
    data = rendered(report, fmt, chart)
    if output is None:
        sys.stdout.write(data.decode("utf-8"))
        sys.stdout.flush()
        return 0
    write(output, data)
    what = f"the {chart} chart" if fmt in BINARY else "the outcomes report"
    print(f"wrote {what} of programme {programme_id} to {output} ({fmt})", file=sys.stderr)
    return 0
