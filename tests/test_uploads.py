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


# -- a demanding user's spreadsheets (ingestqa) -------------------------------------------------
GOOD = "n_params,value\n1e6,3.0\n2e6,2.9\n"


def test_old_mac_line_ends_are_read() -> None:
    """A file whose lines end in a lone CR (Excel's 'CSV (Macintosh)') raised csv.Error: a
    traceback on the Refit page, not a message."""
    points = parse_upload(GOOD.replace("\n", "\r").encode(), name="mac.csv")
    assert [p.n_params for p in points] == [1e6, 2e6]


def test_our_column_names_in_another_case_are_read() -> None:
    """'Value' and 'N_Params' were refused: "no 'value' column; columns found: ..., Value"."""
    points = parse_upload(b"N_Params,Value,Notes\n1e6,3.0,x\n")
    assert points[0].n_params == 1e6
    assert points[0].value == 3.0
    assert points[0].extras == {"Notes": "x"}


@pytest.mark.parametrize("header", ["n_params,n_params,value", "n_params,value,Value"])
def test_a_column_named_twice_is_an_error(header: str) -> None:
    """csv.DictReader kept the last of two columns of one name without a word."""
    with pytest.raises(BadInputError, match=r"^up\.csv: row 1: column\(s\) \w+ named more"):
        parse_upload(f"{header}\n1e6,2e6,3.0\n".encode(), name="up.csv")


def test_rows_of_empty_cells_are_skipped_and_rows_numbered_as_the_files_lines() -> None:
    """A spreadsheet's ',,' rows were 'row 4, column value: empty'; after a blank line the row
    numbers no longer matched the file's lines."""
    points = parse_upload(b"n_params,value\n1e6,3.0\n,\n\n2e6,2.9\n , \n")
    assert [p.source_row for p in points] == [2, 5]


def test_a_short_row_says_how_many_cells_it_has() -> None:
    """Was "row 2, column 'value': empty; every row needs a value"."""
    with pytest.raises(BadInputError, match=r"^x\.csv: row 3 has 1 cells, the header 2"):
        parse_upload(b"n_params,value\n1e6,3.0\n2e6\n", name="x.csv")


def test_a_quote_never_closed_is_named() -> None:
    """The quote swallowed the rest of the file into one cell: 'row 2, column value: empty'."""
    body = b'n_params,value\n"1e6,3.0\n2e6,2.9\n4e6,2.8\n'
    with pytest.raises(BadInputError, match=r"^x\.csv: row 2: a quote .* never closed .* row 4"):
        parse_upload(body, name="x.csv")


def test_a_quoted_newline_in_an_extra_column_is_kept() -> None:
    points = parse_upload(b'n_params,value,note\n1e6,3.0,"two\nlines"\n2e6,2.9,x\n')
    assert points[0].extras == {"note": "two\nlines"}
    assert [p.source_row for p in points] == [2, 4]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'n_params,value\n"70,000,000",3.0\n', r"'70,000,000' is not a number: write it "
         r"without thousands separators \(70000000 or in scientific notation\)"),
        (b"n_params;value\n70,000,000;3,0\n", r"'70,000,000' is not a number: write it without"),
        (b"n_params,value\n70,000,000,3.0\n", r"row 2 has more cells than the header \(4 vs 2\)"
         r": an unquoted comma, or a thousands separator"),
    ],
)  # fmt: skip
def test_thousands_separators_are_named(body: bytes, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        parse_upload(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (GOOD.encode("utf-16"), r"UTF-16 text \(byte-order mark FF FE\), not UTF-8 text"),
        (GOOD.encode("utf-16-le"), r"UTF-16 text \(little-endian, no byte-order mark\), not"),
        (b"PK\x03\x04\x14\x00\x06\x00", r"a ZIP archive \(or \.xlsx/\.docx\), not UTF-8 text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", r"a PNG image, not UTF-8 text"),
        ("n_params,value,note\n1e6,3.0,ok\n2e6,2.9,café\n".encode("latin-1"),
         r"row 3: not UTF-8 text \(byte 0xe9 at offset 42\)"),
    ],
)  # fmt: skip
def test_a_file_that_is_no_utf8_text_says_what_it_is(body: bytes, message: str) -> None:
    """Was 'not UTF-8 text (byte 0)' / '(byte 132)': no cause, no row."""
    with pytest.raises(BadInputError, match=rf"^up\.csv: {message}"):
        parse_upload(body, name="up.csv")


def test_no_value_column_says_what_is_expected() -> None:
    with pytest.raises(BadInputError, match=r"columns found: N, D, L; expected the measured"):
        parse_upload(b"N,D,L\n1e6,2e7,3.0\n")
