"""The reproduction report: every claim, its figures, numbers, calibration and verdict.

The report is built from what the experiments returned (findings, figure
files, table names), never by re-running anything. It comes in two forms
written side by side: ``report.html``, self-contained (each figure embedded
as a base64 PNG, no external asset, opens offline) for projecting and
sharing, and ``report.md`` with figures linked from ``figures/``. Both
list every claim; a claim whose experiment does not exist (yet) or was not
selected says "not run", one whose experiment raised says "failed" with the
error. ``findings.csv`` and ``comparisons.csv`` hold the same verdicts and
published-against-simulated pairs as tidy tables.

Every published figure beside a simulated value is labelled: a *calibration
input* set a parameter of the catalogue (``models/calibration.toml``), so
agreement only shows the plumbing carries it through; a *held out* figure set
none, so agreement is a prediction. Two sections stay apart: "Validation"
(the held-out cases of ``validation/``, run in the same ``reproduce``) and
"Calibration round trip" (every calibration figure against what the model
gives back).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from virtsim.calibration import CALIBRATION_INPUT, role
from virtsim.claims import Claim, claim
from virtsim.experiment import Comparison, Statement, overall
from virtsim.palette import TECHNOLOGY_COLOURS, label
from virtsim.reproduction import ExperimentOutcome, FigureFile, Reproduction
from virtsim.result import Record, write_outputs
from virtsim.validation import summary_line

NOT_RUN = "not run"
FAILED = "failed"
STATUS_ORDER: tuple[str, ...] = ("supported", "partly supported", "contradicted",
                                 FAILED, NOT_RUN)
"""Every status a claim can have in the report, from best to worst."""

STATUS_COLOURS: dict[str, str] = {
    "supported": "#005a8c",
    "partly supported": "#8a5a00",
    "contradicted": "#b03a00",
    FAILED: "#5a2a5a",
    NOT_RUN: "#6e7781",
}
"""Badge colours: blue, ochre, vermilion (told apart without red/green; the text says it too)."""


@dataclass(frozen=True)
class ClaimSection:
    """Everything the report says about one claim."""

    claim: Claim
    outcomes: tuple[ExperimentOutcome, ...]

    @property
    def status(self) -> str:
        """The claim's verdict from all its statements; "failed" if an experiment failed."""
        if not self.outcomes:
            return NOT_RUN
        if any(o.finding is None for o in self.outcomes):
            return FAILED
        return overall(st.verdict for st in self.statements)

    @property
    def reason(self) -> str:
        """Why this status: each statement's verdict and reason, or the failure."""
        if not self.outcomes:
            return "no experiment for this claim was run"
        parts = []
        for outcome in self.outcomes:
            if outcome.finding is None:
                parts.append(f"{outcome.experiment} failed: {outcome.error}")
            else:
                parts.append(outcome.finding.reason)
        return " ".join(parts)


    @property
    def statements(self) -> tuple[Statement, ...]:
        """Every statement its experiments judged, in order."""
        return tuple(s for o in self.outcomes if o.finding is not None
                     for s in o.finding.statements)


def claim_sections(reproduction: Reproduction) -> list[ClaimSection]:
    """One section per claim of the run, with its experiments' outcomes."""
    sections = []
    for claim_id in reproduction.claim_ids:
        outcomes = tuple(o for o in reproduction.outcomes if o.claim == claim_id)
        sections.append(ClaimSection(_claim_or_unknown(claim_id), outcomes))
    return sections


def _claim_or_unknown(claim_id: str) -> Claim:
    try:
        return claim(claim_id)
    except KeyError:
        return Claim(claim_id, "Unknown claim", f"An experiment names {claim_id}, which is not "
                     "one of the design's claims.", "")


def write_report(reproduction: Reproduction) -> None:
    """Write report.html, report.md, findings.csv and comparisons.csv, atomically."""
    sections = claim_sections(reproduction)
    write_outputs(reproduction.out,
                  {"findings": findings_table(sections),
                   "comparisons": comparisons_table(sections)},
                  {"report.md": markdown(reproduction, sections),
                   "report.html": html_report(reproduction, sections)})


