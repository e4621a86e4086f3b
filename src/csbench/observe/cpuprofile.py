"""``csbench profile``: where one benchmark op's time goes, from JavaScriptCore's sampling
profiler in the driver (bun:jsc ``profile`` around the batch loop: driver/cpuprofile.ts).

The op is set up as asv sets it up (the benchmark class's ``setup``, csbench.measure.pairs
Case) and warmed up; then rounds of two batches of its ``time_`` method, one sampled and
one not, in alternating order. The sampled batches make the profile (the set-up is never
in it); the median over rounds of sampled / unsampled mean op time is the sampling
overhead. Each function is marked as Collection Store's own code, a dependency (its npm
name), csbench's driver, or the runtime (Bun's builtins and native code).
"""

from __future__ import annotations

import html
import json
import re
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csbench.measure import atomic
from csbench.measure.bridge import Batch, DriverError
from csbench.measure.build import MONOREPO_PACKAGE
from csbench.measure.pairs import Case, warmed_up
from csbench.measure.paths import DRIVER_MAIN
from csbench.observe import tables

INTERVAL_US = 100  # the sampling interval
MIN_ROUNDS = 10  # rounds of one sampled and one unsampled batch, at least
DRIVER_DIR = DRIVER_MAIN.parent

KINDS = ("collection-store", "dependency", "csbench", "runtime")
_PACKAGE = re.compile(r".*/node_modules/((?:@[^/]+/)?[^/]+)/(.*)")


@dataclass(frozen=True)
class Function:
    """A function as the profiler names it (its code hash tells apart anonymous ones)."""

    name: str
    url: str
    hash: str
    builtin: bool

    @property
    def label(self) -> str:
        return self.name or "(anonymous)"


@dataclass(frozen=True)
class Origin:
    kind: str  # one of KINDS
    package: str  # the npm name of a dependency; else the kind
    path: str  # the file, relative to its package (or the tree); "" for native code


def origin(fn: Function, tree: Path) -> Origin:
    """Whose code ``fn`` is, given the Collection Store ``tree`` it ran from."""
    if fn.builtin or not fn.url or not fn.url.startswith("/"):
        return Origin("runtime", "runtime", fn.url)
    url = Path(fn.url)
    if url.is_relative_to(DRIVER_DIR):
        return Origin("csbench", "csbench", str(url.relative_to(DRIVER_DIR)))
    for root in (tree / MONOREPO_PACKAGE, tree):  # the package's own files in either layout
        if url.is_relative_to(root) and "node_modules" not in url.relative_to(root).parts:
            return Origin("collection-store", "collection-store", str(url.relative_to(root)))
    m = _PACKAGE.fullmatch(fn.url)  # in the tree's node_modules, or hoisted beside the tree
    if m:
        return Origin("dependency", m[1], m[2])
    return Origin("runtime", "runtime", fn.url)


STORED_TREE = Path("/collection-store")  # where a stored profile's files are read back


def portable_url(fn: Function, tree: Path) -> str:
    """``fn``'s file without this machine's paths: ``cs:PATH`` (Collection Store's own),
    ``npm:PACKAGE/PATH``, ``csbench:PATH`` (the driver), else the runtime's own name."""
    o = origin(fn, tree)
    prefix = {"collection-store": "cs:", "dependency": f"npm:{o.package}/", "csbench": "csbench:"}
    return (
        prefix[o.kind] + o.path if o.kind in prefix else ("" if fn.url.startswith("/") else fn.url)
    )


def local_url(url: str) -> str:
    """A portable_url as a file under STORED_TREE (or the driver), which ``origin`` reads
    back to the same package and path."""
    for prefix, root in (("cs:", STORED_TREE), ("npm:", STORED_TREE / "node_modules"),
                         ("csbench:", DRIVER_DIR)):  # fmt: skip
        if url.startswith(prefix):
            return str(root / url[len(prefix) :])
    return url


