"""The ``revmentor`` command: argument parsing and dispatch.

    revmentor up [--no-seed] [--var DIR] [--nats-port N] [--secure]
                 [--replicas N --postgres DSN] [--nats-cluster N]
    revmentor token --role ROLE --sub ID [--programme ID ...] [--employee-id E]
                    [--service NAME] [--ttl SECONDS] [--var DIR]
    revmentor enrol import FILE.csv --programme ID [--target HOST:PORT] [--token JWT]
    revmentor enrol programmes [--target HOST:PORT] [--token JWT]
    revmentor participant export|erase PARTICIPANT_ID ...
    revmentor calendar PARTICIPANT_ID [--output FILE.ics] [--target HOST:PORT] [--token JWT]
    revmentor report PROGRAMME_ID [--format text|json|csv|svg|png] [--chart funnel|skills]
                     [--output FILE] [--target HOST:PORT] [--token JWT]
    revmentor events tail [SUBJECT ...] [--since TIME | --from-seq N | --new] [--json]
                          [--limit N] [--until-idle SECONDS] [--dlq] [--nats URL]
                          [--user U --password P | --credentials FILE]
    revmentor audit verify [--service S] [--json] [--token JWT]
    revmentor audit replay --programme P [--at TIME] [--service S] [--json]
    revmentor audit timeline (--programme P | --participant X) [--format F] [--output FILE]
    revmentor audit rematch --round R [--json]
    revmentor bootstrap [--nats URL] [--stream-replicas N] [--wait SECONDS]

Calls to a service carry a bearer token: ``--token``, else ``REVMENTOR_TOKEN``,
else a short-lived admin token the tool mints from the development key that
``revmentor up`` keeps under ``var/secrets/``.

Expected failures print what to do next and exit non-zero, without a traceback:
1 for bad input or a failed start, 2 when a service cannot be reached.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from revmentor.cli.common import CliError, emit
from revmentor.kernel.auth import ROLES

IMPORT_EPILOG = """\
The CSV file (UTF-8, comma-separated) starts with this header; every column
must be there, in any order:

  employee_id,role,display_name,email,birth_year,department,manager_employee_id,
  site,time_zone,languages,skills,needs,availability,meeting_preference,consent,
  notice_version

  role                mentor | mentee
  birth_year          e.g. 1971
  manager_employee_id the manager's employee id, empty when none
  time_zone           IANA name, e.g. Europe/Paris
  languages           en;fr              (BCP 47 tags, ';'-separated)
  skills              mentors: generative-ai:3;social-media
                      (topic codes, each with an optional :level,
                      1 = basics ... 3 = expert; 2 when left out)
  needs               mentees: generative-ai:1;data-literacy:2
                      (topic:priority, 1 = must ... 3 = nice to have)
  availability        Mon 09:00-11:00;Wed 14:00-16:00   (local time)
  meeting_preference  in_person | virtual | either
  consent             yes | no
  notice_version      the privacy notice consented to, e.g. privacy-2026-03

Every row is checked; each bad row is reported as
  line N (employee E123): column: reason; column: reason
and the good rows are enrolled. Re-running is safe: an employee already in
the programme is updated when the row differs, otherwise left unchanged.

