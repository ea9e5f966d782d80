"""Streaming writers for the results, rejects and log files."""

import csv
import os
import shutil

import polars as pl

ESCAPE_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FIRST = frozenset(ESCAPE_PREFIXES)
FORMULA = r"^[=+\-@\t\r]"  # a text starting with one of ESCAPE_PREFIXES, as a pattern


def escape_formula(value: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula (SPEC §6): a leading quote."""
    return "'" + value if value and value.startswith(ESCAPE_PREFIXES) else value


def escape_row(cells) -> list:
    """Every cell of a row escaped; non-text cells (row numbers) as they are."""
    first = _FIRST
    return [("'" + c) if isinstance(c, str) and c[:1] in first else c for c in cells]


def escape_column(name: str) -> pl.Expr:
    """escape_formula over a text column."""
    col = pl.col(name)
    return pl.when(col.str.contains(FORMULA)).then(pl.lit("'") + col).otherwise(col).alias(name)


def log_line(text: str) -> str:
    """A log line that stays one line and never starts a cell a spreadsheet would evaluate:
    line breaks and tabs inside it become spaces."""
    return escape_formula(text.replace("\r", " ").replace("\n", " ").replace("\t", " "))


class TableWriter:
    """Rows out to CSV (given separator and encoding) or .xlsx (constant memory).

    `escape`: CSV cells a spreadsheet would evaluate get a leading quote (results files). An
    .xlsx cell is always written as text, which no spreadsheet evaluates, so it stays as is."""

    def __init__(
        self,
        path: str,
        fmt: str = "csv",
        delimiter: str = ",",
        encoding: str = "utf-8-sig",
        escape: bool = False,
    ):
        self.path, self.fmt = path, fmt
        if fmt == "csv":
            self._f = open(path, "w", encoding=encoding, newline="", errors="replace")  # noqa: SIM115
            self._w = csv.writer(self._f, delimiter=delimiter)
            self.write_escaped_many = self._w.writerows  # rows the caller escaped already
            self.delimiter = delimiter
            if escape:
                row, rows = self._w.writerow, self._w.writerows
                self.write = lambda cells: row(escape_row(cells))
                self.write_many = lambda many: rows([escape_row(c) for c in many])
            else:
                self.write = self._w.writerow
                self.write_many = self._w.writerows
        else:
            import xlsxwriter

            self._book = xlsxwriter.Workbook(
                path,
                {
                    "constant_memory": True,
                    "strings_to_formulas": False,
                    "strings_to_numbers": False,
                    "strings_to_urls": False,
                },
            )
            self._sheet = self._book.add_worksheet()
            self._row = 0
            self.write = self._write_xlsx
            self.write_many = lambda rows: [self._write_xlsx(r) for r in rows]

    def write_frame(self, frame: pl.DataFrame) -> None:
        """A frame's rows (cells the caller escaped), as write_escaped_many writes them (CSV)."""
        # An empty text is quoted by the library ("") unless it is null: csv.writer leaves it bare.
        text = frame.with_columns(pl.col(pl.String).replace("", None)).write_csv(
            None,
            include_header=False,
            separator=self.delimiter,
            line_terminator="\r\n",
            quote_style="necessary",
        )
        self._f.write(text)

    def _write_xlsx(self, cells) -> None:
        for i, v in enumerate(cells):
            self._sheet.write_string(self._row, i, "" if v is None else str(v))
        self._row += 1

    def close(self) -> None:
        if self.fmt == "csv":
            self._f.close()
        else:
            self._book.close()


# The formats a results or rejects copy may ask for by its extension.
COPY_FORMATS = {".csv": "csv", ".xlsx": "xlsx"}


def copy_format(path: str) -> str | None:
    """The format a copy's extension asks for (csv or xlsx); None without an extension (the
    file's own format). Another extension raises ValueError naming it."""
    ext = os.path.splitext(path)[1]
    if not ext:
        return None
    try:
        return COPY_FORMATS[ext.lower()]
    except KeyError:
        raise ValueError(
            f"{ext!r} is not a format Registrar writes: name the file .csv or .xlsx"
        ) from None


def copy_table(
    src: str, fmt: str, dst: str, delimiter: str, encoding: str, escape: bool = False
) -> None:
    """Copy a results or rejects file (`fmt`, and for CSV its `delimiter` and `encoding`) to
    `dst` in the format dst's extension asks for: the same bytes when it is the same format,
    else every row rewritten (`escape`: formulas, for a CSV results file)."""
    want = copy_format(dst) or fmt
    if want == fmt:
        shutil.copyfile(src, dst)
        return
    from .readers import open_table

    csv_in = fmt == "csv"
    table = open_table(
        src,
        header=False,
        delimiter=delimiter if csv_in else None,
        encoding=encoding if csv_in else None,
    )
    out = TableWriter(dst, want, delimiter, "utf-8-sig", escape=escape and want == "csv")
    width = None
    try:
        for _, cells in table.rows():
            width = len(cells) if width is None else width
            out.write(cells + [""] * (width - len(cells)))  # a sheet drops trailing empty cells
    finally:
        table.close()
        out.close()