@dataclass
class Profile:
    """Samples of one op: each stack innermost first, as (function index, line) pairs."""

    interval_us: int
    functions: list[Function] = field(default_factory=list)
    stacks: list[tuple[tuple[int, int], ...]] = field(default_factory=list)
    samples: list[int] = field(default_factory=list)  # stack index per sample, in order

    @classmethod
    def merge(cls, replies: list[dict[str, Any]], interval_us: int) -> Profile:
        """The profiles of several batches (driver/cpuprofile.ts CompactProfile) as one."""
        out = cls(interval_us)
        fn_index: dict[Function, int] = {}
        stack_index: dict[tuple[tuple[int, int], ...], int] = {}
        for reply in replies:
            fns = []
            for name, url, code_hash, builtin in reply["functions"]:
                fn = Function(str(name), str(url), str(code_hash), bool(builtin))
                fns.append(fn_index.setdefault(fn, len(fn_index)))
            stacks = []
            for flat in reply["stacks"]:
                stack = tuple((fns[flat[i]], int(flat[i + 1])) for i in range(0, len(flat), 2))
                stacks.append(stack_index.setdefault(stack, len(stack_index)))
            out.samples.extend(stacks[s] for s in reply["samples"])
        out.functions = list(fn_index)
        out.stacks = list(stack_index)
        return out

    def pruned(self, tree: Path, least: float = 0.001) -> dict[str, Any]:
        """What a report or a flame graph needs, small enough to keep per commit and free of
        this machine's paths: each stack with its count (the samples' order dropped), stacks
        under ``least`` of the samples left out (a flame graph does not draw them), only the
        functions still used, each file named by whose code it is (``portable_url``)."""
        counts = Counter(self.samples)
        keep = [s for s, n in counts.most_common() if n >= least * len(self.samples)]
        used = sorted({fn for s in keep for fn, _ in self.stacks[s]})
        index = {fn: i for i, fn in enumerate(used)}
        fns = [self.functions[fn] for fn in used]
        return {
            "interval_us": self.interval_us,
            "samples": len(self.samples),
            "functions": [[f.name, portable_url(f, tree), f.hash, int(f.builtin)] for f in fns],
            "stacks": [[v for fn, line in self.stacks[s] for v in (index[fn], line)] for s in keep],
            "counts": [counts[s] for s in keep],
        }

    @classmethod
    def from_pruned(cls, data: dict[str, Any]) -> Profile:
        """A profile of the kept stacks (their samples in stack order), its files under
        STORED_TREE."""
        samples = [i for i, n in enumerate(data["counts"]) for _ in range(n)]
        fns = [[name, local_url(url), h, b] for name, url, h, b in data["functions"]]
        return cls.merge([{**data, "functions": fns, "samples": samples}], data["interval_us"])

    def to_json(self) -> dict[str, Any]:
        """The compact form (driver/cpuprofile.ts's, for all batches at once)."""
        return {
            "interval_us": self.interval_us,
            "functions": [[f.name, f.url, f.hash, int(f.builtin)] for f in self.functions],
            "stacks": [[v for frame in stack for v in frame] for stack in self.stacks],
            "samples": self.samples,
        }


@dataclass(frozen=True)
class FunctionShare:
    function: Function
    origin: Origin
    self_samples: int  # samples with the function innermost
    total_samples: int  # samples with the function anywhere on the stack
    line: int  # its most sampled line, else the line calling what was sampled (0: native)

    @property
    def where(self) -> str:
        """file:line, or "(native)"."""
        return file_line(self.origin, self.line) or "(native)"


def file_line(o: Origin, line: int) -> str:
    """``path:line`` of a function's origin ("" for native code; no line when unknown)."""
    return o.path + (f":{line}" if line else "") if o.path else ""


