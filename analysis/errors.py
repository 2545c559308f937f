"""Errors raised for bad input.

An ``InputError`` always says *which* input is wrong and *what* is wrong with it in words a data manager
understands; it never carries personal data (callers must not put cell values of free-text fields in it).
"""

from __future__ import annotations


class InputError(ValueError):
    """A source or upload cannot be read as the expected table.

    ``code`` is a stable machine-readable reason (used by tests and to pick a translated message on a page),
    ``source`` names the file or source id, and the message explains the problem.
    """

    def __init__(self, code: str, message: str, source: str | None = None):
        self.code = code
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__(f"{prefix}{message}")


class SourceError(RuntimeError):
    """A source in the manifest is missing, corrupt, or would overwrite a changed raw file."""
