"""The pre-scan's reading of part headers: the default type of children, a missing boundary."""

from __future__ import annotations

import pytest

from daemon.parse.prescan import Shape, check_structure


def _multipart(subtype: str, boundary: str | None) -> bytes:
    parameter = f'; boundary="{boundary}"' if boundary else ""
    lines = ["From: a@example.net", f"Content-Type: multipart/{subtype}{parameter}", ""]
    for _ in range(2):
        lines += ["--b", "", "Subject: isi", "", "badan", ""]
    lines += ["--b--", ""]
    return "\r\n".join(lines).encode()


@pytest.mark.parametrize(
    ("subtype", "shape"),
    [
        # A digest's children are messages by default: each holds one more entity.
        ("digest", Shape(parts=5, depth=2)),
        ("mixed", Shape(parts=3, depth=1)),
    ],
)
def test_a_digest_s_children_are_messages(subtype: str, shape: Shape) -> None:
    assert check_structure(_multipart(subtype, "b")) == shape


def test_a_multipart_without_a_boundary_has_no_parts() -> None:
    assert check_structure(_multipart("mixed", None)) == Shape(parts=1, depth=0)