def shares(profile: Profile, tree: Path) -> list[FunctionShare]:
    """Every sampled function, by self samples then total samples (most first)."""
    per_stack = Counter(profile.samples)
    self_n: Counter[int] = Counter()
    total_n: Counter[int] = Counter()
    self_lines: dict[int, Counter[int]] = {}  # where its own samples landed
    call_lines: dict[int, Counter[int]] = {}  # where it called the sampled function
    for stack_id, n in per_stack.items():
        stack = profile.stacks[stack_id]
        if stack:
            fn, line = stack[0]
            self_n[fn] += n
            self_lines.setdefault(fn, Counter())[line] += n
        for fn in {f for f, _ in stack}:
            total_n[fn] += n
        for fn, line in stack[1:]:
            call_lines.setdefault(fn, Counter())[line] += n

    def line_of(fn: int) -> int:
        lines = self_lines.get(fn) or call_lines.get(fn)
        return lines.most_common(1)[0][0] if lines else 0

    out = [
        FunctionShare(profile.functions[i], origin(profile.functions[i], tree), self_n[i],
                      total_n[i], line_of(i))
        for i in total_n
    ]  # fmt: skip
    return sorted(out, key=lambda s: (-s.self_samples, -s.total_samples, s.function.label))


def owned(profile: Profile, origins: list[Origin]) -> Counter[int]:
    """Samples per function by the innermost frame that is not the runtime's (native code
    and Bun's builtins count for the code that called them: a hash computed for csbench's
    check is csbench's, one computed by Collection Store is its own; a method that spins in
    performance.now() is that method); the runtime keeps only samples with nothing else on
    the stack. ``origins`` are the functions' origins, in ``profile.functions`` order."""
    out: Counter[int] = Counter()
    for stack_id, count in Counter(profile.samples).items():
        stack = [fn for fn, _ in profile.stacks[stack_id]]
        if stack:
            out[next((fn for fn in stack if origins[fn].kind != "runtime"), stack[0])] += count
    return out


def by_origin(profile: Profile, tree: Path) -> dict[str, float]:
    """Share of samples per package, native code counted for its caller (``owned``)."""
    n = len(profile.samples) or 1
    origins = [origin(f, tree) for f in profile.functions]
    out: Counter[str] = Counter()
    for fn, count in owned(profile, origins).items():
        out[origins[fn].package] += count
    return {k: v / n for k, v in out.most_common()}


@dataclass(frozen=True)
class FrameSplit:
    """Samples per name of a frame (``by_frame``): those whose stack holds the frame, and
    those estimated for it; the rest unattributed."""

    direct: dict[str, float]
    estimated: dict[str, float]
    unattributed: float
    samples: int

    def share(self, name: str) -> float:
        n = self.samples or 1
        return (self.direct.get(name, 0.0) + self.estimated.get(name, 0.0)) / n


def by_frame(profile: Profile, prefix: str) -> FrameSplit:
    """Samples per NAME of a frame named ``prefix``NAME (a load request's op:
    driver/load.ts ``namedRunner``). A sample whose stack holds such a frame is that name's
    (the innermost one). An async function resumed after an await starts a stack of its
    own, without the frame: such a sample is split among the names as the samples of its
    outermost function that did hold a frame were, and is unattributed if none did."""
    direct: Counter[str] = Counter()
    under: dict[int, Counter[str]] = {}  # function -> samples per name, where a frame was
    rest: Counter[int] = Counter()  # stack -> samples without a frame
    for stack_id, count in Counter(profile.samples).items():
        stack = [fn for fn, _ in profile.stacks[stack_id]]
        names = [profile.functions[fn].name for fn in stack]
        named = next((x[len(prefix) :] for x in names if x.startswith(prefix)), None)
        if named is None:
            rest[stack_id] += count
            continue
        direct[named] += count
        for fn in set(stack):
            under.setdefault(fn, Counter())[named] += count
    estimated: Counter[str] = Counter()
    unattributed = 0.0
    for stack_id, count in rest.items():
        outer = next((fn for fn, _ in reversed(profile.stacks[stack_id]) if fn in under), None)
        if outer is None:
            unattributed += count
            continue
        split = under[outer]
        total = sum(split.values())
        for name, n in split.items():
            estimated[name] += count * n / total
    return FrameSplit(dict(direct), dict(estimated), unattributed, len(profile.samples))


