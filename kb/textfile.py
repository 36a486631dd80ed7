"""What a file is when it is not the UTF-8 text a reader expects: read off its first bytes.

Users feed text readers images, spreadsheets, compressed snapshots and UTF-16 exports (Excel's
"Unicode Text", Windows PowerShell's ``>``). Used by the listing, JSON-lines and CSV readers
(``ingest``) and the upload reader (``kb.uploads``), so each names the cause, not only the
first bad byte.
"""

from __future__ import annotations

import re

__all__ = ["RESAVE", "not_text"]

# What users feed a text reader by mistake: (regular expression over the first bytes, what
# it is, what to do). UTF-32 before UTF-16: FF FE 00 00 starts with FF FE.
RESAVE = "re-save the file as UTF-8"
_SIGNATURES = (
    (re.escape(b"\x89PNG\r\n\x1a\n"), "a PNG image", ""),
    (b"\xff\xd8\xff", "a JPEG image", ""),
    (b"GIF8[79]a", "a GIF image", ""),
    (re.escape(b"%PDF-"), "a PDF document", ""),
    (b"PK\x03\x04", "a ZIP archive (or .xlsx/.docx)", "unzip it, or save the sheet as CSV"),
    (b"\x1f\x8b", "gzip-compressed data", "decompress it first (gunzip)"),
    (b"BZh[1-9]1AY&SY", "bzip2-compressed data", "decompress it first (bunzip2)"),
    (re.escape(b"\xfd7zXZ\x00"), "xz-compressed data", "decompress it first (unxz)"),
    (re.escape(b"(\xb5/\xfd"), "zstd-compressed data", "decompress it first (unzstd)"),
    (b"SQLite format 3\x00", "an SQLite database", ""),
    (b"\xff\xfe\x00\x00", "UTF-32 text (byte-order mark FF FE 00 00)", RESAVE),
    (b"\x00\x00\xfe\xff", "UTF-32 text (byte-order mark 00 00 FE FF)", RESAVE),
    (b"\xff\xfe", "UTF-16 text (byte-order mark FF FE)", RESAVE),
    (b"\xfe\xff", "UTF-16 text (byte-order mark FE FF)", RESAVE),
)


def not_text(head: bytes) -> tuple[str, str] | None:
    """(what it is, what to do) for a file starting with ``head`` that is no UTF-8 text: a
    known binary signature, a UTF-16/32 byte-order mark, or UTF-16 without one (a NUL at every
    other byte of the first characters); else None. Such files were reported as "binary data
    (NUL byte)" or "not UTF-8 (byte 0x89)", which named no cause."""
    for signature, what, fix in _SIGNATURES:
        if re.match(signature, head):
            return what, fix
    pairs = head[:64]
    if len(pairs) >= 8:
        if pairs[1::2].count(0) == len(pairs[1::2]) and 0 not in pairs[0::2]:
            return "UTF-16 text (little-endian, no byte-order mark)", RESAVE
        if pairs[0::2].count(0) == len(pairs[0::2]) and 0 not in pairs[1::2]:
            return "UTF-16 text (big-endian, no byte-order mark)", RESAVE
    return None
