"""Fault matrix (issue 4), scenario 7: SIGKILL the read at random points, resume with the last
state it printed, and the union of the records of every run equals the ground truth.

Odd seeds start from a complete sync followed by changes (the resume is incremental), even seeds
from no state at all. Each seed kills one or two runs in a row, after a seeded number of record
lines or a seeded delay, before letting the last run finish. Five seeds run in the default test
command; twenty more under `-m slow` (`make fault-matrix`).
"""

import random
import time

import pytest

from integration_tests.connector import full_range_config
from integration_tests.fault_matrix_support import (
    OUTPUTS,
    STREAMS,
    Connector,
    assert_equals_truth,
    assert_no_duplicates,
    leaks,
    merge_states,
    mutate,
    remember,
    run,
    small_emulator,
)

DEFAULT_SEEDS = list(range(5))
SLOW_SEEDS = list(range(5, 25))


@pytest.fixture(autouse=True)
def no_secret_in_any_output():
    first = len(OUTPUTS)
    yield
    found = leaks(OUTPUTS[first:])
    assert not found, f"secrets or tokens printed: {found}"


def kill_and_resume(seed):
    rng = random.Random(seed)
    with small_emulator(700 + seed, latency_ms=rng.choice([0, 10, 30])) as emu:
        config = full_range_config(emu, page_size=5, num_workers=rng.choice([1, 4, 8]))
        runs, state = [], None
        if seed % 2:
            baseline = run("read", config, STREAMS, emu=emu)
            assert baseline.returncode == 0 and not baseline.errors()
            runs.append(baseline)
            state = baseline.last_states()
            emu.advance(60)
            mutate(emu, f"seed {seed}")
        expected_lines = sum(len(emu.truth(s)) for s in ("appointments", "customers")) + 2
        kills = rng.choice([1, 1, 2])
        killed_at = []
        for attempt in range(kills + 1):
            connector = Connector("read", config, STREAMS, state=state)
            if attempt < kills:
                if rng.random() < 0.6:
                    lines = rng.randrange(0, expected_lines)
                    connector.wait_for_records(lines)
                    killed_at.append(f"after {connector.record_lines} records")
                else:
                    delay = rng.uniform(0.5, 7.0)
                    time.sleep(delay)
                    killed_at.append(f"after {delay:.1f} s")
                connector.kill()
            result = connector.finish(timeout=300)
            remember(result, emu, config)
            runs.append(result)
            assert_no_duplicates(result, STREAMS)
            if result.returncode == 0:
                break
            assert result.returncode == -9, result.stderr[-3000:]
            state = merge_states(state, result.last_states())
        assert runs[-1].returncode == 0 and not runs[-1].errors(), runs[-1].stdout[-3000:]
        assert_equals_truth(emu, config, STREAMS, *runs)
        return killed_at


@pytest.mark.parametrize("seed", DEFAULT_SEEDS)
def test_07_killed_reads_resume_from_their_last_state_without_loss(seed):
    kill_and_resume(seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SLOW_SEEDS)
def test_07_killed_reads_resume_from_their_last_state_without_loss_slow(seed):
    kill_and_resume(seed)
