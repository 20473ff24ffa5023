"""Figures are saved atomically and byte for byte the same for the same figure."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from virtsim.plotting import save_figure, slide_figure


def draw() -> plt.Figure:
    fig, ax = slide_figure("title", "x", "y")
    ax.plot([0, 1, 2], [1, 3, 2])
    ax.fill_between([0, 1], [0, 1])  # clip paths: ids matplotlib would salt at random
    return fig


@pytest.mark.parametrize("suffix", ["svg", "png", "pdf"])
def test_same_figure_same_bytes_and_no_dates(suffix: str, tmp_path: Path) -> None:
    paths = []
    for n in range(2):
        fig = draw()
        paths.append(tmp_path / f"f{n}.{suffix}")
        save_figure(fig, paths[-1], dpi=50)
        plt.close(fig)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    if suffix == "svg":
        text = paths[0].read_text()
        assert "<dc:date>" not in text and "clipPath" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"f0.{suffix}", f"f1.{suffix}"]


def test_a_symlink_is_replaced_not_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    link = tmp_path / "figure.svg"
    link.symlink_to(victim)
    fig = draw()
    save_figure(fig, link)
    plt.close(fig)
    assert victim.read_text() == "untouched" and not link.is_symlink()


def test_a_failed_save_leaves_no_file(tmp_path: Path) -> None:
    fig = draw()
    with pytest.raises(ValueError):
        save_figure(fig, tmp_path / "figure.nope")
    plt.close(fig)
    assert list(tmp_path.iterdir()) == []
