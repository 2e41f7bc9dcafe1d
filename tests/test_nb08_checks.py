"""Notebook 08's exercise checks: references pass, stubs are "not done", each named mistake is named."""

from __future__ import annotations

import pytest

from voclab.checks import check_exercise, get_exercise, nb08

NAMES = ["f0_rmse_from_tracks", "peak_if_spread", "times_real_time", "aggregate_scores"]


def stub(name):
    def fn(*args, **kwargs):
        raise NotImplementedError(f"Exercise {name}: your code here")
    return fn


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_and_stub_is_not_done(name):
    exercise = get_exercise(name)
    assert exercise.notebook == "08_shootout"
    assert check_exercise(name, exercise.reference).status == "passed"
    assert check_exercise(name, stub(name)).status == "not done"


@pytest.mark.parametrize("name", NAMES)
def test_every_mistake_gets_its_own_message(name):
    exercise = get_exercise(name)
    assert exercise.mistakes
    for wrong, message in exercise.mistakes:
        result = check_exercise(name, wrong)
        assert result.status == "failed", message
        assert message in result.message, result.message


def test_the_written_out_variants_match_the_references_when_nothing_is_wrong():
    assert check_exercise("peak_if_spread", nb08._spread_variant()).status == "passed"
    assert check_exercise("aggregate_scores", nb08._aggregate_variant()).status == "passed"
