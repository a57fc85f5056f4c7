"""Page tokens: opaque, round-trip to the next page, empty on the last page, checked on input."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revmentor.kernel.errors import ValidationFailed
from revmentor.kernel.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, page


def all_pages(items: list[int], page_size: int) -> list[tuple[list[int], str]]:
    pages, token = [], ""
    while True:
        chunk, token = page(items, page_size, token)
        pages.append((chunk, token))
        if not token:
            return pages


def fields(items: list[int], page_size: int, token: str) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        page(items, page_size, token)
    return [v.field for v in caught.value.violations]


def forged(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def test_tokens_walk_every_item_once_in_order() -> None:
    items = list(range(7))
    pages = all_pages(items, 3)
    assert [chunk for chunk, _ in pages] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [bool(token) for _, token in pages] == [True, True, False]


def test_an_exact_multiple_ends_without_an_empty_page() -> None:
    pages = all_pages(list(range(6)), 3)
    assert [chunk for chunk, _ in pages] == [[0, 1, 2], [3, 4, 5]]
    assert pages[-1][1] == ""


def test_a_single_page_has_no_next_token() -> None:
    assert page([1, 2], 10, "") == ([1, 2], "")
    assert page([], 10, "") == ([], "")


def test_page_size_zero_means_the_default() -> None:
    items = list(range(DEFAULT_PAGE_SIZE + 1))
    chunk, token = page(items, 0, "")
    assert chunk == items[:DEFAULT_PAGE_SIZE] and token
    assert page(items, 0, token) == ([DEFAULT_PAGE_SIZE], "")


def test_the_largest_page_size_is_allowed() -> None:
    items = list(range(MAX_PAGE_SIZE + 1))
    chunk, token = page(items, MAX_PAGE_SIZE, "")
    assert len(chunk) == MAX_PAGE_SIZE and token
    assert page(items, MAX_PAGE_SIZE, token) == ([MAX_PAGE_SIZE], "")


def test_tokens_are_url_safe_text() -> None:
    _, token = page(list(range(10_000)), 1, "")
    for _ in range(3):
        _, token = page(list(range(10_000)), 499, token)
    assert token.isascii() and not set(token) & set("+/ \n")


def test_a_token_past_the_end_gives_an_empty_last_page() -> None:
    _, token = page(list(range(10)), 8, "")
    assert page(list(range(3)), 8, token) == ([], "")  # the list shrank meanwhile


@pytest.mark.parametrize("size", [-1, -(2**31), MAX_PAGE_SIZE + 1, 2**31 - 1])
def test_bad_page_sizes_name_page_size(size: int) -> None:
    assert fields([1], size, "") == ["page_size"]


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "%%%",
        "====",
        "o:5",  # the right text, not encoded
        forged("x:5"),
        forged("o:-1"),
        forged("o:abc"),
        forged("o:"),
        forged("5"),
        forged("o:" + "9" * 5000),
        base64.urlsafe_b64encode(b"\xff\xfe:1").decode(),
        "\u00e9t\u00e9",
    ],
)
def test_bad_tokens_name_page_token(token: str) -> None:
    assert fields([1, 2, 3], 1, token) == ["page_token"]


def test_size_and_token_are_reported_together() -> None:
    assert fields([1], 501, "nope") == ["page_size", "page_token"]


@given(
    count=st.integers(0, 300),
    page_size=st.integers(0, MAX_PAGE_SIZE),
)
@settings(max_examples=80, deadline=None)
def test_paging_round_trip_property(count: int, page_size: int) -> None:
    items = list(range(count))
    pages = all_pages(items, page_size)
    size = page_size or DEFAULT_PAGE_SIZE
    assert [x for chunk, _ in pages for x in chunk] == items
    assert all(len(chunk) == size for chunk, _ in pages[:-1])
    assert len(pages) == max(1, -(-count // size))
    assert pages[-1][1] == "" and all(token for _, token in pages[:-1])
