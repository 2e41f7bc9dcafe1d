"""Tests of voclab.tiers: the compute tier is read from VOCLAB_TIER in one place."""

from __future__ import annotations

import pytest

import voclab
from voclab.errors import ConfigError, VoclabError
from voclab.tiers import DEFAULT_TIER, TIERS, by_tier, current_tier


@pytest.fixture
def tier(monkeypatch):
    def set_tier(value):
        if value is None:
            monkeypatch.delenv("VOCLAB_TIER", raising=False)
        else:
            monkeypatch.setenv("VOCLAB_TIER", value)

    return set_tier


def test_tiers():
    assert TIERS == ("quick", "standard", "full")
    assert DEFAULT_TIER == "standard"
    assert voclab.current_tier is current_tier and voclab.by_tier is by_tier


@pytest.mark.parametrize("value", [None, "", "   "])
def test_default_is_standard(tier, value):
    tier(value)
    assert current_tier() == "standard"


@pytest.mark.parametrize(
    "value, expected",
    [("quick", "quick"), ("standard", "standard"), ("full", "full"),
     ("QUICK", "quick"), ("Full", "full"), (" quick\n", "quick"), ("Standard", "standard")],
)
def test_reads_the_environment(tier, value, expected):
    tier(value)
    assert current_tier() == expected


@pytest.mark.parametrize("value", ["fast", "quik", "gpu", "1"])
def test_bad_value(tier, value):
    tier(value)
    with pytest.raises(ConfigError) as info:
        current_tier()
    message = str(info.value)
    assert repr(value.lower()) in message
    for name in TIERS:
        assert name in message
    assert isinstance(info.value, VoclabError)
    with pytest.raises(ConfigError):
        by_tier(quick=1, standard=2, full=3)


@pytest.mark.parametrize("value, expected", [(None, 100), ("quick", 16), ("standard", 100), ("full", 500)])
def test_by_tier_picks(tier, value, expected):
    tier(value)
    assert by_tier(quick=16, standard=100, full=500) == expected


@pytest.mark.parametrize("value, expected", [("quick", "q"), ("standard", "s"), ("full", "s")])
def test_full_falls_back_to_standard(tier, value, expected):
    tier(value)
    assert by_tier(quick="q", standard="s") == expected
    assert by_tier(quick="q", standard="s", full=None) == expected


def test_by_tier_is_keyword_only(tier):
    tier("quick")
    with pytest.raises(TypeError):
        by_tier(1, 2, 3)


def test_falsy_values_are_returned(tier):
    tier("full")
    assert by_tier(quick=1, standard=2, full=0) == 0
    tier("quick")
    assert by_tier(quick=0, standard=2) == 0
