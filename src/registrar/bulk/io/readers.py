"""Streaming table readers: CSV (encoding and separator detected) and spreadsheets via calamine."""

import codecs
import csv
import io
import os
from collections.abc import Iterator
from itertools import islice

import numpy as np
import polars as pl
from django.conf import settings

from registrar.core.errors import FileError  # noqa: F401 (raised here; callers import it from here)

from . import sheets
from .blocks import Block, cut, names

csv.field_size_limit(1 << 24)
LINE_LIMIT = 1 << 24  # characters a physical line may have
CHUNK_CHARS = 1 << 20  # characters of a CSV file read at once for its blocks
PIECE_ROWS = 10_000  # rows read one by one (a file with quotes) gathered into a block at once
# What str.strip() removes (tests check it is every character str.isspace() accepts).
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


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


def check_encoding(name: str) -> None:
    """Refuse an encoding Python does not know, or one that is not a text encoding (zlib...)."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise FileError(
            "invalid_option", option="encoding", reason=f"unknown encoding {name!r}"
        ) from None
    if not getattr(info, "_is_text_encoding", True):
        raise FileError(
            "invalid_option", option="encoding", reason=f"{name!r} is not a text encoding"
        )


def _swallowed_rows(cells: list[str], delimiter: str, width: int) -> int:
    """How many whole rows a multi-line record holds inside its cells: lines after a cell's
    first that have as many separators as a row. A legitimate multi-line cell (an address, a
    description) has few; a quote left open takes in the next rows' lines with theirs."""
    need = max(1, width - 1)
    found = 0
    for c in cells:
        if "\n" in c or "\r" in c:
            found += sum(1 for line in c.splitlines()[1:] if line.count(delimiter) >= need)
    return found


def _parses_strictly(text: str, delimiter: str) -> bool:
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error:
        return False
    return True


