"""Errors a user can act on: each names the file or data set and what is wrong."""
from __future__ import annotations


class FacelabError(Exception):
    """Base class: the CLI prints these as one line, without a traceback."""


class BadInputError(FacelabError, ValueError):
    """An input file is unreadable, empty, truncated, not an image or malformed."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class DatasetNotFoundError(FacelabError, FileNotFoundError):
    """A data set is not where facelab looked; the message says how to obtain it."""

    def __init__(self, name: str, looked: str, how: str):
        self.name, self.looked, self.how = name, looked, how
        super().__init__(f"data set '{name}' not found at {looked}. {how}")