def findings_table(sections: Iterable[ClaimSection]) -> list[Record]:
    """One row per statement: claim, its verdict, the statement, its verdict and reason.

    A claim not run or failed has one row with an empty statement.
    """
    rows: list[Record] = []
    for s in sections:
        experiments = " ".join(o.experiment for o in s.outcomes)
        base: Record = {"claim": s.claim.id, "claim_verdict": s.status,
                        "experiments": experiments}
        if not s.statements or s.status in (FAILED, NOT_RUN):
            rows.append({**base, "statement": "", "verdict": s.status, "reason": s.reason})
        rows += [{**base, "statement": st.text, "verdict": st.verdict, "reason": st.reason}
                 for st in s.statements]
    return rows


def comparisons_table(sections: Iterable[ClaimSection]) -> list[Record]:
    """One row per published measurement beside its simulated value."""
    rows: list[Record] = []
    for section in sections:
        for outcome in section.outcomes:
            for c in _comparisons(outcome):
                rows.append({"claim": section.claim.id, "experiment": outcome.experiment,
                             "measure": c.measure, "role": role(c.figure),
                             "published": c.published, "simulated": c.simulated,
                             "unit": c.unit, "ratio": _ratio(c), "figure": c.figure,
                             "simulated_by": c.simulated_by or "this experiment",
                             "source": c.source})
    return rows


def _comparisons(outcome: ExperimentOutcome) -> tuple[Comparison, ...]:
    return () if outcome.finding is None else outcome.finding.comparisons


def _ratio(c: Comparison) -> float | None:
    return round(c.simulated / c.published, 4) if c.published else None


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3g}"


WORDING = ("Simulated numbers come from simulations of the catalogue. A published figure "
           "labelled 'calibration input' set a parameter, so matching it only shows the "
           "plumbing; one labelled 'held out' set none, so matching it is a prediction. The "
           "Validation section runs every held-out case.")
"""What the report and README say about which figures are inputs and which predictions."""

SUMMARY_CHARS = 220
"""The summary table's reason is cut to about this length (the section has it all)."""


