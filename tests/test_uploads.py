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


def test_semicolons_and_decimal_commas_as_spreadsheets_write_them() -> None:
    body = "n_params;value\n7,0e7;3,42\n1.6e8;3.11\n".encode("utf-8-sig")
    points = parse_upload(body, name="excel.csv")
    assert [p.n_params for p in points] == [7.0e7, 1.6e8]
    assert [p.value for p in points] == [3.42, 3.11]


def test_tab_separated() -> None:
    points = parse_upload(b"n_params\tvalue\n1e6\t3.0\n")
    assert points[0].n_params == 1e6


def test_a_bad_cell_names_the_file() -> None:
    with pytest.raises(BadInputError, match=r"^runs\.csv: row 3, column 'value': 'x'"):
        parse_upload(b"n_params,value\n1e6,3\n2e6,x\n", name="runs.csv")


@pytest.mark.parametrize("bad", ["0", "-1.5"])
def test_log_of_a_nonpositive_value_names_the_file_row(bad: str) -> None:
    """Zero or negative values are valid uploads (linear-space laws) but cannot be fitted in log
    space: the fit names the file's row (header = row 1), not an index into an array."""
    from kb.errors import FitError
    from kb.fit import fit_points

    rows = "".join(f"{n:.3g},{3.0 - 0.1 * i}\n" for i, n in enumerate([1e6, 2e6, 4e6, 8e6, 1.6e7]))
    rows = rows.replace("2.8\n", f"{bad}\n")  # the third data row: row 4 of the file
    points = parse_upload(f"n_params,value\n{rows}".encode(), name="runs.csv")
    with pytest.raises(FitError, match=rf"runs\.csv row 4, column 'value' = {bad}"):
        fit_points(points, law="power_law", x="n_params")
    fit_points(points, law="log_linear", x="n_params")  # a linear-space law takes them


def test_a_missing_value_column_is_reported_with_the_header_split_as_written() -> None:
    """One separator rule for uploads and listings (kb.csvtext): without the required column,
    the header is split by the separator it uses most, so the columns found read right."""
    with pytest.raises(BadInputError, match="columns found: n_params, loss"):
        parse_upload(b"n_params;loss\n1e6;3,4\n", name="x.csv")
