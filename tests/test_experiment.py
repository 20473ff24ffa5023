"""The statement rules every experiment uses: case by case, by degree, and the claim's verdict."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from virtsim.experiment import VERDICTS, Finding, Statement, graded, over_cases, overall


def test_over_cases_reaches_each_outcome_and_names_both_sides() -> None:
    assert over_cases("s", {"a (1 s)": True, "b (2 s)": True}).verdict == "supported"
    partly = over_cases("s", {"a (1 s)": True, "b (9 s)": False}, "Why.")
    assert partly.verdict == "partly supported"
    assert partly.reason == "Holds for a (1 s), but not for b (9 s). Why."
    none = over_cases("s", {"b (9 s)": False})
    assert none.verdict == "contradicted" and none.reason == "Not for b (9 s)."


def test_over_cases_refuses_no_case() -> None:
    with pytest.raises(ValueError, match="no case"):
        over_cases("s", {})


@pytest.mark.parametrize(("value", "verdict"), [
    (10.0, "supported"), (12.0, "supported"), (9.9, "partly supported"), (1.0, "contradicted"),
    (0.5, "contradicted")])
def test_graded_thresholds(value: float, verdict: str) -> None:
    assert graded("s", value, 10.0, 1.0, "r").verdict == verdict


def test_graded_refuses_inverted_thresholds() -> None:
    with pytest.raises(ValueError, match="below strong"):
        graded("s", 1.0, 1.0, 2.0, "r")


@given(st.lists(st.sampled_from(VERDICTS), min_size=1))
def test_overall_is_the_common_verdict_or_partly(verdicts: list[str]) -> None:
    result = overall(verdicts)  # type: ignore[arg-type]
    if len(set(verdicts)) == 1:
        assert result == verdicts[0]
    else:
        assert result == "partly supported"


def test_finding_verdict_and_reason_come_from_its_statements() -> None:
    finding = Finding("C2", (Statement("VMs are big", "supported", "1 GiB."),
                             Statement("Images are small", "contradicted", "4 GiB.")))
    assert finding.verdict == "partly supported"
    assert finding.reason == ("VMs are big (supported): 1 GiB. "
                              "Images are small (contradicted): 4 GiB.")
    with pytest.raises(ValueError, match="at least one statement"):
        Finding("C2", ())
    with pytest.raises(ValueError, match="verdict must be one of"):
        Statement("x", "supported with nuance", "y")  # type: ignore[arg-type]
