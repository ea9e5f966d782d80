"""Errors every layer may raise: a file or command that cannot be used at all (exit status 2)."""


class FileError(Exception):
    """The file cannot be used at all (exit status 2): a file-level code and its parameters."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params
