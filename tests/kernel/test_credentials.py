"""A service's own token: from the file its variable names, re-read when the file changes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from revmentor.kernel.credentials import (
    FALLBACK_VARIABLE,
    ServiceToken,
    ServiceTokenUnavailable,
    token_variable,
)

VARIABLE = "REVMENTOR_MATCHING_TOKEN_FILE"


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)
    monkeypatch.delenv(FALLBACK_VARIABLE, raising=False)


def write(path: Path, text: str, mtime_ns: int | None = None) -> Path:
    path.write_text(text, encoding="utf-8")
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def test_variable_names() -> None:
    assert token_variable("matching") == VARIABLE
    assert token_variable("read-model") == "REVMENTOR_READ_MODEL_TOKEN_FILE"
    assert ServiceToken("matching").variable == VARIABLE
    with pytest.raises(ValueError):
        ServiceToken("")


def test_reads_the_services_own_file_first(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(VARIABLE, str(write(tmp_path / "own", "own.token.jwt\n")))
    monkeypatch.setenv(FALLBACK_VARIABLE, str(write(tmp_path / "shared", "shared.jwt")))
    token = ServiceToken("matching")
    assert token() == "own.token.jwt"
    assert token.metadata() == (("authorization", "Bearer own.token.jwt"),)
    monkeypatch.delenv(VARIABLE)
    assert token() == "shared.jwt", "REVMENTOR_SERVICE_TOKEN_FILE is the fallback"


def test_bearer_prefix_and_whitespace_are_ignored(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(VARIABLE, str(write(tmp_path / "t", "  Bearer abc.def.ghi \n\n")))
    assert ServiceToken("matching")() == "abc.def.ghi"


def test_missing_variable_names_it(monkeypatch) -> None:
    with pytest.raises(ServiceTokenUnavailable, match=VARIABLE) as caught:
        ServiceToken("matching")()
    assert FALLBACK_VARIABLE in str(caught.value)


def test_missing_file_names_variable_and_path(tmp_path: Path, monkeypatch) -> None:
    missing = tmp_path / "nope.token"
    monkeypatch.setenv(VARIABLE, str(missing))
    with pytest.raises(ServiceTokenUnavailable) as caught:
        ServiceToken("matching")()
    assert f"{VARIABLE}={missing}" in str(caught.value)
    assert "No such file" in str(caught.value)


@pytest.mark.parametrize("text", ["", "  \n", "Bearer ", "two tokens"])
def test_empty_or_garbled_file_is_refused(tmp_path: Path, monkeypatch, text: str) -> None:
    monkeypatch.setenv(VARIABLE, str(write(tmp_path / "t", text)))
    with pytest.raises(ServiceTokenUnavailable, match=VARIABLE):
        ServiceToken("matching")()


def test_rewritten_file_is_read_again(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path / "t", "first", mtime_ns=1_000_000_000)
    monkeypatch.setenv(VARIABLE, str(path))
    token = ServiceToken("matching")
    assert token() == "first"
    write(path, "secnd", mtime_ns=2_000_000_000)  # same size, same inode, new mtime
    assert token() == "secnd"


def test_unchanged_file_is_not_read_again(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path / "t", "first", mtime_ns=1_000_000_000)
    monkeypatch.setenv(VARIABLE, str(path))
    token = ServiceToken("matching")
    assert token() == "first"
    reads = 0
    real_open = open

    def counting_open(*args, **kwargs):
        nonlocal reads
        reads += 1
        return real_open(*args, **kwargs)

    monkeypatch.setattr("builtins.open", counting_open)
    assert [token() for _ in range(5)] == ["first"] * 5
    assert reads == 0, "an unchanged file costs a stat, not a read"


def test_atomic_replacement_and_symlink_swap(tmp_path: Path, monkeypatch) -> None:
    """What a sidecar (rename over) and a Kubernetes projected volume (symlink swap) do."""
    data = tmp_path / "data-1"
    data.mkdir()
    write(data / "token", "one", mtime_ns=5_000_000_000)
    link = tmp_path / "..data"
    link.symlink_to(data)
    mounted = tmp_path / "token"
    mounted.symlink_to(link / "token")
    monkeypatch.setenv(VARIABLE, str(mounted))
    token = ServiceToken("matching")
    assert token() == "one"

    fresh = tmp_path / "data-2"
    fresh.mkdir()
    write(fresh / "token", "two", mtime_ns=5_000_000_000)  # even with the same mtime
    swap = tmp_path / "..data.tmp"
    swap.symlink_to(fresh)
    swap.replace(link)
    assert token() == "two"

    partial = tmp_path / "partial"
    write(partial, "three", mtime_ns=5_000_000_000)
    partial.replace(fresh / "token")
    assert token() == "three"


def test_a_file_that_disappears_fails_loudly(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path / "t", "first")
    monkeypatch.setenv(VARIABLE, str(path))
    token = ServiceToken("matching")
    assert token() == "first"
    path.unlink()
    with pytest.raises(ServiceTokenUnavailable, match=VARIABLE):
        token()


def test_concurrent_callers_agree(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(VARIABLE, str(write(tmp_path / "t", "same")))
    token = ServiceToken("matching")
    seen: list[str] = []

    def call() -> None:
        seen.extend(token() for _ in range(50))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == ["same"] * 400