def to_cpuprofile(profile: Profile) -> dict[str, Any]:
    """The Chrome DevTools .cpuprofile of the samples (speedscope opens it too): one node per
    call path, outermost first; a function's line is the first of its sampled lines."""
    first_line: dict[int, int] = {}
    for stack in profile.stacks:
        for fn, line in stack:
            if line and (fn not in first_line or line < first_line[fn]):
                first_line[fn] = line
    scripts: dict[str, str] = {}

    def call_frame(fn_id: int) -> dict[str, Any]:
        fn = profile.functions[fn_id]
        return {
            "functionName": fn.name,
            "scriptId": scripts.setdefault(fn.url, str(len(scripts) + 1)),
            "url": fn.url,
            "lineNumber": first_line.get(fn_id, 0) - 1,
            "columnNumber": -1 if fn_id not in first_line else 0,
        }

    root = {"id": 1, "callFrame": {"functionName": "(root)", "scriptId": "0", "url": "",
                                   "lineNumber": -1, "columnNumber": -1},
            "hitCount": 0, "children": []}  # fmt: skip
    nodes = [root]
    child_of: dict[tuple[int, int], dict[str, Any]] = {}
    leaf_of_stack: list[dict[str, Any]] = []
    for stack in profile.stacks:
        node = root
        for fn, _ in reversed(stack):
            key = (node["id"], fn)
            if key not in child_of:
                child = {"id": len(nodes) + 1, "callFrame": call_frame(fn), "hitCount": 0,
                         "children": [], "positionTicks": Counter()}  # fmt: skip
                nodes.append(child)
                node["children"].append(child["id"])
                child_of[key] = child
            node = child_of[key]
        leaf_of_stack.append(node)
    for stack_id in profile.samples:
        leaf = leaf_of_stack[stack_id]
        leaf["hitCount"] += 1
        line = profile.stacks[stack_id][0][1] if profile.stacks[stack_id] else 0
        if line:
            leaf["positionTicks"][line] += 1
    for node in nodes[1:]:
        ticks = node.pop("positionTicks")
        if ticks:
            node["positionTicks"] = [{"line": ln, "ticks": t} for ln, t in sorted(ticks.items())]
    n = len(profile.samples)
    return {
        "nodes": nodes,
        "startTime": 0,
        "endTime": n * profile.interval_us,
        "samples": [leaf_of_stack[s]["id"] for s in profile.samples],
        "timeDeltas": [profile.interval_us] * n,
    }


_COLORS = dict(zip(KINDS, ("#4e79a7", "#f28e2b", "#59a14f", "#9c9c9c"), strict=True))


def flamegraph_svg(profile: Profile, tree: Path, title: str, width: int = 1200) -> str:
    """A flame graph (callers below callees) as a standalone SVG: each box a call path,
    its width its share of samples, its colour whose code it is; a tooltip gives the
    function, file:line and samples. Boxes under 0.1 % of the samples are left out."""
    total = len(profile.samples)
    tree_root: dict[str, Any] = {"n": 0, "kids": {}}
    for stack_id, n in Counter(profile.samples).items():
        node = tree_root
        node["n"] += n
        for fn, line in reversed(profile.stacks[stack_id]):
            node = node["kids"].setdefault(fn, {"n": 0, "kids": {}, "lines": Counter()})
            node["n"] += n
            node["lines"][line] += n
    row, top = 16, 28
    boxes: list[str] = []
    depth_max = 0

    def place(node: dict[str, Any], x: float, depth: int) -> None:
        nonlocal depth_max
        for fn, kid in sorted(node["kids"].items(), key=lambda kv: -kv[1]["n"]):
            w = kid["n"] / total * width
            if kid["n"] / total >= 0.001:
                depth_max = max(depth_max, depth)
                f = profile.functions[fn]
                o = origin(f, tree)
                where = file_line(o, kid["lines"].most_common(1)[0][0])
                where = f"{o.package}: {where}" if where else o.package
                tip = f"{f.label} ({where}): {kid['n']} samples, {kid['n'] / total:.1%}"
                label = html.escape(f.label if w > 8 * len(f.label) else f.label[: int(w / 8)])
                y = -(depth + 1) * row  # above the baseline the group is moved to
                boxes.append(
                    f'<g><title>{html.escape(tip)}</title><rect x="{x:.1f}" y="{y}" '
                    f'width="{max(w - 0.5, 0.5):.1f}" height="{row - 1}" '
                    f'fill="{_COLORS[o.kind]}"/>'
                    + (f'<text x="{x + 3:.1f}" y="{y + 12}">{label}</text>' if w > 30 else "")
                    + "</g>"
                )
                place(kid, x, depth + 1)
            x += w

    place(tree_root, 0.0, 0)
    height = top + (depth_max + 1) * row + 24
    legend = "  ".join(f'<tspan fill="{c}">■ {k}</tspan>' for k, c in _COLORS.items())
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="monospace" font-size="11">',
        f'<text x="0" y="14" font-size="13">{html.escape(title)} ({total} samples)</text>',
        f'<g transform="translate(0,{height - 24})">',
        *boxes,
        "</g>",
        f'<text x="0" y="{height - 6}">{legend}</text>',
        "</svg>",
    ])  # fmt: skip


