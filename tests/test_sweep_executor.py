"""Executors: in-process, local processes and a Dask cluster give the same results."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_sweep_runner import SWEEP, tables
from virtsim.errors import InputError
from virtsim.reproduce import reproduce
from virtsim.sweep_executor import (
    DaskCluster,
    InProcess,
    LocalProcesses,
    current_executor,
    make_executor,
    using_executor,
)
from virtsim.sweep_runner import sweep


def square(x: int) -> int:
    return x * x


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a two-worker Dask LocalCluster (worker processes, as on a real one)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        yield str(cluster.scheduler_address)


@pytest.mark.parametrize("executor", [InProcess(), LocalProcesses(2)])
def test_every_job_comes_back_once_with_its_index(executor: InProcess | LocalProcesses) -> None:
    jobs = list(range(11))
    found = dict(executor.run(square, jobs))
    assert found == {i: i * i for i in jobs}


def test_make_executor_and_the_current_one() -> None:
    assert isinstance(make_executor(1), InProcess)
    assert isinstance(make_executor(3), LocalProcesses)
    assert isinstance(current_executor(), InProcess)
    pool = LocalProcesses(2)
    with using_executor(pool):
        assert current_executor() is pool
    assert isinstance(current_executor(), InProcess)


def test_a_dask_cluster_runs_the_jobs(scheduler: str) -> None:
    cluster = DaskCluster(scheduler)
    try:
        assert dict(cluster.run(square, list(range(5)))) == {i: i * i for i in range(5)}
    finally:
        cluster.close()


def test_no_scheduler_at_the_address_is_bad_input() -> None:
    pytest.importorskip("distributed")
    with pytest.raises(InputError, match="--scheduler"):
        DaskCluster("tcp://127.0.0.1:9")


def test_same_sweep_tables_on_a_dask_local_cluster(scheduler: str, tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(SWEEP, encoding="utf-8")
    sweep(path, workers=1, out=tmp_path / "local", figure=False)
    result = sweep(path, scheduler=scheduler, out=tmp_path / "dask", figure=False)
    assert result.complete
    assert tables(tmp_path / "local") == tables(tmp_path / "dask")


def test_reproduce_on_a_dask_cluster_writes_the_same_tables(scheduler: str,
                                                           tmp_path: Path) -> None:
    options = {"size": "tiny", "seed": 5, "only": ("C13",), "progress": False,
               "stacks": False, "log": False}
    local = reproduce(tmp_path / "local", workers=1, **options)  # type: ignore[arg-type]
    remote = reproduce(tmp_path / "dask", scheduler=scheduler, **options)  # type: ignore[arg-type]
    assert not local.failed and not remote.failed
    for outcome in local.outcomes:
        for table in outcome.tables:
            assert (tmp_path / "local" / table).read_bytes() == \
                (tmp_path / "dask" / table).read_bytes()
