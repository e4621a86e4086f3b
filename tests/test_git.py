"""csbench.commits.git: the commits a range names, on a throwaway repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from csbench.commits import git
from csbench.measure.errors import UsageError


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, list[str]]:
    """Three commits on main, oldest first."""
    where = tmp_path / "repo"
    git.git(tmp_path, "init", "--quiet", "--initial-branch=main", str(where))
    hashes = []
    for n in range(3):
        git.git(where, "commit", "--quiet", "--allow-empty", "-m", f"commit {n}")
        hashes.append(git.git(where, "rev-parse", "HEAD").strip())
    return where, hashes


def test_a_range_and_a_hashfile_name_full_hashes_newest_first(
    repo: tuple[Path, list[str]], tmp_path: Path
) -> None:
    where, hashes = repo
    assert git.range_commits(where, "main~2..main") == hashes[:0:-1]
    listed = tmp_path / "hashes.txt"
    listed.write_text(f"{hashes[2][:8]}\nmain~2\n")
    spec = f"HASHFILE:{listed}"
    git.check_range(str(where), spec)
    assert git.range_commits(where, spec) == [hashes[2], hashes[0]]


@pytest.mark.parametrize(
    ("content", "message"), [(None, "no such file"), ("main\nnot-a-commit\n", "'not-a-commit'")]
)
def test_a_bad_hashfile_is_one_line(
    repo: tuple[Path, list[str]], tmp_path: Path, content: str | None, message: str
) -> None:
    listed = tmp_path / "hashes.txt"
    if content is not None:
        listed.write_text(content)
    for call in (git.range_commits, git.check_range):
        with pytest.raises(UsageError, match=message):
            call(str(repo[0]), f"HASHFILE:{listed}")