Exit status: 0 all rows imported, 1 some rows rejected (fix them and re-run)
or the file/programme is unusable, 2 the enrolment service is unreachable.
The target defaults to the enrolment address in var/run/endpoints.json
(written by `revmentor up`), else 127.0.0.1:50051.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="revmentor",
        description="revmentor: reverse-mentoring programmes, run locally and fed from HR data.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    up = commands.add_parser(
        "up",
        help="start NATS and every service locally (what `make run` does)",
        description=(
            "Start NATS (unless NATS_URL is set), declare the streams, start every service, "
            "wait until all are healthy, seed a demo programme into an empty platform and "
            "write var/run/endpoints.json. Ctrl-C stops everything."
        ),
    )
    up.add_argument(
        "--var",
        type=Path,
        default=None,
        metavar="DIR",
        help="where stores, logs and endpoints.json live (default: $REVMENTOR_VAR_DIR or ./var)",
    )
    up.add_argument(
        "--no-seed",
        action="store_true",
        help="do not create the demo programme (also: REVMENTOR_SEED=0)",
    )
    up.add_argument(
        "--secure",
        action="store_true",
        help="run NATS with one user per service (publish only on its own subjects), a "
        "read-only integrator and an admin; credentials in var/secrets/nats-credentials.json",
    )
    up.add_argument(
        "--nats-port",
        type=int,
        default=4222,
        metavar="N",
        help="preferred NATS port; a free one is used when it is taken (default: 4222)",
    )
    up.add_argument(
        "--replicas",
        type=int,
        default=1,
        metavar="N",
        help="processes per service, sharing one store (needs --postgres); a replica that "
        "dies is restarted, as Kubernetes would (default: 1)",
    )
    up.add_argument(
        "--postgres",
        metavar="DSN",
        help="store events in this PostgreSQL database (one schema per service, made if "
        "missing), e.g. postgresql://postgres@127.0.0.1:5432/revmentor (default: SQLite in --var)",
    )
    up.add_argument(
        "--nats-cluster",
        type=int,
        default=1,
        metavar="N",
        help="run N nats-server nodes on loopback as one JetStream cluster, streams "
        "replicated on min(N, 3) nodes; a node that dies is restarted (default: 1)",
    )

    add_token_parser(commands)
    add_participant_parser(commands)
    add_calendar_parser(commands)
    add_report_parser(commands)
    add_events_parser(commands)
    add_audit_parser(commands)
    add_bootstrap_parser(commands)
    enrol = commands.add_parser("enrol", help="enrolment: programmes and participants")
    enrol_commands = enrol.add_subparsers(dest="enrol_command", metavar="COMMAND", required=True)
    target_help = (
        "enrolment service address (default: from var/run/endpoints.json, else 127.0.0.1:50051)"
    )
    bulk = enrol_commands.add_parser(
        "import",
        help="enrol participants from an HR export (CSV); safe to re-run",
        description="Enrol the participants of a CSV file into one programme.",
        epilog=IMPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bulk.add_argument("file", type=Path, metavar="FILE.csv", help="the HR export")
    bulk.add_argument(
        "--programme", required=True, metavar="ID", help="programme id (see `enrol programmes`)"
    )
    bulk.add_argument("--target", metavar="HOST:PORT", help=target_help)
    bulk.add_argument("--token", metavar="JWT", help=TOKEN_HELP)

    listing = enrol_commands.add_parser("programmes", help="list programmes with their ids")
    listing.add_argument("--target", metavar="HOST:PORT", help=target_help)
    listing.add_argument("--token", metavar="JWT", help=TOKEN_HELP)
    return parser


TOKEN_HELP = (
    "bearer token for the service (default: $REVMENTOR_TOKEN, else an admin token "
    "minted from the development key of `revmentor up`)"
)


def add_participant_parser(commands: Any) -> None:
    participant = commands.add_parser(
        "participant", help="personal data: export (GDPR art. 15/20) or erase (art. 17)"
    )
    actions = participant.add_subparsers(
        dest="participant_command", metavar="COMMAND", required=True
    )
    export = actions.add_parser(
        "export", help="everything every service holds about one participant, as JSON"
    )
    export.add_argument("participant_id", metavar="PARTICIPANT_ID")
    export.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="write to FILE (mode 0600) instead of standard output",
    )
    export.add_argument("--token", metavar="JWT", help=TOKEN_HELP)
    erase = actions.add_parser(
        "erase", help="destroy a participant's personal data in every service (irreversible)"
    )
    erase.add_argument("participant_id", metavar="PARTICIPANT_ID")
    erase.add_argument(
        "--reason", required=True, help="why, e.g. a GDPR request reference (1-500 characters)"
    )
    erase.add_argument("--token", metavar="JWT", help=TOKEN_HELP)


