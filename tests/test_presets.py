"""benchmarks/presets.yaml (csbench run --profile): every preset's regexes select benchmarks
of the suite as asv matches them; a malformed file is named with its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from csbench.guard import paired
from csbench.measure import presets


def test_every_pattern_of_every_preset_selects_a_benchmark() -> None:
    known = presets.load()
    assert {"quick", "full"} <= set(known) and known["full"].bench == ()
    for preset in known.values():
        for pattern in preset.bench:
            assert paired.asv_selects([pattern]), (preset.name, pattern)
    quick = known["quick"].bench
    assert paired.asv_selects(list(quick))
    # nothing at 1,000 documents: quick's patterns restricted to names that hold small-1000'
    assert not paired.asv_selects([rf"(?=.*small-1000')(?:{'|'.join(quick)})"])


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("quick: [1]", "key 'quick': expected the keys about and bench"),
        ("quick: {about: x, bench: a}", "key 'quick.bench': expected a list"),
        ("quick: {about: x, bench: ['(']}", "key 'quick.bench': '('"),
        ("- quick", "expected a mapping of preset names"),
    ],
)
def test_a_malformed_presets_file_is_named_with_its_key(
    tmp_path: Path, text: str, says: str
) -> None:
    path = tmp_path / "presets.yaml"
    path.write_text(text)
    with pytest.raises(presets.PresetError, match=rf"^{path}: .*") as info:
        presets.load(path)
    assert says in str(info.value)
    with pytest.raises(presets.PresetError, match="no preset 'x'"):
        presets.named("x")
