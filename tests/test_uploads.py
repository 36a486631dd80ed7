"""Uploaded CSVs: the template parses; bad files name the row and column."""

from __future__ import annotations

import pytest

from kb.errors import BadInputError
from kb.uploads import MAX_UPLOAD_BYTES, parse_upload, template_csv


def test_template_parses() -> None:
    points = parse_upload(template_csv().encode())
    assert len(points) == 4
    assert points[0].n_params == 7.0e7
    assert points[0].metric == "val_loss"
    assert points[0].run_key == "run-70M"
    assert points[0].source_row == 2


def test_extra_columns_are_kept() -> None:
    points = parse_upload(b"n_params,value,lr\n1e6,3.0,0.001\n")
    assert points[0].extras == {"lr": "0.001"}
    assert points[0].metric == "loss"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"n_params,loss\n1e6,3\n", "no 'value' column"),
        (b"width,value\n1,3\n", "needs at least one of n_params"),
        (b"n_params,value\n1e6,abc\n", "row 2, column 'value': 'abc' is not a number"),
        (b"n_params,value\n1e6,3\n-5,3\n", r"row 3, column 'n_params': -5 must be > 0"),
        (b"n_params,value\n1e6,nan\n", "row 2, column 'value'.*not a finite number"),
        (b"n_params,value\n1e6,\n", "row 2, column 'value': empty"),
        (b"n_params,value,step\n1e6,3,1.5\n", "row 2, column 'step'"),
        (b"n_params,value\n", "no data rows"),
        (b"", "empty file"),
        (b"n_params,value\n1e6,3,9\n", "row 2 has more cells"),
        (b"\xff\xfe\x00n", "not UTF-8"),
    ],
)
def test_bad_uploads_are_explained(body: bytes, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        parse_upload(body)


def test_size_limit() -> None:
    with pytest.raises(BadInputError, match="over the 5 MB limit"):
        parse_upload(b"x" * (MAX_UPLOAD_BYTES + 1))
