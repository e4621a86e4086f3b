"""csbench's one table renderer, on tabulate (which asv itself uses): plain text for the
terminal, GitHub Markdown for pull-request summaries and notes, HTML for the site."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Literal

from tabulate import tabulate

Format = Literal["text", "markdown", "html"]


def day(ms: int | None, missing: str = "?") -> str:
    """A commit date as asv stores it (ms since the epoch) as a YYYY-MM-DD cell (UTC);
    ``missing`` when there is none."""
    return time.strftime("%Y-%m-%d", time.gmtime(ms / 1000)) if ms else missing


def render(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    fmt: Format = "text",
    align: Sequence[str] | None = None,
    rule: bool = False,
) -> str:
    """``rows`` under ``header``, cells as given (already formatted: no number parsing;
    escaped in HTML); ``align`` per column ("left", "right"), left by default; ``rule``: a
    dashed line under the header of a text table; no trailing spaces."""
    tablefmt = {"markdown": "github", "html": "html"}.get(fmt, "simple" if rule else "plain")
    text = tabulate(
        [[str(c) for c in row] for row in rows],
        [str(h) for h in header],
        tablefmt=tablefmt,
        disable_numparse=True,
        stralign="left",
        colalign=tuple(align) if align else None,
    )
    return "\n".join(line.rstrip() for line in str(text).splitlines())
