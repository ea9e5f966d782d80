"""What reading a spreadsheet may cost, and the refusal when a file would cost more."""

MAX_ROW_TEXT = 1 << 24  # characters in one row: the parent's csv field limit
MAX_MEMBERS = 10_000  # zip members (a real workbook has tens)
CODES = ("file_too_large", "unreadable_file")


class Refusal(Exception):
    """The spreadsheet cannot be read: a file-level code (file_too_large, unreadable_file)."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code, self.reason = code, reason


class Limits:
    """What reading one spreadsheet may cost (0: no limit); each named after its setting.
    (A plain class: the child starts faster without dataclasses.)"""

    __slots__ = ("max_bytes", "max_cells", "max_columns", "memory_mb", "cpu_seconds")

    def __init__(
        self,
        max_bytes: int = 2 << 30,  # REGISTRAR_MAX_UNZIPPED_BYTES
        max_cells: int = 20_000_000,  # REGISTRAR_MAX_SHEET_CELLS
        max_columns: int = 1024,  # REGISTRAR_MAX_SHEET_COLUMNS
        memory_mb: int = 1024,  # REGISTRAR_SHEET_MEMORY_MB
        cpu_seconds: int = 300,  # REGISTRAR_SHEET_CPU_SECONDS
    ):
        self.max_bytes, self.max_cells, self.max_columns = max_bytes, max_cells, max_columns
        self.memory_mb, self.cpu_seconds = memory_mb, cpu_seconds

    def args(self) -> list[str]:
        return [str(getattr(self, name)) for name in self.__slots__]

    @classmethod
    def from_args(cls, args: list[str]) -> "Limits":
        return cls(*(int(a) for a in args))


def too_large_cells(limits: Limits) -> str:
    return f"the limit is {limits.max_cells:,} (REGISTRAR_MAX_SHEET_CELLS)"
