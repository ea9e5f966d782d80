"""Streaming writers for the results, rejects and log files."""

import csv

ESCAPE_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula."""
    return "'" + value if value and value.startswith(ESCAPE_PREFIXES) else value


class TableWriter:
    """Rows out to CSV (given separator and encoding) or .xlsx (constant memory)."""

    def __init__(
        self, path: str, fmt: str = "csv", delimiter: str = ",", encoding: str = "utf-8-sig"
    ):
        self.path, self.fmt = path, fmt
        if fmt == "csv":
            self._f = open(path, "w", encoding=encoding, newline="", errors="replace")  # noqa: SIM115
            self._w = csv.writer(self._f, delimiter=delimiter)
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

    def _write_xlsx(self, cells) -> None:
        for i, v in enumerate(cells):
            self._sheet.write_string(self._row, i, "" if v is None else str(v))
        self._row += 1

    def close(self) -> None:
        if self.fmt == "csv":
            self._f.close()
        else:
            self._book.close()
