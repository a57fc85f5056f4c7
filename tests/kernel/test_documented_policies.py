"""docs/security.md shows each service's role table; it must be the enforced one."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "security.md"
#: Every service with a role table (``services/<name>/access.py``).
SERVICES = sorted(path.parent.name for path in (ROOT / "services").glob("*/access.py"))
HEADER = "| RPC | admin | programme_manager | mentor | mentee | auditor | service |"
ROLES = HEADER.strip("| ").split(" | ")[1:]


def documented_tables() -> list[dict[str, set[str]]]:
    tables = []
    for chunk in DOC.read_text().split(HEADER)[1:]:
        table: dict[str, set[str]] = {}
        for row in chunk.splitlines()[2:]:
            if not row.startswith("| "):
                break
            cells = [cell.strip() for cell in row.strip("|").split("|")]
            granted = zip(ROLES, cells[1:], strict=True)
            table[cells[0]] = {role for role, cell in granted if cell == "yes"}
        tables.append(table)
    return tables


@pytest.mark.parametrize("service", SERVICES)
def test_the_documented_table_is_the_enforced_policy(service: str) -> None:
    policy = importlib.import_module(f"revmentor.{service}.access").POLICY
    enforced = {rpc.rsplit("/", 1)[-1]: set(allowed) for rpc, allowed in policy.items()}
    assert enforced in documented_tables(), f"docs/security.md is missing {service}'s table"


def test_every_service_is_checked() -> None:
    assert {"enrolment", "training", "matching"} <= set(SERVICES)
