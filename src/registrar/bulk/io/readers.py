"""Streaming table readers: CSV (encoding and separator detected) and spreadsheets via calamine."""

import codecs
import csv
import io
import os
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from django.conf import settings

csv.field_size_limit(1 << 24)


class FileError(Exception):
    """The file cannot be used at all (exit status 2): a file-level code and its parameters."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


SPREADSHEETS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".ods": "ods"}
# A charset-normalizer guess among these is a Latin file: read it as Latin-1 (every byte maps).
LATIN = {"cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2", "cp850", "mac_roman", "ascii"}


def detect_encoding(sample: bytes) -> str:
    """BOM first, then UTF-16 without BOM, then UTF-8, else Windows-1252 (SPEC §2.10).

    Statistical guessers misread short Latin files (a header and one 'Hélène' come out as Big5
    or a Mac code page), so any other encoding is named with `--set encoding=...`. Only bytes
    that Windows-1252 leaves undefined fall back to charset-normalizer's guess, else Latin-1.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4:
        return "utf-16-le"
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) // 4:
        return "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None or best.encoding in LATIN:
        return "latin-1"
    return best.encoding


def _deciding_sample(raw, sample: bytes) -> bytes:
    """The bytes that decide the encoding: the first 64 KiB, or, when they are plain ASCII, the
    first stretch of the file that is not (a Latin file's first accent may come late)."""
    if not sample.isascii() or b"\x00" in sample:  # not ASCII, or UTF-16 without a BOM
        return sample
    chunk = b""
    raw.seek(len(sample))
    while chunk := raw.read(1 << 20):
        if not chunk.isascii():
            i = next(i for i, b in enumerate(chunk) if b >= 0x80)
            chunk = chunk[max(0, i - 4096) : i + 65536]
            break
    raw.seek(0)
    return chunk if chunk and not chunk.isascii() else sample


def detect_delimiter(first_line: str) -> str:
    """The separator of the header line: the most frequent of ; , and tab outside quotes."""
    counts = dict.fromkeys((";", ",", "\t"), 0)
    quoted = False
    for ch in first_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: (counts[d], d == ";"))
    return best if counts[best] else ","


class Table:
    """An opened input file: its header and a stream of (row number, trimmed cells)."""

    format = "csv"
    delimiter = ","
    encoding = "utf-8"
    total: int | None = None  # data rows, when known up front

    def __init__(self, path: str, header: bool = True):
        self.path = path
        self.has_header = header
        self.headers: list[str] | None = None

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        raise NotImplementedError

    def fraction(self) -> float | None:
        return None

    def close(self) -> None:
        pass


class CsvTable(Table):
    def __init__(
        self,
        path: str,
        header: bool = True,
        delimiter: str | None = None,
        encoding: str | None = None,
    ):
        super().__init__(path, header)
        self.size = os.path.getsize(path)
        self._raw = open(path, "rb")  # noqa: SIM115 (closed by close())
        sample = self._raw.read(65536)
        self._raw.seek(0)
        try:
            self.encoding = encoding or detect_encoding(_deciding_sample(self._raw, sample))
            codecs.lookup(self.encoding)
        except LookupError:
            raise FileError(
                "invalid_option", option="encoding", reason=f"unknown encoding {encoding!r}"
            ) from None
        self._text = io.TextIOWrapper(self._raw, encoding=self.encoding, newline="")
        lines = sample.decode(self.encoding, errors="ignore").lstrip("\ufeff").splitlines()
        first = next((line for line in lines if line.strip()), "")  # blank lines are ignored
        self.delimiter = delimiter or detect_delimiter(first)
        self._reader = csv.reader(self._text, delimiter=self.delimiter)
        self._number = 0
        if header:
            self.headers = self._first_row()

    def _next(self) -> list[str] | None:
        try:
            return next(self._reader)
        except UnicodeDecodeError as e:
            raise FileError(
                "unreadable_file", reason=f"not valid {self.encoding} near byte {e.start}"
            ) from None
        except csv.Error as e:
            raise FileError(
                "unreadable_file", reason=f"line {self._reader.line_num}: {e}"
            ) from None
        except StopIteration:
            return None

    def _first_row(self) -> list[str] | None:
        while (cells := self._next()) is not None:
            self._number += 1
            if any(c.strip() for c in cells):
                return [c.strip().lstrip("\ufeff") for c in cells]
        return None

    def rows(self):
        nxt = self._next
        n = self._number
        while (cells := nxt()) is not None:
            n += 1
            self._number = n
            for c in cells:
                if c and not c.isspace():
                    yield n, [c.strip() for c in cells]
                    break

    def fraction(self) -> float | None:
        return min(1.0, self._raw.tell() / self.size) if self.size else 1.0

    def close(self) -> None:
        self._raw.close()


def _cell_text(v) -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, datetime):
        return (
            v.isoformat(sep="T")
            if (v.hour, v.minute, v.second) != (0, 0, 0)
            else v.date().isoformat()
        )
    if isinstance(v, (date, time)):
        return v.isoformat()
    if isinstance(v, timedelta):
        return str(int(v.total_seconds()))
    return str(v)


class SheetTable(Table):
    """The first sheet of an .xlsx, .xls or .ods file, read with python-calamine."""

    def __init__(self, path: str, kind: str, header: bool = True):
        super().__init__(path, header)
        self.format = kind
        self.delimiter = ";"
        if kind in ("xlsx", "ods"):
            bound_zip(path)
        from python_calamine import CalamineWorkbook

        try:
            self._wb = CalamineWorkbook.from_path(path)
            sheet = self._wb.get_sheet_by_index(0)
        except Exception as e:  # calamine raises its own error types for broken files
            raise FileError("unreadable_file", reason=str(e).splitlines()[0][:200]) from None
        self._iter = iter(sheet.iter_rows())
        self._height = sheet.height or 0
        self._number = 0
        if header:
            for cells in self._iter:
                self._number += 1
                if any(c not in (None, "") for c in cells):
                    self.headers = [_cell_text(c) for c in cells]
                    break
        self.total = max(0, self._height - self._number)

    def rows(self):
        for cells in self._iter:
            self._number += 1
            texts = [_cell_text(c) for c in cells]
            if any(texts):
                yield self._number, texts

    def fraction(self) -> float | None:
        return self._number / self._height if self._height else 1.0


def bound_zip(path: str) -> None:
    """Refuse a zip that is not one, or that would inflate past the configured bound."""
    try:
        with zipfile.ZipFile(path) as z:
            total = sum(i.file_size for i in z.infolist())
    except zipfile.BadZipFile:
        raise FileError("unreadable_file", reason="not a valid spreadsheet (zip) file") from None
    if total > settings.REGISTRAR_MAX_UNZIPPED_BYTES:
        raise FileError("unreadable_file", reason=f"the spreadsheet would inflate to {total} bytes")


def open_table(
    path: str, header: bool = True, delimiter: str | None = None, encoding: str | None = None
) -> Table:
    """Open a CSV or spreadsheet by its extension (content sniffed for CSV-like text)."""
    if not os.path.isfile(path):
        raise FileError("unreadable_file", reason=f"no file at {path}")
    ext = os.path.splitext(path)[1].lower()
    if ext in SPREADSHEETS:
        return SheetTable(path, SPREADSHEETS[ext], header)
    if ext not in (".csv", ".txt", ".tsv", ""):
        raise FileError("unsupported_format", value=ext)
    return CsvTable(path, header, delimiter, encoding)
