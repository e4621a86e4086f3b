"""csbench.commits.builds: the build report's commits in the order of their dates."""

from __future__ import annotations

import json
from pathlib import Path

from csbench.commits.builds import built_commits


def test_built_commits_are_newest_first_by_instant_whatever_their_utc_offset(
    tmp_path: Path,
) -> None:
    """12:00+03:00 is 09:00 UTC, before 10:00+00:00: the strings sort the other way."""
    dates = {
        "a" * 40: "2025-06-01T12:00:00+03:00",
        "b" * 40: "2025-06-01T10:00:00+00:00",
        "c" * 40: "2025-06-01T11:00:00+03:00",
        "d" * 40: "2025-06-01T13:00:00+03:00",
    }
    report = tmp_path / "build-report.jsonl"
    report.write_text("".join(
        json.dumps({"commit": c, "date": d, "subject": "s", "status": s}) + "\n"
        for (c, d), s in zip(dates.items(), ("built", "built", "built", "failed"), strict=True)
    ))  # fmt: skip
    assert built_commits(report) == ["b" * 40, "a" * 40, "c" * 40]