class _Lines:
    """The text's lines for the csv reader, keeping those of the record being read (to check a
    suspect record again, strictly). A NUL character refuses the file: it is a binary or damaged
    file, and PostgreSQL cannot store the character in any text column."""

    def __init__(self, text):
        self.readline = self._rest = text.readline
        self.record: list[str] = []
        self.number = 0

    def push(self, text: str) -> None:
        """Whole lines read ahead: read before the rest of the text."""
        ahead = io.StringIO(text, newline="").readline

        def readline(limit: int) -> str:
            line = ahead(limit)
            if line:
                return line
            self.readline = self._rest
            return self._rest(limit)

        self.readline = readline

    def __iter__(self):
        return self

    def __next__(self) -> str:
        # Bounded: a file without line breaks is never read whole into memory.
        line = self.readline(LINE_LIMIT)
        if not line:
            raise StopIteration
        self.number += 1
        if len(line) == LINE_LIMIT and line[-1] not in "\r\n":
            raise FileError(
                "file_too_large",
                reason=f"line {self.number} is longer than {LINE_LIMIT:,} characters",
            )
        if "\x00" in line:
            raise FileError("unreadable_file", reason=f"line {self.number} holds a NUL character")
        self.record.append(line)
        return line


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
        try:
            self._open(header, delimiter, encoding)
        except BaseException:
            self._raw.close()
            raise

    def _open(self, header: bool, delimiter: str | None, encoding: str | None) -> None:
        sample = self._raw.read(65536)
        self._raw.seek(0)
        self.encoding = encoding or detect_encoding(_deciding_sample(self._raw, sample))
        check_encoding(self.encoding)
        self._text = io.TextIOWrapper(self._raw, encoding=self.encoding, newline="")
        lines = sample.decode(self.encoding, errors="ignore").lstrip("\ufeff").splitlines()
        first = next((line for line in lines if line.strip()), "")  # blank lines are ignored
        self.delimiter = delimiter or detect_delimiter(first)
        self._lines = _Lines(self._text)
        self._reader = csv.reader(self._lines, delimiter=self.delimiter)
        self._number = 0
        self._line = 0  # the physical line the last record ended on
        self._line_base = 0  # physical lines read before the csv reader's first
        self._width = 0  # cells a row has: the header's, else the first row's
        if header:
            self.headers = self._first_row()
            self._width = len(self.headers or ())

    def _next(self) -> list[str] | None:
        self._lines.record.clear()
        try:
            cells = next(self._reader)
        except UnicodeError as e:
            raise self._decode_error(e) from None
        except csv.Error as e:
            line = self._line_base + self._reader.line_num
            raise FileError("unreadable_file", reason=f"line {line}: {e}") from None
        except StopIteration:
            return None
        start, self._line = self._line + 1, self._line_base + self._reader.line_num
        if self._line > start:  # a record over several lines: a cell holds line breaks
            self._check_quotes(cells, start)
        return cells

    def _decode_error(self, e: UnicodeError) -> FileError:
        if isinstance(e, UnicodeDecodeError):
            return FileError(
                "unreadable_file", reason=f"not valid {self.encoding} near byte {e.start}"
            )
        # utf-16 or utf-32 forced on a file without a byte-order mark
        hint = ""
        if self.encoding.lower().replace("_", "-") in ("utf-16", "utf-32", "utf16", "utf32"):
            hint = f": name the byte order ({self.encoding}-le or {self.encoding}-be)"
            hint += " or leave encoding empty to detect it"
        return FileError("unreadable_file", reason=f"not valid {self.encoding} ({e}){hint}")

    def _check_quotes(self, cells: list[str], start: int) -> None:
        """A record over several lines whose cells hold what look like rows is a quote left open
        when its own text does not parse strictly (a quote closed by the opening quote of a
        later cell, or never closed): an address or a description over several lines parses."""
        width = self._width or len(cells)
        swallowed = _swallowed_rows(cells, self.delimiter, width)
        if swallowed and not _parses_strictly("".join(self._lines.record), self.delimiter):
            raise FileError(
                "unbalanced_quote", line=start, lines=self._line - start + 1, rows=swallowed
            )

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
                    if not self._width:
                        self._width = len(cells)
                    yield n, [c.strip() for c in cells]
                    break

    def blocks(self, width: int, size: int) -> Iterator[Block]:
        """The data rows as Blocks of `size` rows, `width` the header's: the same rows, numbers
        and errors as rows(). Text without quotes, NUL or lone carriage returns (most files) is
        split into lines and cells by the column library; from the first text that has any, the
        rest of the file is read record by record, as rows() reads it."""
        return cut(self._pieces(width), size)

    def _pieces(self, width: int) -> Iterator[Block]:
        while text := self._chunk():
            block = self._piece(text, width) if self._plain(text) else None
            if block is not None:
                yield block
                continue
            self._lines.push(text)
            self._reader = csv.reader(self._lines, delimiter=self.delimiter)
            self._line_base = self._line
            rows = self.rows()
            while batch := list(islice(rows, PIECE_ROWS)):
                yield Block.of_rows(batch, width)
            return

    def _chunk(self) -> str:
        """The next characters of the file, up to a line's end (bounded: LINE_LIMIT more)."""
        try:
            text = self._text.read(CHUNK_CHARS)
            if text and text[-1] != "\n":
                text += self._text.readline(LINE_LIMIT)
        except UnicodeError as e:
            raise self._decode_error(e) from None
        return text

    @staticmethod
    def _plain(text: str) -> bool:
        """Whether each line of the text is a record whose cells are its separators' pieces,
        and no line holds what the record-by-record reader refuses."""
        if '"' in text or "\x00" in text:
            return False
        return "\r" not in text or text.count("\r") == text.count("\r\n")

    def _piece(self, text: str, width: int) -> Block | None:
        """A block of plain text's lines (see _plain), trimmed, blank rows left out; None when
        a line is near LINE_LIMIT (the record reader refuses it, or reads it in two)."""
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        lines = pl.Series([text], dtype=pl.String).str.split("\n").explode()
        if text.endswith("\n"):
            lines = lines.head(len(lines) - 1)
        n = len(lines)
        if n and lines.str.len_chars().max() + 2 >= LINE_LIMIT:
            return None
        numbers = np.arange(self._number + 1, self._number + 1 + n, dtype=np.int64)
        self._number += n
        self._lines.number += n
        self._line += n
        d = self.delimiter
        even = (lines.str.count_matches(d, literal=True) == width - 1).to_numpy()
        frame = lines.filter(even).str.split_exact(d, width - 1).struct.unnest()
        frame = frame.select(pl.all().str.strip_chars(WHITESPACE))
        frame.columns = names(width)
        filled = frame.select(pl.any_horizontal(pl.all() != "")).to_series().to_numpy()
        odd = []
        for i in np.flatnonzero(~even).tolist():
            cells = [c.strip() for c in lines[i].split(d)]
            if any(cells):
                odd.append((int(numbers[i]), cells))
        block = Block(numbers[even][filled], frame.filter(filled), odd)
        if not self._width and len(block):  # no header: the first row's width
            even_first = len(block.numbers) and (not odd or block.numbers[0] < odd[0][0])
            self._width = width if even_first else len(odd[0][1])
        return block

    def fraction(self) -> float | None:
        return min(1.0, self._raw.tell() / self.size) if self.size else 1.0

    def close(self) -> None:
        self._raw.close()


