"""Worker pools started ahead of their first jobs: taken by the next pool, else stopped."""

from __future__ import annotations

import os

import codex_migrate.parallel as parallel
from codex_migrate.parallel import process_pool, workers_ahead


def test_a_pool_started_ahead_is_the_next_one_and_its_workers_run_jobs() -> None:
    with workers_ahead(2):
        started = parallel._AHEAD[2]
        with process_pool(2) as pool:
            assert pool is started
            assert 2 not in parallel._AHEAD
            pids = {pool.submit(os.getpid).result() for _ in range(4)}
            assert os.getpid() not in pids
    assert parallel._AHEAD == {}


def test_a_pool_not_taken_is_stopped_and_a_fresh_one_is_not_the_early_one() -> None:
    with workers_ahead(2):
        started = parallel._AHEAD[2]
        with workers_ahead(2):  # nested: the outer block's pool stays the one
            assert parallel._AHEAD[2] is started
        with process_pool(2, ahead=False) as fresh:
            assert fresh is not started
            assert fresh.submit(int).result() == 0
    assert parallel._AHEAD == {}
    assert started._shutdown_thread  # stopped at the end of the block
