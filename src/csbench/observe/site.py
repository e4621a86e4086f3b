"""``csbench publish``: asv's static site, working offline, with a targets page.

asv's index.html loads jQuery, Flot, Bootstrap and friends from CDNs. The same versions
(npm, pinned below; stupid-table-plugin 1.1.3, the only one npm has, for the CDN's 1.0.1)
are installed into the tools prefix and copied into the site's vendor/ directory, and
every CDN address in the site's HTML is rewritten to the local copy. targets.html is our
own page, plain HTML and inline SVG with no script: per machine and target, the value
over commits with the bound drawn and the A/A noise band of that benchmark
(csbench.guard.calibrate), a pass/fail strip, and the first commit that broke it; the harness
floor over commits beside them.
"""

from __future__ import annotations

import ast
import html
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from asv.util import human_value

from csbench.commits.builds import REPORT_NAME, read_report
from csbench.measure import atomic
from csbench.measure.bun import npm_install
from csbench.measure.paths import tools_dir
from csbench.observe import bottlenecks, calibration, cpuprofile, tables, triaged
from csbench.observe import targets as tg

SITE_PACKAGES = (
    "jquery@3.3.1",
    "flot@0.8.3",
    "flot-orderbars@1.0.0",
    "stupid-table-plugin@1.1.3",
    "blueimp-md5@2.19.0",
    "bootstrap@3.1.1",
)
# CDN address in asv's pages -> file under node_modules (copied to vendor/<same path>)
PLAYWRIGHT = "playwright-core@1.64.1"  # drives Debian's Chromium in check_site
CDN_FILES = {
    "https://code.jquery.com/jquery-3.3.1.min.js": "jquery/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.min.js": "flot/jquery.flot.js",
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.time.min.js": (
        "flot/jquery.flot.time.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.selection.min.js": (
        "flot/jquery.flot.selection.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.categories.min.js": (
        "flot/jquery.flot.categories.js"
    ),
    "https://cdn.jsdelivr.net/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js": (
        "flot-orderbars/js/jquery.flot.orderBars.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/stupidtable/1.0.1/stupidtable.min.js": (
        "stupid-table-plugin/stupidtable.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/blueimp-md5/2.19.0/js/md5.min.js": (
        "blueimp-md5/js/md5.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/js/bootstrap.min.js": (
        "bootstrap/dist/js/bootstrap.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css": (
        "bootstrap/dist/css/bootstrap.min.css"
    ),
}
EXTRA_FILES = ("bootstrap/dist/fonts",)  # bootstrap.min.css loads ../fonts/*
CDN_PATTERN = re.compile(
    r"https?://(?:code\.jquery\.com|cdnjs\.cloudflare\.com|cdn\.jsdelivr\.net)/"
)
VENDOR_INTEGRITY = re.compile(
    r'((?:src|href)="vendor/[^"]+")\s+integrity="[^"]*"(?:\s+crossorigin(?:="[^"]*")?)?'
)
FLOOR = ("harness.Floor.time_noop", "harness.Floor.track_roundtrip")


class SiteError(RuntimeError):
    """The site cannot be made offline (an asset is missing, or a CDN address is unknown)."""


def ensure_assets() -> Path:
    """node_modules holding the pinned site packages (installed if any is missing)."""
    modules = tools_dir() / "node_modules"
    missing = [p for p in CDN_FILES.values() if not (modules / p).is_file()]
    if missing or not (modules / "playwright-core").is_dir():
        npm_install(*SITE_PACKAGES, PLAYWRIGHT)
    return modules


def vendor(html_dir: Path, modules: Path) -> list[str]:
    """Copy the assets into html_dir/vendor and point every page at them; returns the pages
    rewritten. Refuses a page that still names a CDN afterwards."""
    for rel in [*CDN_FILES.values(), *EXTRA_FILES]:
        src, dest = modules / rel, html_dir / "vendor" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dest, dirs_exist_ok=True)
        else:
            shutil.copyfile(src, dest)
    rewritten = []
    for page in sorted(html_dir.glob("*.html")):
        text = original = page.read_text()
        for url, rel in CDN_FILES.items():
            text = text.replace(url, f"vendor/{rel}")
        # The CDN files' subresource-integrity hashes do not fit the npm files (cdnjs minified
        # them itself); local files need no integrity check.
        text = VENDOR_INTEGRITY.sub(r"\1", text)
        left = CDN_PATTERN.findall(text)
        if left:
            raise SiteError(f"{page}: still loads from {left[0]} (add it to CDN_FILES)")
        if text != original:
            atomic.write_text(page, text)
            rewritten.append(page.name)
    return rewritten


# csbench's own pages (file stem, title), in asv's navigation bar in this order
OWN_PAGES = (("targets", "Targets"), ("commits", "Commits"), ("profiles", "Profiles"),
             ("triage", "Triage"), ("builds", "Builds"))  # fmt: skip
# what ``csbench publish --check`` opens: asv's own views and csbench's pages
CHECKED_PAGES = ("index.html", "index.html#/summarylist", "index.html#/regressions",
                 *(f"{stem}.html" for stem, _ in OWN_PAGES))  # fmt: skip


def add_nav_link(index: Path) -> None:
    """ "Targets", "Commits", "Profiles", "Triage" and "Builds" entries in asv's navigation
    bar."""
    text = index.read_text()
    anchor = '<li id="nav-li-regressions">'
    if "targets.html" in text:
        return
    if anchor not in text:
        raise SiteError(f"{index}: asv's navigation bar not found (looked for {anchor!r})")
    links = "".join(f'<li><a href="{stem}.html">{title}</a></li>' for stem, title in OWN_PAGES)
    atomic.write_text(index, text.replace(anchor, links + anchor))


@dataclass(frozen=True)
class Point:
    commit: str
    date: int  # ms since the epoch (commit date, as asv stores it)
    value: float | None  # in the target's display unit
    status: str  # pass, fail, not measured


def _svg(points: list[Point], bound: float | None, noise: float | None, unit: str) -> str:
    """A line plot over commits (x: commit order), the bound dashed, the noise band shaded."""
    w, h, pad = 640, 180, 40
    values = [p.value for p in points if p.value is not None and p.value == p.value]
    ys = values + ([bound] if bound is not None else [])
    if not ys:
        return '<p class="empty">no measured value yet</p>'
    lo, hi = min(ys), max(ys)
    if noise:
        hi = max(hi, max(values, default=hi) * (1 + noise))
        lo = min(lo, min(values, default=lo) * (1 - noise))
    lo, hi = (lo * 0.9, hi * 1.1) if hi > lo else (lo - 1, hi + 1)
    n = max(len(points) - 1, 1)

    def x(i: int) -> float:
        return pad + (w - 2 * pad) * i / n

    def y(v: float) -> float:
        return h - pad / 2 - (h - pad) * (v - lo) / (hi - lo)

    parts = [f'<svg class="plot" width="{w}" height="{h}" viewBox="0 0 {w} {h}">']
    measured = [(i, p.value) for i, p in enumerate(points) if p.value is not None]
    if noise and measured:
        upper = " ".join(f"{x(i):.1f},{y(v * (1 + noise)):.1f}" for i, v in measured)
        lower = " ".join(f"{x(i):.1f},{y(v * (1 - noise)):.1f}" for i, v in reversed(measured))
        parts.append(f'<polygon class="noise" points="{upper} {lower}"/>')
    if bound is not None:
        parts.append(
            f'<line class="bound" x1="{pad}" x2="{w - pad}" y1="{y(bound):.1f}" '
            f'y2="{y(bound):.1f}"/><text x="{w - pad}" y="{y(bound) - 4:.1f}" '
            f'text-anchor="end">bound {bound:g} {html.escape(unit)}</text>'
        )
    if len(measured) > 1:
        line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in measured)
        parts.append(f'<polyline class="value" points="{line}"/>')
    for i, p in enumerate(points):
        if p.value is not None:
            parts.append(
                f'<circle class="{p.status}" cx="{x(i):.1f}" cy="{y(p.value):.1f}" r="4">'
                f"<title>{p.commit[:8]}: {p.value:.4g} {html.escape(unit)} ({p.status})</title>"
                "</circle>"
            )
    parts.append(
        f'<text x="{pad}" y="{h - 4}">{lo:.3g}</text>'
        f'<text x="{pad}" y="12">{hi:.3g} {html.escape(unit)}</text></svg>'
    )
    return "".join(parts)


def _strip(points: list[Point]) -> str:
    cells = "".join(
        f'<span class="{p.status.replace(" ", "-")}" title="{p.commit[:8]}: {p.status}"></span>'
        for p in points
    )
    return f'<div class="strip">{cells}</div>'


def _series(
    results_dir: Path, machine: str, target_list: list[tg.Target]
) -> tuple[list[tg.CommitResults], dict[str, list[Point]]]:
    _, per_commit = tg.all_commit_results(results_dir, machine)

    def points(t: tg.Target) -> list[Point]:
        return [Point(j.commit, j.date or 0, j.verdict.value, j.status)
                for j in tg.history(t, per_commit)]  # fmt: skip

    return per_commit, {t.id: points(t) for t in target_list}


def _floor_points(per_commit: list[tg.CommitResults], name: str) -> tuple[list[Point], str]:
    pts, unit = [], ""
    for res in per_commit:
        entry = res.results.get(name)
        value = None
        if isinstance(entry, dict):
            raw = entry.get("result")
            value = raw[0] if isinstance(raw, list) and raw else None
        unit = (res.benchmarks.get(name) or {}).get("unit", "")
        if value is not None and unit == "seconds":
            value *= 1e9
        pts.append(Point(res.commit, 0, value, "measured" if value is not None else "not measured"))
    return pts, "ns" if unit == "seconds" else unit


REFERENCE = "reference.Reference.track_ratio"


def _reference_points(per_commit: list[tg.CommitResults]) -> dict[str, list[Point]]:
    """Per reference benchmark (asv's param label), its ratio at every commit."""
    values: list[dict[str, float]] = []
    for res in per_commit:
        entry = res.results.get(REFERENCE)
        ok = isinstance(entry, dict) and entry.get("params")
        labels = entry["params"][0] if ok else []  # type: ignore[index]
        raw = (entry.get("result") or []) if ok else []  # type: ignore[union-attr]
        values.append({k: v for k, v in zip(labels, raw, strict=False)
                       if isinstance(v, float) and v == v})  # fmt: skip
    labels = dict.fromkeys(k for v in values for k in v)
    return {
        label: [
            Point(res.commit, 0, v.get(label), "measured" if label in v else "not measured")
            for res, v in zip(per_commit, values, strict=True)
        ]
        for label in labels
    }


STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 760px; }
h2 { border-bottom: 1px solid #ccc; }
.plot polyline.value { fill: none; stroke: #36c; stroke-width: 1.5; }
.plot line.bound { stroke: #c33; stroke-dasharray: 6 4; }
.plot polygon.noise { fill: #36c; opacity: 0.12; }
.plot circle.pass, .plot circle.measured { fill: #3a3; } .plot circle.fail { fill: #c33; }
.plot text { font-size: 11px; fill: #555; }
.strip span { display: inline-block; width: 10px; height: 14px; margin-right: 1px; }
.strip .pass { background: #3a3; } .strip .fail { background: #c33; }
.strip .not-measured { background: #ddd; }
.target { margin-bottom: 2em; }
"""


def targets_page(
    results_dir: Path,
    target_list: list[tg.Target],
    thresholds_dir: Path | None = None,
) -> str:
    """targets.html for every machine of ``results_dir``."""
    out = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>csbench targets</title>",
        f"<style>{STYLE}</style></head><body>",
        '<p><a href="index.html">← benchmarks</a></p><h1>Collection Store: targets per commit</h1>',
    ]
    for machine in tg.machines(results_dir):
        per_commit, series = _series(results_dir, machine, target_list)
        cal = calibration.load(machine, thresholds_dir)
        out.append(
            f"<h2>machine {html.escape(machine)}</h2><p>{len(per_commit)} commits, oldest "
            "first. Shaded: the A/A noise of the benchmark on this machine"
            + ("" if cal else " (not calibrated yet: run <code>csbench calibrate</code>)")
            + ".</p>"
        )
        for t in target_list:
            pts = series[t.id]
            noise = cal.noise.get(t.display_name) if cal else None
            broke = tg.first_break(pts)
            broke_text = (
                f"first broken at <code>{broke.commit[:8]}</code>"
                if broke
                else "never broken"
                if any(p.status == "pass" for p in pts)
                else "not yet measured as passing"
            )
            out.append(
                f'<div class="target" id="{t.id}"><h3>{html.escape(t.title)}</h3>'
                f"<p><code>{html.escape(t.id)}</code>: {html.escape(t.bound_text)}, "
                f"{broke_text}. <small>{html.escape(t.source)}</small></p>"
                + _svg(pts, t.bound, noise, t.unit)
                + _strip(pts)
                + "</div>"
            )
        for name in FLOOR:
            pts, unit = _floor_points(per_commit, name)
            out.append(
                f'<div class="target floor"><h3>Harness floor: <code>{name}</code></h3>'
                + _svg(pts, None, None, unit)
                + "</div>"
            )
        for label, pts in _reference_points(per_commit).items():
            noise = cal.history_factors.get(f"{REFERENCE}({label})") if cal else None
            out.append(
                f'<div class="target reference"><h3>Against the reference: '
                f"<code>{html.escape(ast.literal_eval(label))}</code></h3><p>commit / "
                "reference, paired (benchmarks/reference.py); shaded: its history threshold.</p>"
                + _svg(pts, None, None if noise is None else noise - 1.0, "ratio")
                + "</div>"
            )
    out.append("</body></html>")
    return "\n".join(out)


def regressions_thresholds(
    machines: list[str], names: list[str], thresholds_dir: Path | None = None
) -> dict:
    """asv's ``regressions_thresholds`` for the benchmarks ``names`` (display names) from
    every calibrated machine (the loosest wins)."""
    merged: dict[str, float] = {}
    for machine in machines:
        cal = calibration.load(machine, thresholds_dir)
        for key, value in (cal.regressions_thresholds(names) if cal else {}).items():
            merged[key] = max(merged.get(key, 0.0), value)
    return merged


def drop_unmeasured(html_dir: Path) -> list[str]:
    """Remove from index.json the benchmarks that have no results at all (asv lists every
    discovered benchmark, and its grid then asks for graphs that do not exist: 404s)."""
    index = html_dir / "index.json"
    data = json.loads(index.read_text())
    summary = html_dir / "graphs" / "summary"
    gone = [name for name in data["benchmarks"] if not (summary / f"{name}.json").is_file()]
    for name in gone:
        del data["benchmarks"][name]
    atomic.write_text(index, json.dumps(data))
    return gone


def finish(html_dir: Path, results_dir: Path, thresholds_dir: Path | None = None) -> list[str]:
    """After ``asv publish``: vendor the assets, link and write targets.html, triage.html,
    profiles.html, commits.html and builds.html."""
    drop_unmeasured(html_dir)
    rewritten = vendor(html_dir, ensure_assets())
    add_nav_link(html_dir / "index.html")
    atomic.write_text(
        html_dir / "targets.html", targets_page(results_dir, tg.load_targets(), thresholds_dir)
    )
    commits, measured = commits_page(results_dir, tg.load_targets())
    atomic.write_text(html_dir / "commits.html", commits)
    atomic.write_text(html_dir / "builds.html", builds_page(results_dir / REPORT_NAME, measured))
    atomic.write_text(html_dir / "triage.html", triage_page(html_dir, results_dir))
    atomic.write_text(html_dir / "profiles.html", profiles_page(results_dir))
    return rewritten


CHECK_SCRIPT = Path(__file__).with_name("site_check.mjs")
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package `chromium`


def check_site(html_dir: Path, screenshot: Path, pages: tuple[str, ...]) -> dict:
    """Serve ``html_dir`` on localhost and load ``pages`` in headless Chromium with every
    request off localhost aborted; returns site_check.mjs's report per page."""
    import functools
    import http.server
    import os
    import subprocess
    import threading

    node = shutil.which("node")
    chromium = Path(os.environ.get("CSBENCH_CHROMIUM", CHROMIUM))
    if node is None or not chromium.is_file():
        raise SiteError(f"need node and Chromium ({chromium}; Debian package `chromium`)")
    modules = ensure_assets()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [node, str(CHECK_SCRIPT), base, str(screenshot), *pages],
            capture_output=True,
            text=True,
            timeout=300,
            env=dict(os.environ, CSBENCH_NODE_MODULES=str(modules), CSBENCH_CHROMIUM=str(chromium)),
        )
    finally:
        server.shutdown()
    if proc.returncode != 0:
        raise SiteError(f"site check failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _families(res: tg.CommitResults) -> list[str]:
    """The benchmark modules (areas, load, reference) of which ``res`` holds a number."""

    def number(entry: object) -> bool:
        values = entry.get("result") if isinstance(entry, dict) else None
        return any(isinstance(v, (int, float)) and v == v for v in values or [])

    return sorted({name.split(".", 1)[0] for name, e in res.results.items() if number(e)})


def commits_page(
    results_dir: Path, target_list: list[tg.Target]
) -> tuple[str, dict[str, list[str]]]:
    """commits.html: per machine, each measured commit (newest first, anchored by its hash)
    with its targets' verdicts, how many benchmarks it stored and of which modules; and
    the modules stored per commit shown."""
    out = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>csbench commits</title>"
        f"<style>{STYLE} td {{ padding: 2px 6px; }}</style></head><body>"
        '<p><a href="index.html">← benchmarks</a> · <a href="builds.html">builds</a></p>'
        "<h1>Each measured commit against the targets</h1>",
    ]
    shown: dict[str, list[str]] = {}
    for machine in tg.machines(results_dir):
        _, per_commit = tg.all_commit_results(results_dir, machine)
        out.append(f"<h2>machine {html.escape(machine)}: {len(per_commit)} commits</h2>")
        for res in reversed(per_commit):
            stored = sum(1 for e in res.results.values() if isinstance(e, dict) and e.get("result"))
            date = tables.day(res.date)
            verdicts = [tg.evaluate(t, res) for t in target_list]
            families = _families(res)
            out.append(
                f'<h3 id="{res.commit}"><code>{res.commit[:8]}</code> ({date}): {stored} '
                f"benchmarks stored ({html.escape(', '.join(families)) or 'no number'})</h3>"
                + tg.render_text(verdicts, res, "html")
                + _failures_html(res.failures)
            )
            shown[res.commit] = sorted({*shown.get(res.commit, []), *families})
    out.append("</body></html>")
    return "\n".join(out), shown


def _failures_html(failed: dict[str, str]) -> str:
    """Why each benchmark failed at a commit, collapsed (csbench.observe.failures)."""
    if not failed:
        return ""
    rows = "".join(f"<tr><td><code>{html.escape(name)}</code></td><td><pre>{html.escape(why)}"
                   "</pre></td></tr>" for name, why in failed.items())  # fmt: skip
    many = "s" if len(failed) > 1 else ""
    return (f"<details><summary>{len(failed)} benchmark{many} failed: why</summary><table>{rows}"
            "</table></details>")  # fmt: skip


def builds_page(report: Path, measured: dict[str, list[str]] | None = None) -> str:
    """builds.html: one row per commit of the build report (csbench.commits.builds), a
    commit with results linked to its section of commits.html, with the benchmark modules
    it stored."""
    records = sorted(read_report(report).values(), key=lambda r: r.date, reverse=True)
    built = sum(r.status == "built" for r in records)
    measured = measured or {}
    counts = {m: sum(m in measured.get(r.commit, []) for r in records)
              for m in sorted({m for fs in measured.values() for m in fs})}  # fmt: skip
    coverage = ", ".join(f"{m} {n}" for m, n in counts.items())

    def commit_cell(commit: str) -> str:
        code = f"<code>{commit[:8]}</code>"
        return f'<a href="commits.html#{commit}">{code}</a>' if commit in measured else code

    rows = "".join(
        f'<tr class="{r.status}"><td>{commit_cell(r.commit)}</td><td>{r.date[:10]}</td>'
        f"<td>{html.escape(', '.join(r.branches))}</td><td>{r.status}</td>"
        f"<td>{html.escape(r.method or r.layout)}</td><td>{r.seconds:g}</td>"
        f"<td>{html.escape(' '.join(measured.get(r.commit, [])))}</td>"
        f"<td>{html.escape(r.subject[:80])}</td>"
        f"<td><pre>{html.escape(r.error[-600:])}</pre></td></tr>"
        for r in records
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>csbench builds</title>"
        f"<style>{STYLE} tr.failed td {{ background: #fdd; }} td pre {{ white-space: pre-wrap;"
        " font-size: 11px; margin: 0; } td { vertical-align: top; padding: 2px 6px; }"
        " body { max-width: none; }</style></head><body>"
        '<p><a href="index.html">← benchmarks</a></p><h1>How each commit was built</h1>'
        f"<p>{len(records)} first-parent commits of the benchmarked branches: {built} built, "
        f"{len(records) - built} could not be (the reason is the build's own error); "
        f"{sum(r.commit in measured for r in records)} measured (linked to their results)"
        + (f"; commits per benchmark module stored: {html.escape(coverage)}" if coverage else "")
        + ".</p><table><tr><th>commit</th><th>date</th><th>branches</th><th>status</th>"
        f"<th>how</th><th>s</th><th>stored</th><th>subject</th><th>error</th></tr>{rows}</table>"
        "</body></html>"
    )


def _num(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def triage_page(html_dir: Path, results_dir: Path) -> str:
    """triage.html: every step of asv's regressions list beside its paired verdict
    (csbench triage)."""
    out = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>csbench triage</title>"
        f"<style>{STYLE} tr.confirmed td {{ background: #fdd; }} tr.refuted td "
        "{ background: #efe; } td { padding: 2px 6px; } body { max-width: none; }</style>"
        "</head><body>",
        '<p><a href="index.html">← benchmarks</a></p><h1>Listed regressions, measured '
        "again</h1><p>asv lists a step where separate runs differ; <code>csbench triage"
        "</code> measures the step's commit against the one before it by paired A/B "
        "(<code>csbench ci --paired</code>). <b>confirmed</b>: a regression beyond the "
        "benchmark's paired threshold, the pairs agreeing (its op is then profiled at both "
        "commits: where the time went); <b>refuted</b>: not one.</p>",
    ]
    try:
        per_machine = triaged.on_site(html_dir, results_dir)
    except triaged.TriageError as exc:
        per_machine = {}
        out.append(f"<p>No regressions list: {html.escape(str(exc))}</p>")
    for machine, steps in per_machine.items():
        verdicts = [v for _, v in steps if v is not None]
        untriaged = len(steps) - len(verdicts)
        explained = [(v, v.explained) for _, v in steps if v is not None and v.explained]
        anchors = {v.key: f"explained-{machine}-{n}" for n, (v, _) in enumerate(explained)}
        rows = "".join(
            f'<tr class="{v.verdict if v else "untriaged"}"><td><code>{html.escape(s.name)}'
            f"</code></td><td><code>{s.head[:8]}</code></td>"
            f"<td>{_num(s.after / s.before if s.before else None, '.3f')}</td>"
            f"<td>{v.verdict if v else 'not triaged'}</td>"
            f"<td>{_num(v.ratio if v else None, '.3f')}</td>"
            f"<td>{_num(v.p if v else None, '.3g')}</td>"
            f"<td>{'-' if not v or v.threshold is None else f'{v.threshold:.1%}'}</td>"
            f"<td>{html.escape(v.case or v.reason if v else '')}"
            + (f' (<a href="#{html.escape(anchors[v.key])}">where the time went</a>)'
               if v is not None and v.key in anchors else "")
            + "</td></tr>"
            for s, v in steps
        )  # fmt: skip
        out.append(
            f"<h2>machine {html.escape(machine)}</h2><p>{html.escape(triaged.summary(verdicts))}"
            + (f"; {untriaged} not triaged yet" if untriaged else "")
            + ".</p><table><tr><th>listed regression</th><th>commit</th><th>history ratio</th>"
            "<th>verdict</th><th>paired ratio</th><th>p</th><th>threshold</th>"
            f"<th>measured as</th></tr>{rows}</table>"
        )
        for v, explanation in explained:
            out.append(
                f'<h3 id="{html.escape(anchors[v.key])}">Where the time went: '
                f"<code>{html.escape(v.name)}</code>, <code>{v.head[:8]}</code> against "
                f"<code>{v.base[:8]}</code></h3>"
                + cpuprofile.render_explanation(explanation, "html")
            )
    out.append("</body></html>")
    return "\n".join(out)


def profiles_page(results_dir: Path) -> str:
    """profiles.html: per machine, the newest stored bottleneck report (csbench bottlenecks
    --store): per target its verdict, its op's CPU time by package, top functions and flame
    graph."""
    out = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>csbench profiles</title>"
        f"<style>{STYLE} td {{ padding: 2px 6px; }} body {{ max-width: none; }} "
        "svg { max-width: 100%; height: auto; }</style></head><body>",
        '<p><a href="index.html">← benchmarks</a></p><h1>Where the time goes</h1><p>Per '
        "target, its op profiled by JavaScriptCore's sampling profiler while its batches ran "
        "(<code>csbench bottlenecks --commit C --store</code>), failing targets first: the CPU "
        "time per package and the top functions by self samples.</p>",
    ]
    reports = bottlenecks.stored(results_dir)
    if not reports:
        out.append("<p>No profiles stored yet: <code>csbench bottlenecks --commit C --store"
                   "</code>.</p>")  # fmt: skip
    for machine, data in sorted(reports.items()):
        out.append(f"<h2>machine {html.escape(machine)}, commit <code>{data['commit'][:8]}"
                   f"</code> (profiled {html.escape(data['created'])})</h2>")  # fmt: skip
        shown: set[str] = set()  # several targets may read one op's or load run's profile
        for entry in data["targets"]:
            value = entry.get("value")
            status = entry.get("status") or "no stored result"
            head = f"{entry['target']}: " + (
                f"{value:.4g} {entry['unit']}, {status}" if value is not None else status
            )
            out.append(f"<h3>{html.escape(head)}</h3>")
            op = data["ops"].get(entry.get("case"))
            load = entry.get("load")
            run = data.get("loads", {}).get(load["scenario"]) if load else None
            if op is None and run is None:
                out.append(f"<p>{html.escape(entry.get('reason') or 'not profiled')}</p>")
                continue
            title = entry["case"] if op is not None else f"load scenario {load['scenario']}"
            if title in shown:
                out.append(f"<p>{html.escape(title)}: its profile is shown above.</p>")
                continue
            shown.add(title)
            stored_profile = op["profile"] if op is not None else run["profile"]
            profile = cpuprofile.Profile.from_pruned(stored_profile)
            tree = cpuprofile.STORED_TREE
            n = stored_profile["samples"] or 1
            by_package = cpuprofile.by_origin(profile, tree)
            packages = ", ".join(
                f"{html.escape(k)} {v:.0%}" for k, v in list(by_package.items())[:4]
            )
            rows = "".join(
                f"<tr><td>{s.self_samples / n:.1%}</td><td>{s.total_samples / n:.1%}</td>"
                f"<td><code>{html.escape(s.function.label)}</code></td>"
                f"<td>{html.escape(s.origin.package)}</td><td>{html.escape(s.where)}</td></tr>"
                for s in cpuprofile.shares(profile, tree)[:8]
            )
            if op is not None:
                cpu = human_value(op["cpu_per_op_ns"] / 1e9, "seconds")
                intro, what = "", f"<code>{html.escape(entry['case'])}</code>: {cpu} of CPU per op"
            else:
                intro = f"<p>{html.escape(bottlenecks.load_lines(load))}</p>"
                intro += bottlenecks.load_table(load, "html")
                what = "The whole run"
            out.append(
                f"{intro}<p>{what}, {n} samples; by package: {packages}</p>"
                "<table><tr><th>self</th><th>total</th><th>function</th><th>package</th>"
                f"<th>file:line</th></tr>{rows}</table>"
                + cpuprofile.flamegraph_svg(profile, tree, title)
            )
    out.append("</body></html>")
    return "\n".join(out)