@dataclass
class ProfileRun:
    """What ``measure`` saw: the profile, and per round the sampled / unsampled ratio."""

    case: str
    tree: Path
    profile: Profile
    overhead: list[float]
    sampled: list[Batch] = field(repr=False)

    @property
    def overhead_ratio(self) -> float:
        return statistics.median(self.overhead)


def measure(
    target: Path, case: Case, seconds: float = 2.0, interval_us: int = INTERVAL_US
) -> ProfileRun:
    """``case``'s op on ``target`` in one pinned driver: warm-up, then rounds of a sampled
    and an unsampled batch (the order alternating) until the sampled batches hold
    ``seconds`` of op time, at least MIN_ROUNDS."""
    sampled: list[Batch] = []
    overhead: list[float] = []
    with warmed_up(target, case) as (drv, bench):
        r = 0
        while r < MIN_ROUNDS or sum(b.busy_ns for b in sampled) < seconds * 1e9:
            got: dict[bool, Batch] = {}
            for on in (True, False) if r % 2 == 0 else (False, True):
                drv.profile_interval_us = interval_us if on else None
                got[on] = case.batch(bench)
            drv.profile_interval_us = None
            sampled.append(got[True])
            overhead.append(got[True].mean_ns / got[False].mean_ns)
            r += 1
    replies = [b.profile for b in sampled if b.profile is not None]
    return ProfileRun(case.name, target, Profile.merge(replies, interval_us), overhead, sampled)


def render(run: ProfileRun, top: int = 20) -> str:
    """The top functions by self samples, and the share of each package."""
    n = len(run.profile.samples) or 1
    rows = []
    for s in shares(run.profile, run.tree)[:top]:
        rows.append((f"{s.self_samples / n:.1%}", f"{s.total_samples / n:.1%}",
                     s.function.label[:40], s.origin.package, s.where[-60:]))  # fmt: skip
    by_package = list(by_origin(run.profile, run.tree).items())[:8]
    packages = ", ".join(f"{k} {v:.1%}" for k, v in by_package)
    ops = sum(b.count for b in run.sampled)
    cpu_ms = sum(b.cpu_ns for b in run.sampled) / 1e6
    return "\n".join([
        f"{run.case}: {len(run.profile.samples)} samples (asked every "
        f"{run.profile.interval_us} µs, taken every {cpu_ms * 1e3 / n:.0f} µs of CPU time) "
        f"over {ops} ops in {len(run.sampled)} batches",
        f"sampling overhead on the op's mean time: {run.overhead_ratio - 1:+.1%} "
        f"(median of {len(run.overhead)} rounds, sampled / unsampled batch)",
        f"self time by package: {packages}",
        tables.render(
            ("self", "total", "function", "package", "file:line"),
            rows,
            align=("right", "right", "left", "left", "left"),
        ),
    ])  # fmt: skip


