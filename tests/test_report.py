"""The report: built from outcomes only, every claim named, verdicts and failures shown."""

from __future__ import annotations

import base64
import csv
from pathlib import Path

import matplotlib.pyplot as plt
from hypothesis import given
from hypothesis import strategies as st

from virtsim.calibration import load_figures, round_trip
from virtsim.claims import CLAIM_IDS, CLAIMS, claim, claim_number
from virtsim.experiment import Comparison, Finding, Statement
from virtsim.report import (
    NOT_RUN,
    WORDING,
    claim_sections,
    comparisons_table,
    html_report,
    markdown,
    one_line,
    write_report,
)
from virtsim.reproduce import ExperimentOutcome, FigureFile, Reproduction

PNG = "figures/c05-demo.png"


def _png(out: Path) -> None:
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    (out / "figures").mkdir(parents=True, exist_ok=True)
    fig.savefig(out / PNG)
    plt.close(fig)


def _reproduction(out: Path) -> Reproduction:
    finding = Finding("C5", (Statement("A fault stays inside", "supported", "Faults: 1 of 8."),
                             Statement("Escapes reach others", "partly supported",
                                       "Escapes <cross> kernels & VMs.")),
                      key_numbers=("blast radius: 8 of 8",),
                      comparisons=(Comparison("round trip", 37.6, 40.0, "us", "Felter [V]"),))
    ok = ExperimentOutcome("c05_demo", "C5", "Demo", 11, finding,
                           (FigureFile("c05-demo", "A caption.", PNG, "figures/c05-demo.svg"),),
                           ("c05_demo/faults.csv",))
    another = Statement("Another", "contradicted", "Another rule.")
    second = ExperimentOutcome("c05_extra", "C5", "Extra", 12, Finding("C5", (another,)))
    failed = ExperimentOutcome("c07_demo", "C7", "Broken", 13, error="RuntimeError: boom")
    return Reproduction(out=out, size="tiny", seed=1, outcomes=[ok, second, failed])


def test_claims_are_the_fourteen_of_the_design() -> None:
    assert tuple(f"C{i}" for i in range(1, 15)) == CLAIM_IDS
    assert all(c.plain and c.quote and c.topic for c in CLAIMS)
    assert claim("C13").topic == "FROM scratch"
    assert claim_number("C10") == 10


def test_every_claim_gets_a_section_with_its_status(tmp_path: Path) -> None:
    sections = {s.claim.id: s for s in claim_sections(_reproduction(tmp_path))}
    assert list(sections) == list(CLAIM_IDS)
    assert sections["C5"].status == "partly supported"  # from both experiments' statements
    assert [st.verdict for st in sections["C5"].statements] == [
        "supported", "partly supported", "contradicted"]
    assert sections["C7"].status == "failed"
    assert "boom" in sections["C7"].reason
    assert sections["C1"].status == NOT_RUN


def test_html_is_self_contained_escaped_and_embeds_figures(tmp_path: Path) -> None:
    _png(tmp_path)
    reproduction = _reproduction(tmp_path)
    page = html_report(reproduction, claim_sections(reproduction))
    embedded = page.split('src="data:image/png;base64,')[1].split('"')[0]
    assert base64.b64decode(embedded) == (tmp_path / PNG).read_bytes()
    assert "Escapes &lt;cross&gt; kernels &amp; VMs." in page
    assert "<cross>" not in page
    for claim_id in CLAIM_IDS:
        assert f'id="{claim_id}"' in page
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page


def test_markdown_has_summary_figures_numbers_and_comparisons(tmp_path: Path) -> None:
    reproduction = _reproduction(tmp_path)
    text = markdown(reproduction, claim_sections(reproduction))
    assert "| [C5](#c5) | **partly supported** |" in text
    assert ("| Escapes reach others | **partly supported** | Escapes <cross> kernels & VMs. |"
            in text)
    assert f"![c05-demo]({PNG})" in text
    assert "- blast radius: 8 of 8" in text
    assert "| round trip | 37.6 | 40 | us | 1.064 | held out | Felter [V] |" in text
    assert "RuntimeError: boom" in text


def test_write_report_writes_tidy_findings_and_comparisons(tmp_path: Path) -> None:
    _png(tmp_path)
    write_report(_reproduction(tmp_path))
    with (tmp_path / "findings.csv").open() as f:
        findings = list(csv.DictReader(f))
    assert list(dict.fromkeys(r["claim"] for r in findings)) == list(CLAIM_IDS)
    c5 = [(r["statement"], r["verdict"], r["claim_verdict"]) for r in findings
          if r["claim"] == "C5"]
    assert c5 == [("A fault stays inside", "supported", "partly supported"),
                  ("Escapes reach others", "partly supported", "partly supported"),
                  ("Another", "contradicted", "partly supported")]
    assert [r["verdict"] for r in findings if r["claim"] == "C7"] == ["failed"]
    with (tmp_path / "comparisons.csv").open() as f:
        (row,) = list(csv.DictReader(f))
    assert row["published"] == "37.6" and row["simulated"] == "40.0"
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_a_missing_figure_file_is_shown_not_fatal(tmp_path: Path) -> None:
    reproduction = _reproduction(tmp_path)
    page = html_report(reproduction, claim_sections(reproduction))
    assert "figure c05-demo is missing" in page


@given(st.text(), st.integers(10, 300))
def test_one_line_is_short_flat_and_a_prefix(text: str, limit: int) -> None:
    line = one_line(text, limit)
    flat = " ".join(text.split())
    assert "\n" not in line
    assert len(line) <= limit + 2
    assert flat.startswith(line.removesuffix(" …").rstrip(",;:"))


def test_each_comparison_is_labelled_calibration_input_or_held_out(tmp_path: Path) -> None:
    calibrated = load_figures()[0].id
    finding = Finding("C4", (Statement("Near native", "supported", "Within 5%."),), comparisons=(
        Comparison("an input", 1.0, 1.0, "x", "Felter", calibrated),
        Comparison("a prediction", 2.0, 1.0, "x", "Elsewhere", "elsewhere2020:thing"),
        Comparison("undeclared", 2.0, 1.0, "x", "Nowhere")))
    outcome = ExperimentOutcome("c04_demo", "C4", "Demo", 1, finding)
    reproduction = Reproduction(out=tmp_path, size="tiny", seed=1, outcomes=[outcome])
    sections = claim_sections(reproduction)
    roles = {r["measure"]: r["role"] for r in comparisons_table(sections)}
    assert roles == {"an input": "calibration input", "a prediction": "held out",
                     "undeclared": "held out"}
    page = html_report(reproduction, sections)
    assert 'class="role calibration">calibration input' in page
    assert 'class="role held-out">held out' in page


def test_report_says_which_figures_are_inputs_and_has_validation_apart(tmp_path: Path) -> None:
    from virtsim.validation import CaseResult, Validation, load_cases

    cases = load_cases()[:2]
    reproduction = _reproduction(tmp_path)
    reproduction.validation = Validation([CaseResult(cases[0], cases[0].published),
                                          CaseResult(cases[1], cases[1].published * 10)])
    reproduction.round_trips = round_trip(load_figures()[:2])
    sections = claim_sections(reproduction)
    text = markdown(reproduction, sections)
    page = html_report(reproduction, sections)
    for report in (text, page):
        assert "Every number below comes from a simulation" not in report
        assert "1 of 2 held-out cases within tolerance" in report
        assert "Calibration round trip" in report
    assert WORDING in text
    assert text.index("## Validation") < text.index("## Calibration round trip")
    assert f"| {cases[1].id} |" in text and '<section id="validation">' in page
