"""csbench's one table renderer, on tabulate (which asv itself uses): plain text for the
terminal, GitHub Markdown for pull-request summaries and notes."""

from __future__ import annotations

from collections.abc import Sequence

from tabulate import tabulate


def render(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    markdown: bool = False,
    align: Sequence[str] | None = None,
    rule: bool = False,
) -> str:
    """``rows`` under ``header``, cells as given (already formatted: no number parsing);
    ``align`` per column ("left", "right"), left by default; ``rule``: a dashed line under
    the header of a text table; no trailing spaces."""
    text = tabulate(
        [[str(c) for c in row] for row in rows],
        [str(h) for h in header],
        tablefmt="github" if markdown else "simple" if rule else "plain",
        disable_numparse=True,
        stralign="left",
        colalign=tuple(align) if align else None,
    )
    return "\n".join(line.rstrip() for line in text.splitlines())