@dataclass(frozen=True)
class Change:
    """One function at the base and at the head: its self share of the samples and its
    self and total CPU µs per op."""

    function: str
    origin: Origin
    base_share: float
    head_share: float
    base_self: float
    head_self: float
    base_total: float
    head_total: float

    @property
    def grew(self) -> float:
        """Its self share's growth: a drift of the host that slows every function alike
        leaves shares as they were, so the function that grew most is the changed one."""
        return self.head_share - self.base_share


def per_function(run: ProfileRun) -> dict[tuple[str, str, str], tuple[float, float, float, str]]:
    """Per function (package, file, name): its self share of the samples (native code
    counted for its caller: ``owned``), its self and total CPU µs per op (shares times the
    sampled batches' CPU time per op), and its kind."""
    ops = sum(b.count for b in run.sampled) or 1
    n = len(run.profile.samples) or 1
    us_per_sample = sum(b.cpu_ns for b in run.sampled) / ops / 1e3 / n
    origins = [origin(f, run.tree) for f in run.profile.functions]

    def key(fn: int) -> tuple[str, str, str]:
        return origins[fn].package, origins[fn].path, run.profile.functions[fn].label

    self_n: Counter[tuple[str, str, str]] = Counter()
    for fn, count in owned(run.profile, origins).items():
        self_n[key(fn)] += count
    total_n: Counter[tuple[str, str, str]] = Counter()
    kinds: dict[tuple[str, str, str], str] = {}
    for stack_id, count in Counter(run.profile.samples).items():
        stack = [fn for fn, _ in run.profile.stacks[stack_id]]
        for fn in stack:
            kinds[key(fn)] = origins[fn].kind
        for k in {key(fn) for fn in stack}:
            total_n[k] += count
    return {
        k: (self_n[k] / n, self_n[k] * us_per_sample, total_n[k] * us_per_sample, kinds[k])
        for k in total_n
    }


def diff(base: ProfileRun, head: ProfileRun) -> list[Change]:
    """Every function of either profile, the one whose self share grew most first.
    Functions are matched by package, file and name (their code hash changes with their
    source, and each tree has its own path)."""
    a, b = per_function(base), per_function(head)
    out = []
    for key in a.keys() | b.keys():
        package, path, name = key
        kind = (b.get(key) or a[key])[3]
        sha, sa, ta, _ = a.get(key, (0.0, 0.0, 0.0, kind))
        shb, sb, tb, _ = b.get(key, (0.0, 0.0, 0.0, kind))
        out.append(Change(name, Origin(kind, package, path), sha, shb, sa, sb, ta, tb))
    return sorted(out, key=lambda c: (-c.grew, c.function))


EXPLAINED = 5  # regressions profiled at both commits per ci or triage run, largest first


def explanation(base: ProfileRun, head: ProfileRun, top: int = 15) -> dict[str, Any]:
    """What changed from ``base`` to ``head``, compact and JSON-able (a triage verdict keeps
    it): CPU µs per op and samples at each, and the ``top`` functions whose self share grew
    most, then the three that shrank most."""
    changes = diff(base, head)
    shown = changes[:top] + [c for c in changes[-3:] if c.grew < 0 and c not in changes[:top]]
    return {
        "case": head.case,
        "cpu_per_op_us": [
            sum(b.cpu_ns for b in r.sampled) / (sum(b.count for b in r.sampled) or 1) / 1e3
            for r in (base, head)
        ],
        "samples": [len(base.profile.samples), len(head.profile.samples)],
        "changes": [
            {"function": c.function, "kind": c.origin.kind, "package": c.origin.package,
             "file": c.origin.path, "share": [c.base_share, c.head_share],
             "self_us": [c.base_self, c.head_self], "total_us": [c.base_total, c.head_total]}
            for c in shown
        ],
    }  # fmt: skip


def explain(base: Path, head: Path, case: Case, seconds: float = 1.0) -> dict[str, Any]:
    """``case`` profiled on the base tree and on the head tree: its ``explanation``."""
    return explanation(measure(base, case, seconds), measure(head, case, seconds))


