"""Text rendering of load runs: the live progress line, the report table, the search."""

from __future__ import annotations

from typing import Any

from csbench.load.runner import MIB, LoadReport
from csbench.load.scenarios import KNOWN_OPS, Scenario
from csbench.load.search import SearchResult
from csbench.observe import tables


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.3g}" if v < 10 else f"{v:,.0f}"


def progress_line(p: dict[str, Any]) -> str:
    """One line: phase, time, users, in flight, requests, rate, p95 of the phase so far."""
    return (
        f"{p['phase']:<9} t={p['t_s']:6.1f}s  users {p['active_users']:>6}  "
        f"in flight {p['in_flight']:>5}  ok {p['completed']:>8}  err {p['failed']:>6}  "
        f"{p['ops_per_s']:>8,.0f} ops/s  p95 {_ms(p['p95_ms'])} ms"
    )


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Names left, figures right, a rule under the header."""
    align = ["left", *["right"] * (len(header) - 1)]
    return tables.render(header, rows, align=align, rule=True).splitlines()


def render_report(scenario: Scenario, report: LoadReport, target: str) -> str:
    phases = ", ".join(f"{k} {v:g} s" for k, v in report.phases.items())
    out = [
        f"scenario {report.scenario} ({report.model} model) on {target}",
        f"users {report.users:,}; phases {phases}; prepare {report.prepare_s:.1f} s; "
        f"wall {report.wall_s:.1f} s",
        "",
        "steady phase, per operation (latency ms):",
    ]
    bounds = {o.op: o.p95_ms for o in scenario.operations}
    rows = []
    for op, r in sorted(report.ops.items()):
        errors = ", ".join(f"{k} {n}" for k, n in sorted(r.errors.items())) or "0"
        rows.append(
            [
                op,
                KNOWN_OPS.get(op, "?"),
                f"{r.count:,}",
                errors,
                _ms(r.p50_ms),
                _ms(r.p95_ms),
                _ms(r.p99_ms),
                _ms(bounds.get(op)),
            ]
        )
    out += _table(["op", "class", "ok", "errors", "p50", "p95", "p99", "p95 bound"], rows)
    out += [
        "",
        "per operation class (p95 ms): "
        + ", ".join(f"{area} {_ms(r.p95_ms)}" for area, r in report.classes.items()),
    ]
    out += [
        f"throughput {report.throughput:,.1f} ok/s; error rate {report.error_rate:.3g} % "
        f"of {report.requests:,} requests ({report.unfinished} unfinished)",
        f"peak RSS {report.peak_rss_bytes / MIB:,.0f} MiB "
        f"({report.rss_per_1000_users / MIB:,.1f} MiB per 1,000 users; "
        f"users added {report.marginal_rss_per_1000_users / MIB:,.1f} MiB per 1,000 over "
        f"{report.baseline_rss_bytes / MIB:,.0f} MiB of data and fixtures)",
        f"CPU (steady) {report.cpu_machine_percent:.1f} % of the machine, "
        f"{report.cpu_core_percent:.1f} % of one core; csbench's own Python "
        f"{report.profile['python_cpu_percent']:.1f} % of one core",
        "",
        "criteria:",
    ]
    rows = [
        [
            c.name,
            "-" if c.measured is None else f"{c.measured:,.4g}",
            f"{'<=' if c.direction == 'below' else '>='} {c.bound:g} {c.unit}",
            "pass" if c.passed else "FAIL",
        ]
        for c in report.criteria
    ]
    out += _table(["criterion", "measured", "bound", "verdict"], rows)
    samples = {k: m for r in report.ops.values() for k, m in r.error_sample.items()}
    if samples:
        out += ["", "first error of each kind:"]
        out += [f"  {k}: {m}" for k, m in sorted(samples.items())]
    return "\n".join(out)


def render_search(result: SearchResult) -> str:
    rows = [
        [
            f"{p.users:,}",
            "pass" if p.passed else "FAIL",
            _ms(p.p95_ms),
            f"{p.throughput:,.1f}",
            f"{p.error_rate:.3g}",
            f"{p.cpu_machine_percent:.1f}",
            f"{p.marginal_rss_mb_per_1000_users:,.1f}",
            ", ".join(p.failed),
        ]
        for p in result.probes
    ]
    header = ["users", "SLO", "p95 ms", "ok/s", "err %", "CPU %", "MiB/1000", "failed"]
    cap = " (the search limit: may be higher)" if result.capped else ""
    return "\n".join([f"max users within SLO: {result.max_users:,}{cap}", *_table(header, rows)])