def add_calendar_parser(commands: Any) -> None:
    calendar = commands.add_parser(
        "calendar",
        help="a participant's mentoring sessions as an iCalendar (.ics) file",
        description=(
            "Fetch the participant's sessions from the scheduling service as RFC 5545 "
            "iCalendar: stable UIDs, SEQUENCE bumped on every change, cancelled sessions "
            "marked STATUS:CANCELLED, times in the zone each session was booked in."
        ),
    )
    calendar.add_argument("participant_id", metavar="PARTICIPANT_ID")
    calendar.add_argument(
        "--output", type=Path, metavar="FILE.ics", help="write to FILE (mode 0600), not stdout"
    )
    calendar.add_argument(
        "--target",
        metavar="HOST:PORT",
        help="scheduling service address (default: from var/run/endpoints.json)",
    )
    calendar.add_argument("--token", metavar="JWT", help=TOKEN_HELP)


def add_report_parser(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="a programme's outcomes report: text, JSON, CSV or an SVG/PNG chart",
        description=(
            "Fetch a programme's outcomes report from the feedback service: the funnel "
            "of mentees and mentors, sessions, usefulness, NPS and the change in skills, "
            "pedagogy and understanding. Aggregates only: any figure about fewer people "
            "than the programme's minimum group is shown as suppressed, never as a number."
        ),
    )
    report.add_argument("programme_id", metavar="PROGRAMME_ID")
    report.add_argument(
        "--format",
        choices=("text", "json", "csv", "svg", "png"),
        help="text (default), json, csv, or a chart: svg or png (needs --output); "
        "without it, the suffix of --output decides",
    )
    report.add_argument(
        "--chart",
        choices=("funnel", "skills"),
        help="which chart for svg/png: the participation funnel (default) or the "
        "mentees' skill change by topic",
    )
    report.add_argument(
        "--output", type=Path, metavar="FILE", help="write to FILE (mode 0644), not stdout"
    )
    report.add_argument(
        "--target",
        metavar="HOST:PORT",
        help="feedback service address (default: from var/run/endpoints.json, "
        "else 127.0.0.1:50055)",
    )
    report.add_argument("--token", metavar="JWT", help=TOKEN_HELP)