def explain_each(
    base: Path, head: Path, cases: list[Case], log: Callable[[str], None]
) -> dict[str, dict[str, Any]]:
    """The ``explanation`` of each of the first EXPLAINED ``cases`` by name; a case whose
    profile fails is a log line and left out (the verdict it explains stands without it)."""
    out = {}
    for case in cases[:EXPLAINED]:
        log(f"csbench: profiling {case.name} at both commits")
        try:
            out[case.name] = explain(base, head, case)
        except DriverError as exc:
            log(f"csbench: no profile of {case.name}: {str(exc).splitlines()[0]}")
    return out


def grew_most(explained: dict[str, Any]) -> str | None:
    """The function whose self share grew most, if any grew."""
    first = explained["changes"][0] if explained["changes"] else None
    return first["function"] if first and first["share"][1] > first["share"][0] else None


def render_explanation(explained: dict[str, Any], fmt: tables.Format = "text") -> str:
    """Where the head's op spends more (and less) CPU time than the base's, as text,
    Markdown or HTML (``fmt``: tables.render)."""
    rows = [
        (f"{(c['share'][1] - c['share'][0]) * 100:+.1f}", f"{c['share'][0]:.1%}",
         f"{c['share'][1]:.1%}", f"{c['self_us'][1] - c['self_us'][0]:+.2f}",
         f"{c['total_us'][1] - c['total_us'][0]:+.2f}", c["function"][:40], c["package"],
         c["file"][-50:] or "(native)")
        for c in explained["changes"]
    ]  # fmt: skip
    per_op, samples = explained["cpu_per_op_us"], explained["samples"]
    intro = (
        f"{explained['case']}: CPU µs per op {per_op[0]:.2f} at the base, {per_op[1]:.2f} at "
        f"the head ({samples[0]} and {samples[1]} samples); per function its self share of the "
        "samples (native code counted for its caller) at each commit, the largest growth "
        "first, and the change of its self and total CPU µs per op"
    )
    table = tables.render(
        ("share Δ (pp)", "base", "head", "self µs Δ", "total µs Δ", "function", "package",
         "file"),
        rows,
        fmt=fmt,
        align=("right", "right", "right", "right", "right", "left", "left", "left"),
    )  # fmt: skip
    if fmt == "html":
        return f"<p>{html.escape(intro)}</p>{table}"
    return f"{intro}\n\n{table}"


def slug(name: str) -> str:
    """A file name for a benchmark's display name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")


def write(run: ProfileRun, out_dir: Path, suffix: str = "") -> dict[str, Path]:
    """The .cpuprofile, the flame graph and the compact profile with its figures, named
    after the benchmark (and ``suffix``)."""
    base = out_dir / (slug(run.case) + suffix)
    summary = {
        "case": run.case,
        "overhead": run.overhead,
        "ops": sum(b.count for b in run.sampled),
        "by_package": by_origin(run.profile, run.tree),
        "profile": run.profile.to_json(),
    }
    return {
        "cpuprofile": atomic.write_json(f"{base}.cpuprofile", to_cpuprofile(run.profile)),
        "flamegraph": atomic.write_text(
            f"{base}.svg", flamegraph_svg(run.profile, run.tree, run.case)
        ),
        "json": atomic.write_json(f"{base}.json", summary),
    }


def to_json(run: ProfileRun, top: int = 20) -> str:
    n = len(run.profile.samples) or 1
    return json.dumps({
        "case": run.case,
        "samples": len(run.profile.samples),
        "overhead_ratio": run.overhead_ratio,
        "by_package": by_origin(run.profile, run.tree),
        "top": [
            {"function": s.function.label, "kind": s.origin.kind, "package": s.origin.package,
             "file": s.origin.path, "line": s.line, "self": s.self_samples / n,
             "total": s.total_samples / n}
            for s in shares(run.profile, run.tree)[:top]
        ],
    }, indent=1)  # fmt: skip