_cell_text = sheets.cell_text  # a calamine value as text (the child renders every cell so)


def sheet_limits() -> sheets.Limits:
    """What reading one spreadsheet may cost, from the settings."""
    return sheets.Limits(
        max_bytes=settings.REGISTRAR_MAX_UNZIPPED_BYTES,
        max_cells=settings.REGISTRAR_MAX_SHEET_CELLS,
        max_columns=settings.REGISTRAR_MAX_SHEET_COLUMNS,
        memory_mb=settings.REGISTRAR_SHEET_MEMORY_MB,
        cpu_seconds=settings.REGISTRAR_SHEET_CPU_SECONDS,
    )


class SheetTable(Table):
    """The first sheet of an .xlsx, .xls or .ods file, parsed in a child process with its own
    memory and CPU limits (sheets.ChildReader): no spreadsheet can take this process down.

    Cells sit at their column (A first), rows padded to the header's width; `total` is known
    for .xls and .ods only."""

    def __init__(self, path: str, kind: str, header: bool = True):
        super().__init__(path, header)
        self.format = kind
        self.delimiter = ";"
        limits = sheet_limits()
        bound_zip(path, kind, limits)
        self._child = sheets.ChildReader(path, kind, limits)
        self._rows = self._child.rows()
        self._number = 0
        if header:
            first = self._next()
            if first is not None:
                self._number, self.headers = first
        last = self._child.last_row
        self.total = None if last is None else max(0, last - self._number)

    def _next(self) -> tuple[int, list[str]] | None:
        try:
            return next(self._rows, None)
        except sheets.Refusal as e:
            self.close()
            raise FileError(e.code, reason=e.reason) from None

    def rows(self):
        # Rows as wide as the header, as calamine's grid gave them (the child sends each row
        # up to its last value only).
        width = len(self.headers or ())
        while (row := self._next()) is not None:
            self._number, cells = row
            if len(cells) < width:
                cells += [""] * (width - len(cells))
            yield row

    def fraction(self) -> float | None:
        last = self._child.last_row
        if last:
            return min(1.0, self._number / last)
        return self._child.fraction

    @property
    def child_peak_kib(self) -> int | None:
        """The child's peak resident memory, once it has finished."""
        return self._child.peak_kb

    def close(self) -> None:
        self._child.close()


def bound_zip(path: str, kind: str = "xlsx", limits: sheets.Limits | None = None) -> None:
    """Refuse, before any child runs, a zip that is not one or would inflate past the bound,
    and an .xlsx whose first sheet declares more cells than allowed (central directory and
    the sheet's first KiBs only: nothing is inflated whole)."""
    try:
        sheets.check_file(path, kind, limits or sheet_limits())
    except sheets.Refusal as e:
        raise FileError(e.code, reason=e.reason) from None


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
