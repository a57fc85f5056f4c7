"""Schema evolution guard: the protos only change in ways v1 consumers survive.

``proto/baseline/v1.binpb`` is a buf image of ``proto/`` as released (see
docs/versioning.md). ``buf breaking`` (rules: FILE, from buf.yaml) compares the
current protos with it: deleting, renumbering or retyping a field, or removing
a message, fails here - and so in CI. A breaking change needs a v2 type.

The guard is proven, not assumed: a copy of ``proto/`` with a field deleted,
renumbered or retyped must fail against the same baseline, naming the change,
and a copy with only a new field added must pass.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "proto" / "baseline" / "v1.binpb"
EVENTS = Path("proto") / "revmentor" / "events" / "v1" / "scheduling.proto"

#: The field every mutation below works on (``SessionHeld.held_count = 8``).
FIELD = "  int32 held_count = 8 [(revmentor.options.v1.data_class) = DATA_CLASS_BUSINESS_FACT];\n"


def buf_binary() -> str:
    """The venv's buf (installed by ``make install`` from buf-bin), else one on PATH."""
    beside = Path(sys.executable).with_name("buf")
    if beside.exists():
        return str(beside)
    found = shutil.which("buf")
    if found is None:
        pytest.skip("buf binary not found (pip install buf-bin, as `make install` does)")
    return found


def breaking(workdir: Path) -> subprocess.CompletedProcess[str]:
    """``buf breaking`` of the module in ``workdir`` against the committed baseline."""
    return subprocess.run(
        [buf_binary(), "breaking", "--against", str(BASELINE)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def module_copy(tmp_path: Path) -> Path:
    """``buf.yaml`` and ``proto/`` (baseline left out) copied to a scratch directory."""
    shutil.copy(ROOT / "buf.yaml", tmp_path / "buf.yaml")
    shutil.copytree(ROOT / "proto", tmp_path / "proto", ignore=shutil.ignore_patterns("*.binpb"))
    return tmp_path


def test_the_baseline_is_committed_and_not_a_source() -> None:
    assert BASELINE.is_file() and BASELINE.stat().st_size > 1000
    listed = subprocess.run(
        [buf_binary(), "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert listed and all(name.endswith(".proto") for name in listed), listed
    assert not any("baseline" in name for name in listed)


def test_current_protos_are_compatible_with_the_baseline() -> None:
    result = breaking(ROOT)
    assert result.returncode == 0, (
        "breaking change against proto/baseline/v1.binpb - add a v2 type instead "
        f"(docs/versioning.md):\n{result.stdout}{result.stderr}"
    )


#: (mutation id, replacement for FIELD, words the failure must contain)
BREAKING_CHANGES = [
    ("deleted", "", ['"held_count"', '"SessionHeld"', "deleted"]),
    ("renumbered", FIELD.replace("= 8", "= 18"), ['"8"', '"held_count"', "deleted"]),
    ("retyped", FIELD.replace("int32", "string"), ['"held_count"', "int32", "string"]),
]


@pytest.mark.parametrize(
    "replacement,expected", [c[1:] for c in BREAKING_CHANGES], ids=[c[0] for c in BREAKING_CHANGES]
)
def test_the_guard_catches_a_breaking_change(
    tmp_path: Path, replacement: str, expected: list[str]
) -> None:
    workdir = module_copy(tmp_path)
    source = workdir / EVENTS
    text = source.read_text(encoding="utf-8")
    assert text.count(FIELD) == 1, "the field this test mutates moved: update FIELD"
    source.write_text(text.replace(FIELD, replacement), encoding="utf-8")

    result = breaking(workdir)

    output = result.stdout + result.stderr
    assert result.returncode != 0, f"buf breaking let a breaking change through:\n{output}"
    [line] = [line for line in output.splitlines() if "SessionHeld" in line or "held_count" in line]
    assert line.startswith(str(EVENTS)), line
    for word in expected:
        assert word in line, (word, line)


def test_the_guard_lets_an_additive_change_through(tmp_path: Path) -> None:
    """A new field with a new number is what v1 may gain (and consumers ignore)."""
    workdir = module_copy(tmp_path)
    source = workdir / EVENTS
    text = source.read_text(encoding="utf-8")
    added = FIELD.replace("held_count = 8", "planned_count = 9")
    assert text.count(FIELD) == 1, "the field this test extends moved: update FIELD"
    source.write_text(text.replace(FIELD, FIELD + added), encoding="utf-8")

    result = breaking(workdir)

    assert result.returncode == 0, result.stdout + result.stderr
