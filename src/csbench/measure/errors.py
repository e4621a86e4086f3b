"""Errors every csbench command reports the same way."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input (an argument, a file, a repository): the CLI prints its message as one line
    ``csbench COMMAND: message`` and exits 2, having written nothing."""

    exit_code = 2