def one_line(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The text, cut at a word boundary to at most ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def _statement_list(section: ClaimSection) -> str:
    """The claim's statements with their verdicts, in one short line each."""
    if not section.statements:
        return one_line(section.reason)
    return "; ".join(f"{st.text} ({st.verdict})" for st in section.statements)


def _counts(sections: Iterable[ClaimSection]) -> str:
    tally: dict[str, int] = {}
    for section in sections:
        tally[section.status] = tally.get(section.status, 0) + 1
    return ", ".join(f"{tally[s]} {s}" for s in STATUS_ORDER if s in tally)


# -- Markdown ----------------------------------------------------------------

def markdown(reproduction: Reproduction, sections: list[ClaimSection]) -> str:
    """The report as Markdown, figures linked from the ``figures/`` folder."""
    lines = [
        "# virtsim: the claims of \"Docker vs virtual machines\", reproduced",
        "",
        f"Size `{reproduction.size}`, base seed {reproduction.seed}. "
        f"Verdicts: {_counts(sections)}. Verdicts are computed from the results by each "
        "experiment's rule. " + WORDING,
        "",
        "| claim | verdict | statements |",
        "|---|---|---|",
    ]
    lines += [f"| [{s.claim.id}](#{s.claim.id.lower()}) | **{s.status}** | "
              f"{_md_cell(_statement_list(s))} |" for s in sections]
    lines += ["", *md_validation(reproduction)]
    if reproduction.stacks:
        lines += ["", "## The stacks, drawn from the resource graph", ""]
        for stack in reproduction.stacks:
            lines += [f"![{stack.name}]({stack.png})", "", f"*{stack.caption}*", ""]
    for section in sections:
        lines += ["", *_md_section(section)]
    lines += ["", *md_round_trip(reproduction)]
    return "\n".join(lines).rstrip() + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_section(section: ClaimSection) -> list[str]:
    c = section.claim
    lines = [f'<a id="{c.id.lower()}"></a>', "", f"## {c.id}: {c.topic}", "",
             f"**Claim.** {c.plain}", ""]
    if c.quote:
        lines += [f"> {c.quote}", ""]
    lines += [f"**Verdict: {section.status}.**", ""]
    if section.statements:
        lines += ["| statement | verdict | why |", "|---|---|---|"]
        lines += [f"| {_md_cell(st.text)} | **{st.verdict}** | {_md_cell(st.reason)} |"
                  for st in section.statements]
        lines.append("")
    else:
        lines += [section.reason, ""]
    for outcome in section.outcomes:
        lines += [f"### {outcome.title} (`{outcome.experiment}`, seed {outcome.seed})", ""]
        if outcome.failed:
            lines += [f"Failed: `{outcome.error}` (see `{outcome.experiment}/error.txt`).", ""]
            continue
        for fig in outcome.figures:
            lines += [f"![{fig.name}]({fig.png})", "", f"*{fig.caption}* ([SVG]({fig.svg}))", ""]
        finding = outcome.finding
        if finding is not None and finding.key_numbers:
            lines += ["Key numbers:", "", *[f"- {n}" for n in finding.key_numbers], ""]
        comparisons = _comparisons(outcome)
        if comparisons:
            lines += ["| measure | published | simulated | unit | simulated / published | "
                      "figure | source |", "|---|---|---|---|---|---|---|"]
            lines += [f"| {_md_cell(x.measure)} | {_num(x.published)} | {_num(x.simulated)} | "
                      f"{x.unit} | {_num(_ratio(x))} | {_role_text(x)} | "
                      f"{_md_cell(x.source)} |" for x in comparisons]
            lines.append("")
        if outcome.tables:
            lines += ["Data: " + ", ".join(f"[{Path(t).name}]({t})" for t in outcome.tables), ""]
    return lines


# -- HTML --------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;
background:#f6f8fa;line-height:1.5}
main{max-width:1180px;margin:0 auto;padding:24px 32px 64px;background:#fff}
h1{font-size:2rem;margin:.2em 0}h2{border-bottom:2px solid #d0d7de;padding-bottom:.2em;
margin-top:2.2em}h3{margin-top:1.6em}
table{border-collapse:collapse;margin:1em 0;width:100%}
th,td{border:1px solid #d0d7de;padding:6px 10px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600;
white-space:nowrap}
blockquote{border-left:4px solid #d0d7de;margin:1em 0;padding:.2em 1em;color:#57606a}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #eaeef2}
figcaption{color:#57606a;font-size:.95rem}
.stacks{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:16px}
.legend span{display:inline-block;margin:2px 14px 2px 0}
.legend i{display:inline-block;width:14px;height:14px;border-radius:3px;margin-right:6px;
vertical-align:-2px}
.error{background:#fff0f0;border:1px solid #f5c2c2;padding:8px 12px;font-family:monospace}
ul.numbers li{margin:.15em 0}
ul.statements{margin:0;padding-left:1.1em}ul.statements li{margin:.1em 0}
.mark{font-weight:600;white-space:nowrap}
table.statements td:first-child{width:28%}
td.role.held-out{font-weight:600;color:#0b5394}td.role.calibration{color:#57606a}
"""


def html_report(reproduction: Reproduction, sections: list[ClaimSection]) -> str:
    """The report as one self-contained HTML page (figures embedded as base64 PNG)."""
    body = [
        "<h1>virtsim: the claims of &ldquo;Docker vs virtual machines&rdquo;, reproduced</h1>",
        f"<p>Size <code>{_e(reproduction.size)}</code>, base seed {reproduction.seed}. "
        f"Verdicts: {_e(_counts(sections))}. Each verdict is computed from the results by "
        f"the experiment's own rule, never written by hand. {_e(WORDING)}</p>",
        "<p><b>How to read it.</b> Each claim of the seed text is split into the statements "
        "it makes; each statement is tested case by case (per technology, platform, fault or "
        "demand type) or by a threshold stated in its reason. <i>Supported</i>: it holds in "
        "every case. <i>Partly supported</i>: in some cases and not others (the reason names "
        "them). <i>Contradicted</i>: in none. A claim is supported or contradicted when all "
        "its statements are, and partly supported otherwise. "
        "<i>Failed</i>: its experiment raised (the error is shown). "
        "<i>Not run</i>: no experiment for the claim was run. Each figure's caption explains "
        "the mechanism. In each table of published against simulated values, a row marked "
        "<i>calibration input</i> is a figure the catalogue was built from (its agreement "
        "shows the plumbing, not the model), a row marked <i>held out</i> is a prediction; "
        "the <a href=\"#validation\">Validation</a> section gathers the held-out cases.</p>",
        _summary_table(sections),
        html_validation(reproduction),
        _legend(),
    ]
    if reproduction.stacks:
        body.append(_stacks(reproduction))
    body += [_html_section(reproduction.out, s) for s in sections]
    body.append(html_round_trip(reproduction))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>virtsim reproduce: report</title>"
            f"<style>{CSS}</style></head><body><main>\n" + "\n".join(body)
            + "\n</main></body></html>\n")


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _badge(status: str) -> str:
    return (f'<span class="badge verdict" style="background:{STATUS_COLOURS[status]}">'
            f"{_e(status)}</span>")


def _summary_table(sections: list[ClaimSection]) -> str:
    rows = "".join(
        f'<tr><td><a href="#{s.claim.id}">{s.claim.id}</a></td><td>{_e(s.claim.topic)}</td>'
        f"<td>{_badge(s.status)}</td><td>{_statement_items(s)}</td></tr>" for s in sections)
    return ('<table class="summary"><thead><tr><th>claim</th><th>topic</th><th>verdict</th>'
            f"<th>statements</th></tr></thead><tbody>{rows}</tbody></table>")


def _statement_items(section: ClaimSection) -> str:
    if not section.statements:
        return _e(section.reason)
    items = "".join(f'<li><span class="mark" style="color:{STATUS_COLOURS[st.verdict]}">'
                    f"{_e(st.verdict)}</span>: {_e(st.text)}</li>"
                    for st in section.statements)
    return f'<ul class="statements">{items}</ul>'


def _statement_table(section: ClaimSection) -> str:
    rows = "".join(f"<tr><td>{_e(st.text)}</td><td>{_badge(st.verdict)}</td>"
                   f"<td>{_e(st.reason)}</td></tr>" for st in section.statements)
    return ('<table class="statements"><thead><tr><th>statement</th><th>verdict</th>'
            f"<th>why</th></tr></thead><tbody>{rows}</tbody></table>")


def _legend() -> str:
    items = "".join(f'<span><i style="background:{colour}"></i>{_e(label(tech))}</span>'
                    for tech, colour in TECHNOLOGY_COLOURS.items())
    return f'<p class="legend"><b>One colour per technology, in every figure:</b><br>{items}</p>'


def _stacks(reproduction: Reproduction) -> str:
    figures = "".join(_figure(reproduction.out, f) for f in reproduction.stacks)
    return ('<h2 id="stacks">The stacks, drawn from the resource graph</h2>'
            "<p>Each box runs on the box below it. These diagrams are drawn from the same "
            "resource graph the simulations use (see C1).</p>"
            f'<div class="stacks">{figures}</div>')


def _figure(out: Path, fig: FigureFile) -> str:
    png = out / fig.png
    if png.is_file():
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        image = f'<img src="data:image/png;base64,{data}" alt="{_e(fig.name)}">'
    else:
        image = f'<p class="error">figure {_e(fig.name)} is missing</p>'
    return (f'<figure id="fig-{_e(fig.name)}">{image}<figcaption>{_e(fig.caption)} '
            f'<a href="{_e(fig.svg)}">SVG</a></figcaption></figure>')


def _html_section(out: Path, section: ClaimSection) -> str:
    c = section.claim
    parts = [f'<section class="claim" id="{_e(c.id)}" data-claim="{_e(c.id)}" '
             f'data-verdict="{_e(section.status)}">',
             f"<h2>{_e(c.id)}: {_e(c.topic)} {_badge(section.status)}</h2>",
             f"<p><b>Claim.</b> {_e(c.plain)}</p>"]
    if c.quote:
        parts.append(f"<blockquote>{_e(c.quote)}</blockquote>")
    if section.statements:
        parts.append(f"<p><b>Verdict: {_e(section.status)}.</b></p>")
        parts.append(_statement_table(section))
    else:
        parts.append(f"<p><b>Verdict: {_e(section.status)}.</b> {_e(section.reason)}</p>")
    parts += [_html_outcome(out, o) for o in section.outcomes]
    parts.append("</section>")
    return "\n".join(parts)


def _html_outcome(out: Path, outcome: ExperimentOutcome) -> str:
    parts = [f"<h3>{_e(outcome.title)} <small><code>{_e(outcome.experiment)}</code>, "
             f"seed {outcome.seed}</small></h3>"]
    if outcome.failed:
        parts.append(f'<p class="error">failed: {_e(outcome.error)} (see '
                     f"{_e(outcome.experiment)}/error.txt)</p>")
        return "\n".join(parts)
    parts += [_figure(out, f) for f in outcome.figures]
    finding = outcome.finding
    if finding is not None and finding.key_numbers:
        items = "".join(f"<li>{_e(n)}</li>" for n in finding.key_numbers)
        parts.append(f'<p><b>Key numbers</b></p><ul class="numbers">{items}</ul>')
    comparisons = _comparisons(outcome)
    if comparisons:
        rows = "".join(
            f"<tr><td>{_e(x.measure)}</td><td class=num>{_num(x.published)}</td>"
            f"<td class=num>{_num(x.simulated)}</td><td>{_e(x.unit)}</td>"
            f"<td class=num>{_num(_ratio(x))}</td>{_role_cell(x)}"
            f"<td>{_e(x.source)}</td></tr>" for x in comparisons)
        parts.append("<p><b>Published against simulated</b></p><table class=\"comparisons\">"
                     "<thead><tr><th>measure</th><th>published</th><th>simulated</th>"
                     "<th>unit</th><th>simulated / published</th><th>figure</th>"
                     f"<th>source</th></tr></thead><tbody>{rows}</tbody></table>")
    if outcome.tables:
        links = ", ".join(f'<a href="{_e(t)}">{_e(Path(t).name)}</a>' for t in outcome.tables)
        parts.append(f"<p><small>Data (tidy CSV): {links}</small></p>")
    return "\n".join(parts)



def _role_text(comparison: Comparison) -> str:
    """The figure's role, and the run that gave the value when it is not the experiment's."""
    by = f" ({comparison.simulated_by})" if comparison.simulated_by else ""
    return role(comparison.figure) + by


def _role_cell(comparison: Comparison) -> str:
    kind = role(comparison.figure)
    style = "calibration" if kind == CALIBRATION_INPUT else "held-out"
    return f'<td class="role {style}">{_e(_role_text(comparison))}</td>'


# -- validation and calibration ------------------------------------------------------

WORST = 5
"""The validation section names this many worst cases."""


def md_validation(reproduction: Reproduction) -> list[str]:
    """The Markdown Validation section: summary, worst cases, the table, the figure."""
    validation = reproduction.validation
    if validation is None:
        return []
    lines = ["## Validation: held-out published figures", "",
             "Figures that set no parameter, predicted by the model "
             "(`virtsim validate`; cases in `validation/`). " + summary_line(validation) + ".",
             "", "| case | published | simulated | unit | ratio | tolerance | within? | source |",
             "|---|---|---|---|---|---|---|---|"]
    for r in validation.results:
        lines.append(f"| {r.case.id} | {_num(r.case.published)} | {_num(r.simulated)} | "
                     f"{r.case.unit} | {_num(r.ratio)} | ±{r.case.tolerance:.0%} | "
                     f"{'yes' if r.within else 'no'} | "
                     f"{_md_cell(r.case.source.citation + '; ' + r.case.source.where)} |")
    if reproduction.validation_figure is not None:
        fig = reproduction.validation_figure
        lines += ["", f"![{fig.name}]({fig.png})", "", f"*{fig.caption}*"]
    return lines


def html_validation(reproduction: Reproduction) -> str:
    """The HTML Validation section (empty when the run had none)."""
    validation = reproduction.validation
    if validation is None:
        return ""
    rows = "".join(
        f'<tr data-within="{str(r.within).lower()}"><td>{_e(r.case.id)}</td>'
        f"<td>{_e(r.case.area)}</td><td class=num>{_num(r.case.published)}</td>"
        f"<td class=num>{_num(r.simulated)}</td><td>{_e(r.case.unit)}</td>"
        f"<td class=num>{_num(r.ratio)}</td><td class=num>±{r.case.tolerance:.0%}</td>"
        f"<td>{'yes' if r.within else 'no'}</td>"
        f"<td>{_e(r.case.source.citation)}; {_e(r.case.source.where)}</td></tr>"
        for r in validation.results)
    figure = ("" if reproduction.validation_figure is None
              else _figure(reproduction.out, reproduction.validation_figure))
    return ('<section id="validation"><h2>Validation: held-out published figures</h2>'
            "<p>These figures set no parameter of the catalogue; the model predicts them "
            "(<code>virtsim validate</code>, cases in <code>validation/</code>). "
            f"{_e(summary_line(validation))}. A miss is a result, not a bug to tune away.</p>"
            f"{figure}<table class=\"validation\"><thead><tr><th>case</th><th>area</th>"
            "<th>published</th><th>simulated</th><th>unit</th><th>ratio</th>"
            "<th>tolerance</th><th>within?</th><th>source</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></section>")


def md_round_trip(reproduction: Reproduction) -> list[str]:
    """The Markdown Calibration round trip section."""
    trips = reproduction.round_trips
    if not trips:
        return []
    back = sum(t.within for t in trips)
    lines = ["## Calibration round trip", "",
             f"The {len(trips)} published figures that set parameters "
             f"(`models/calibration.toml`); {back} come back within 5%. Agreement here checks "
             "the plumbing, not the model.", "",
             "| figure | published | back | unit | ratio | sets |", "|---|---|---|---|---|---|"]
    lines += [f"| {t.figure.id} | {_num(t.figure.published)} | {_num(t.simulated)} | "
              f"{t.figure.unit} | {_num(t.ratio)} | {_md_cell(', '.join(t.figure.sets))} |"
              for t in trips]
    return lines


def html_round_trip(reproduction: Reproduction) -> str:
    """The HTML Calibration round trip section."""
    trips = reproduction.round_trips
    if not trips:
        return ""
    rows = "".join(
        f"<tr><td>{_e(t.figure.id)}</td><td class=num>{_num(t.figure.published)}</td>"
        f"<td class=num>{_num(t.simulated)}</td><td>{_e(t.figure.unit)}</td>"
        f"<td class=num>{_num(t.ratio)}</td><td>{_e(', '.join(t.figure.sets))}</td></tr>"
        for t in trips)
    back = sum(t.within for t in trips)
    return ('<section id="calibration"><h2>Calibration round trip</h2>'
            f"<p>The {len(trips)} published figures that set parameters "
            f"(<code>models/calibration.toml</code>); {back} come back within 5%. Agreement "
            "here checks the plumbing, not the model.</p><table class=\"calibration\">"
            "<thead><tr><th>figure</th><th>published</th><th>back</th><th>unit</th>"
            f"<th>ratio</th><th>sets</th></tr></thead><tbody>{rows}</tbody></table></section>")