def add_events_parser(commands: Any) -> None:
    from revmentor.cli import events

    group = commands.add_parser(
        "events", help="the integration events on NATS, as an integrator reads them"
    )
    actions = group.add_subparsers(dest="events_command", metavar="COMMAND", required=True)
    tail = actions.add_parser(
        "tail",
        help="print the events of every stream (or SUBJECTs), then follow",
        description=(
            "Read the revmentor JetStream streams without creating anything on the server, "
            "decode each message as a CloudEvent and print one line (or JSON object) per "
            "event: each stream in its own order, the streams merged by event time."
        ),
        epilog=events.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    events.add_arguments(tail)


AUDIT_EPILOG = """\
Each service recomputes the hash chain over its stored events and compares it
with its chain table and its signed checkpoints on the REVMENTOR_AUDIT stream;
the first position that cannot be trusted is reported with the reason.

Exit status: 0 every service verified ok; 1 a break, a rejected checkpoint or a
refused call; 2 a service (or the NATS it reads its checkpoints from) could not
be reached - start the platform with `make run` (or `revmentor up`). A break
wins over an unreachable service: 1.
"""


def add_audit_parser(commands: Any) -> None:
    group = commands.add_parser(
        "audit", help="for auditors: verify, replay, timeline and rematch the stored history"
    )
    actions = group.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    verify = actions.add_parser(
        "verify",
        help="check each service's stored events against its chain and signed checkpoints",
        description=(
            "Ask every service (or --service) to verify its event store and print one line "
            "per service: ok, or the first position that cannot be trusted and why."
        ),
        epilog=AUDIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("--service", metavar="S", help="only this service (default: every one)")
    verify.add_argument("--json", action="store_true", help="one JSON document, not lines")
    verify.add_argument(
        "--token",
        metavar="JWT",
        help="bearer token of an admin or auditor (default: $REVMENTOR_TOKEN, else an "
        "auditor token minted from the development key of `revmentor up`)",
    )
    add_audit_history_parsers(actions)


def add_audit_history_parsers(actions: Any) -> None:
    """replay, timeline and rematch: the programme's history as the events tell it."""
    replay = actions.add_parser(
        "replay",
        help="the programme's state at an instant, rebuilt from every service's events",
        description=(
            "Rebuild the programme's state in every service purely from its stored events, "
            "as it was at --at (default: now, when it is compared with the live state)."
        ),
    )
    replay.add_argument("--programme", required=True, metavar="P", help="programme id")
    replay.add_argument(
        "--at",
        metavar="TIME",
        help="RFC 3339 instant, e.g. 2026-03-01T09:00:00Z (default: now, compared with live)",
    )
    replay.add_argument("--service", metavar="S", help="only this service (default: every one)")
    replay.add_argument("--json", action="store_true", help="one JSON document, not text")
    timeline = actions.add_parser(
        "timeline",
        help="one chronological timeline across the services, with actor and causation",
        description=(
            "Every stored event of a programme or a participant, from every service, in "
            "time order, with who did it, its correlation and what caused it."
        ),
    )
    whose = timeline.add_mutually_exclusive_group(required=True)
    whose.add_argument("--programme", metavar="P", help="programme id")
    whose.add_argument("--participant", metavar="X", help="participant id")
    timeline.add_argument(
        "--format", choices=("text", "json", "html"), default="text", help="(default: text)"
    )
    timeline.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    rematch = actions.add_parser(
        "rematch",
        help="re-run a recorded matching round from history and compare the pairs",
        description=(
            "Ask matching to re-run round R on the pool and the enrolment attributes as they "
            "were when it ran, and show whether it yields the same pairs."
        ),
    )
    rematch.add_argument("--round", dest="round_id", required=True, metavar="R", help="round id")
    rematch.add_argument("--json", action="store_true", help="one JSON document, not text")
    for parser in (replay, timeline, rematch):
        parser.add_argument(
            "--token",
            metavar="JWT",
            help="bearer token of an admin or auditor (default: $REVMENTOR_TOKEN, else an "
            "auditor token minted from the development key of `revmentor up`)",
        )


def add_token_parser(commands: Any) -> None:
    token = commands.add_parser(
        "token",
        help="print a token signed with the development key, for trying the APIs",
        description=(
            "Mint a JWT that the services started by `revmentor up` accept; use it as "
            "gRPC metadata 'authorization: Bearer <token>'. The claims are described in "
            "revmentor.kernel.auth."
        ),
    )
    token.add_argument("--role", action="append", required=True, choices=sorted(ROLES))
    token.add_argument("--sub", required=True, metavar="ID", help="the caller's subject id")
    token.add_argument(
        "--programme",
        action="append",
        default=[],
        metavar="ID",
        help="a programme a programme_manager manages (repeatable)",
    )
    token.add_argument(
        "--employee-id", metavar="E", help="mentor/mentee employee id (default: sub)"
    )
    token.add_argument("--service", metavar="NAME", help="service identity (with --role service)")
    token.add_argument("--ttl", type=int, default=3600, metavar="SECONDS", help="default 3600")
    token.add_argument("--var", type=Path, default=None, metavar="DIR", help="default ./var")


BOOTSTRAP_EPILOG = """\
NATS credentials: NATS_USER/NATS_PASSWORD (or NATS_CREDS, NATS_NKEY_SEED), NATS_INBOX_PREFIX,
NATS_TLS_* - with deploy/nats/secure.conf, the admin user. PostgreSQL, per service, the
settings the service reads: PERSISTENCE_MODULE=eventsourcing.postgres, POSTGRES_HOST, _PORT,
_DBNAME, _USER, _PASSWORD, _SCHEMA, each may be prefixed <SERVICE>_ (ENROLMENT_POSTGRES_SCHEMA),
or one REVMENTOR_<SERVICE>_POSTGRES_DSN (schema: ?options=-csearch_path%3D<schema>).

Exit status: 0 everything present; 1 a refusal (credentials, permissions, a stream change
NATS will not make); 2 NATS or PostgreSQL unreachable within --wait.
"""


def add_bootstrap_parser(commands: Any) -> None:
    bootstrap = commands.add_parser(
        "bootstrap",
        help="declare the NATS streams and durables and create the PostgreSQL tables",
        description=(
            "Before the services start (and after every upgrade): declare every JetStream "
            "stream with the asked replicas, pre-create the durable consumers and create each "
            "PostgreSQL-backed service's schema and tables. Safe to run again."
        ),
        epilog=BOOTSTRAP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bootstrap.add_argument(
        "--nats",
        metavar="URL",
        help="NATS server(s), e.g. nats://a:4222,nats://b:4222 (default: $NATS_URL, else "
        "nats://127.0.0.1:4222)",
    )
    bootstrap.add_argument(
        "--stream-replicas",
        type=int,
        metavar="N",
        help="replicas of every stream, 1-5 (default: $NATS_STREAM_REPLICAS, else 1)",
    )
    bootstrap.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="keep retrying NATS and PostgreSQL for this long (default: 0, one attempt)",
    )


def print_token(args: argparse.Namespace) -> int:
    from revmentor.cli import devkeys

    if args.ttl <= 0:
        raise CliError("--ttl must be a positive number of seconds")
    if ("service" in args.role) != bool(args.service):
        raise CliError("--role service and --service NAME go together")
    var = args.var or Path(os.environ.get("REVMENTOR_VAR_DIR") or "var")
    key = devkeys.load(var)
    emit(
        key.mint(
            args.sub,
            roles=args.role,
            ttl=args.ttl,
            programmes=args.programme,
            employee_id=args.employee_id,
            service=args.service,
        )
    )
    return 0


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "up":
        from revmentor.cli import up

        var = args.var or Path(os.environ.get("REVMENTOR_VAR_DIR") or "var")
        shape = up.Shape(args.replicas, args.postgres or "", args.nats_cluster)
        return up.run(
            var, seed=not args.no_seed, nats_port=args.nats_port, secure=args.secure, shape=shape
        )
    if args.command == "token":
        return print_token(args)
    if args.command == "bootstrap":
        from revmentor.cli import bootstrap

        return bootstrap.run(args.nats, args.stream_replicas, args.wait)
    if args.command == "calendar":
        from revmentor.cli import calendar

        return calendar.run(args.participant_id, args.token, args.output, args.target)
    if args.command == "report":
        from revmentor.cli import report

        return report.run(
            args.programme_id, args.token, args.output, args.target, args.format, args.chart
        )
    if args.command == "events":
        from revmentor.cli import events

        return events.run(args)
    if args.command == "audit":
        from revmentor.cli import audit

        if args.audit_command == "replay":
            from revmentor.cli import audit_replay

            return audit_replay.run(args)
        if args.audit_command == "timeline":
            from revmentor.cli import audit_timeline

            return audit_timeline.run(args)
        if args.audit_command == "rematch":
            from revmentor.cli import audit_rematch

            return audit_rematch.run(args)
        return audit.verify(args.service, args.json, args.token)
    if args.command == "participant":
        from revmentor.cli import privacy

        if args.participant_command == "export":
            return privacy.export(args.participant_id, args.token, args.output)
        return privacy.erase(args.participant_id, args.reason, args.token)
    from revmentor.cli import importer

    if args.enrol_command == "import":
        return importer.run(args.file, args.programme, args.target, args.token)
    return importer.list_programmes(args.target, args.token)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return dispatch(args)
    except CliError as error:
        emit(f"revmentor: error: {error}", sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        emit("revmentor: interrupted", sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
