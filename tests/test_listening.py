"""voclab.listening: the blind MUSHRA-style test of notebook 08 (blinding, scores file, post-screening, CI)."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from voclab.display import ListeningGrid
from voclab.errors import ConfigError, DataError, NonFiniteAudioError, ShapeError
from voclab.listening import (
    CSV_COLUMNS,
    aggregate_scores,
    load_scores,
    mushra_test,
    unblinded_table,
)

SR = 8000
SYSTEMS = ("original", "griffin-lim 32", "hifigan", "melgan", "wavenet", "buzz")


def _tone(freq: float, seconds: float = 0.1) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _trials(names=("speech", "cello", "held-out"), systems=SYSTEMS) -> dict:
    return {trial: {system: _tone(200 + 50 * i + 7 * j) for j, system in enumerate(systems)}
            for i, trial in enumerate(names)}


def _score_all(test, by_system: dict) -> None:
    """Score every letter of every trial with the score its system gets in ``by_system``."""
    test.score({trial: {letter: by_system[system] for letter, system in letters.items()}
                for trial, letters in test.letters.items()})


# ---------------------------------------------------------------------- blinding
def test_shuffle_is_deterministic_by_seed_and_differs_across_trials(tmp_path):
    csv_path = tmp_path / "scores.csv"
    first = mushra_test(_trials(), SR, csv_path=csv_path, seed=3)
    again = mushra_test(_trials(), SR, csv_path=csv_path, seed=3)
    other = mushra_test(_trials(), SR, csv_path=csv_path, seed=4)
    assert first.letters == again.letters
    assert first.letters != other.letters
    orders = [tuple(letters.values()) for letters in first.letters.values()]
    assert len(set(orders)) == len(orders), orders  # each of the three trials has its own order
    # not simply the given (or the sorted) order
    assert any(order not in (SYSTEMS, tuple(sorted(SYSTEMS))) for order in orders)


def test_order_depends_on_the_trial_not_on_dict_order_or_other_trials(tmp_path):
    trials = _trials()
    test = mushra_test(trials, SR, csv_path=tmp_path / "s.csv")
    reversed_systems = {trial: dict(reversed(list(clips.items()))) for trial, clips in trials.items()}
    assert mushra_test(reversed_systems, SR, csv_path=tmp_path / "s.csv").letters == test.letters
    alone = mushra_test({"cello": trials["cello"]}, SR, csv_path=tmp_path / "s.csv")
    assert alone.letters["cello"] == test.letters["cello"]


def test_every_trial_hides_the_reference_and_the_anchor_under_letters(tmp_path):
    trials = _trials()
    del trials["held-out"]["griffin-lim 32"]  # a trial may lack the anchor
    test = mushra_test(trials, SR, csv_path=tmp_path / "s.csv")
    for trial, letters in test.letters.items():
        assert list(letters) == [chr(ord("A") + i) for i in range(len(trials[trial]))]
        assert sorted(letters.values()) == sorted(trials[trial])
        assert "original" in letters.values()
    assert "griffin-lim 32" in test.letters["speech"].values()
    assert "griffin-lim 32" not in test.letters["held-out"].values()


# ---------------------------------------------------------------------- the scores file
def test_csv_round_trip(tmp_path):
    csv_path = tmp_path / "listening" / "scores.csv"  # the folder is made on submit
    test = mushra_test(_trials(), SR, csv_path=csv_path, rater="ada")
    scores = {"original": 100, "griffin-lim 32": 12, "hifigan": 85.5, "melgan": 40, "wavenet": 61, "buzz": 5}
    _score_all(test, scores)
    table = test.submit()
    assert csv_path.read_text(encoding="utf-8").splitlines()[0] == ",".join(CSV_COLUMNS)
    rows = load_scores(csv_path)
    assert len(rows) == 3 * len(SYSTEMS)
    assert {row["rater"] for row in rows} == {"ada"}
    assert len({row["timestamp"] for row in rows}) == 1 and rows[0]["timestamp"].endswith("+00:00")
    for row in rows:
        assert test.letters[row["trial"]][row["letter"]] == row["system"]
        assert row["score"] == scores[row["system"]]
    # the un-blinded table of this submission: best first, n = 3 trials per system
    assert table.text.splitlines()[1].startswith("original")
    assert " ".join(table.text.splitlines()[2].split()) == "hifigan 85.5 ± 0.0 3"
    assert "in 0 of 3 trials" in table.text and "keeps these scores" in table.text
    assert "(hidden reference)" in table and "(anchor)" in table


def test_a_second_rater_appends_and_keeps_the_first_raters_rows(tmp_path):
    csv_path = tmp_path / "scores.csv"
    ada = mushra_test(_trials(), SR, csv_path=csv_path, rater="ada")
    _score_all(ada, dict.fromkeys(SYSTEMS, 50) | {"original": 100})
    ada.submit()
    before = csv_path.read_bytes()
    bo = mushra_test(_trials(), SR, csv_path=csv_path, rater="bo", seed=1)
    _score_all(bo, dict.fromkeys(SYSTEMS, 30) | {"original": 95})
    bo.submit()
    after = csv_path.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == 1 + 2 * 3 * len(SYSTEMS)
    rows = load_scores(csv_path)
    assert [row["rater"] for row in rows] == ["ada"] * 18 + ["bo"] * 18
    # 100 x 3 and 95 x 3: s = sqrt(7.5), t(0.975, 5) = 2.57058 -> 2.57058 * sqrt(7.5 / 6) = 2.8740
    assert aggregate_scores(rows)["original"] == {"mean": 97.5, "ci95": pytest.approx(2.8740, abs=1e-4), "n": 6}
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_submit_needs_every_letter_and_happens_once(tmp_path):
    test = mushra_test(_trials(), SR, csv_path=tmp_path / "s.csv")
    test.score({"speech": {"A": 10}})
    with pytest.raises(DataError, match=r"17 stimuli have no score yet.*test\.score\(\{'speech'"):
        test.submit()
    assert not (tmp_path / "s.csv").exists()
    _score_all(test, dict.fromkeys(SYSTEMS, 70))
    test.submit()
    assert load_scores(tmp_path / "s.csv")[0]["rater"] == "anonymous"
    with pytest.raises(DataError, match="already in"):
        test.submit()
    with pytest.raises(DataError, match="already in"):
        test.score({"speech": {"A": 10}})


# ---------------------------------------------------------------------- aggregation
def _rows(rater: str, reference_scores, other: float = 40.0) -> list[dict]:
    rows = []
    for i, score in enumerate(reference_scores):
        rows.append({"rater": rater, "trial": f"t{i}", "system": "original", "score": score})
        rows.append({"rater": rater, "trial": f"t{i}", "system": "hifigan", "score": other})
    return rows


def test_post_screening_excludes_a_careless_rater():
    careful = _rows("careful", [100, 95, 92, 100], other=70)
    careless = _rows("careless", [100, 60, 100, 100], other=10)  # 1 of 4 trials = 25 % > 15 %
    both = careful + careless
    screened = aggregate_scores(both)
    assert screened["hifigan"]["n"] == 4 and screened["hifigan"]["mean"] == 70.0
    unscreened = aggregate_scores(both, post_screen=False)
    assert unscreened["hifigan"]["n"] == 8 and unscreened["hifigan"]["mean"] == 40.0


def test_post_screening_threshold_is_more_than_15_percent_of_trials():
    one_miss_in_7 = _rows("r", [89] + [100] * 6)  # 14.3 %: kept
    one_miss_in_6 = _rows("r", [89] + [100] * 5)  # 16.7 %: excluded
    exactly_90 = _rows("r", [90] * 3)  # "below 90" only
    assert aggregate_scores(one_miss_in_7)["hifigan"]["n"] == 7
    assert aggregate_scores(one_miss_in_6) == {}
    assert aggregate_scores(exactly_90)["original"]["n"] == 3
    # another name for the hidden reference
    renamed = [row | {"system": "clean"} if row["system"] == "original" else row for row in one_miss_in_6]
    assert aggregate_scores(renamed, reference="clean") == {}
    assert aggregate_scores(renamed)["hifigan"]["n"] == 6


def test_confidence_interval_known_answer():
    rows = [{"rater": r, "system": "hifigan", "score": s} for r, s in (("a", 60), ("b", 70), ("c", 80))]
    result = aggregate_scores(rows)["hifigan"]
    # s = 10 and t(0.975, 2) = 4.30265 (a t table): 4.30265 * 10 / sqrt(3) = 24.8414
    assert result["mean"] == 70.0 and result["n"] == 3
    assert result["ci95"] == pytest.approx(24.8414, abs=1e-4)
    single = aggregate_scores(rows[:1])["hifigan"]
    assert single["n"] == 1 and single["mean"] == 60.0 and math.isnan(single["ci95"])


def test_unblinded_table_shows_objective_measures_beside_the_scores():
    aggregate = {"griffin-lim 32": {"mean": 31.0, "ci95": math.nan, "n": 1},
                 "hifigan": {"mean": 72.5, "ci95": 8.125, "n": 4}}
    table = unblinded_table(aggregate, {"hifigan": {"log-mel L1": 0.273, "F0 RMSE": 12.0},
                                        "griffin-lim 32": {"log-mel L1": 0.116}})
    assert table.text.splitlines() == [
        "system          mean  95% CI  n  log-mel L1  F0 RMSE",
        "hifigan         72.5  ± 8.1   4  0.273       12",
        "griffin-lim 32  31.0  –       1  0.116       –",
    ]
    assert isinstance(table, str) and table._repr_html_() == str(table) and repr(table) == table.text
    assert table.index("hifigan") < table.index("griffin-lim 32") and "<th" in table
    assert "no scores" in unblinded_table({}).text
    with pytest.raises(DataError, match="aggregate_scores"):
        unblinded_table({"hifigan": 70})
    with pytest.raises(DataError, match="measure"):
        unblinded_table(aggregate, {"hifigan": 0.27})


# ---------------------------------------------------------------------- showing
def test_without_ipywidgets_show_falls_back_to_blinded_grids(tmp_path, monkeypatch, capsys):
    import IPython.display

    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # `import ipywidgets` raises ImportError
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects: shown.extend(objects))
    trials = _trials(names=("speech", "cello"), systems=("original", "griffin-lim 32", "hifigan"))
    test = mushra_test(trials, SR, csv_path=tmp_path / "s.csv")
    with pytest.raises(ImportError):
        test.panel()
    test.show()
    assert [type(item) for item in shown] == [ListeningGrid, ListeningGrid]
    for grid, trial in zip(shown, trials):
        assert trial in grid.html and "Reference" in grid.html
        assert grid.html.count("<audio") == 4 and "<img" not in grid.html  # no spectrogram gives it away
        assert all(system not in grid.html for system in ("original", "griffin-lim", "hifigan"))
    printed = capsys.readouterr().out
    assert "test.score({'speech': {'A': 80" in printed and "test.submit()" in printed
    _score_all(test, {"original": 100, "griffin-lim 32": 20, "hifigan": 75})
    assert "hifigan" in test.submit().text


def test_widget_panel_submits_the_sliders_and_unblinds(tmp_path):
    pytest.importorskip("ipywidgets")
    trials = _trials(names=("speech", "cello"), systems=("original", "griffin-lim 32", "hifigan"))
    test = mushra_test(trials, SR, csv_path=tmp_path / "s.csv", rater="ada")
    test.objective = {"hifigan": {"log-mel L1": 0.27}}
    test.panel()
    assert len(test._sliders) == 6 and {s.value for s in test._sliders.values()} == {50}
    for (trial, letter), slider in test._sliders.items():
        slider.value = {"original": 97, "griffin-lim 32": 15, "hifigan": 81}[test.letters[trial][letter]]
    test._button.click()
    assert "voclab-unblinded" in test._result.value and "log-mel L1" in test._result.value
    assert test._button.disabled and all(s.disabled for s in test._sliders.values())
    rows = load_scores(tmp_path / "s.csv")
    assert sorted((row["trial"], row["system"], row["score"]) for row in rows)[:3] == [
        ("cello", "griffin-lim 32", 15.0), ("cello", "hifigan", 81.0), ("cello", "original", 97.0)]


def test_widget_panel_shows_a_voclab_error_instead_of_raising(tmp_path):
    pytest.importorskip("ipywidgets")
    trials = _trials(names=("speech",), systems=("original", "griffin-lim 32"))
    test = mushra_test(trials, SR, csv_path=tmp_path / "s.csv")
    test.panel()
    (tmp_path / "s.csv").write_text("name,score\n")  # someone else's file appeared meanwhile
    test._button.click()
    assert "voclab-mushra-error" in test._result.value and "not a listening-test scores file" in test._result.value
    assert not test._button.disabled


# ---------------------------------------------------------------------- bad input
def test_bad_input_raises_voclab_errors_that_say_what_to_do(tmp_path):
    csv_path = tmp_path / "s.csv"
    good = _trials(names=("speech",), systems=("original", "griffin-lim 32"))
    with pytest.raises(DataError, match=r"no 'original' clip.*reference="):
        mushra_test({"speech": {"clean": _tone(200), "griffin-lim 32": _tone(210)}}, SR, csv_path=csv_path)
    with pytest.raises(DataError, match="only the reference"):
        mushra_test({"speech": {"original": _tone(200)}}, SR, csv_path=csv_path, anchor=None)
    with pytest.raises(DataError, match=r"anchor 'gl' is in no trial.*anchor=None"):
        mushra_test(good, SR, csv_path=csv_path, anchor="gl")
    with pytest.raises(DataError, match="trial name"):
        mushra_test([("speech", good["speech"])], SR, csv_path=csv_path)
    with pytest.raises(DataError, match="26 letters"):
        mushra_test({"x": {f"s{i}": _tone(200) for i in range(26)} | {"original": _tone(200)}}, SR,
                    csv_path=csv_path, anchor=None)
    with pytest.raises(ShapeError, match=r"system 'original'.*mean\(axis=0\)"):
        mushra_test({"speech": {"original": np.zeros((2, 800)), "griffin-lim 32": _tone(200)}}, SR, csv_path=csv_path)
    with pytest.raises(NonFiniteAudioError):
        mushra_test({"speech": {"original": np.full(800, np.nan), "griffin-lim 32": _tone(200)}}, SR,
                    csv_path=csv_path)
    with pytest.raises(ConfigError, match="sr"):
        mushra_test(good, 0, csv_path=csv_path)
    with pytest.raises(ConfigError, match="seed"):
        mushra_test(good, SR, csv_path=csv_path, seed=-1)
    with pytest.raises(ConfigError, match="anchor=None"):
        mushra_test(good, SR, csv_path=csv_path, anchor="original")
    with pytest.raises(DataError, match="is a folder"):
        mushra_test(good, SR, csv_path=tmp_path)
    csv_path.write_text("name,score\nada,3\n")
    with pytest.raises(DataError, match="not a listening-test scores file"):
        mushra_test(good, SR, csv_path=csv_path)


def test_bad_scores_and_bad_files(tmp_path):
    test = mushra_test(_trials(names=("speech",), systems=("original", "griffin-lim 32")), SR,
                       csv_path=tmp_path / "s.csv")
    with pytest.raises(DataError, match="its trials are"):
        test.score({"cello": {"A": 50}})
    with pytest.raises(DataError, match="its letters are A, B"):
        test.score({"speech": {"C": 50}})
    for bad in (101, -1, "80", True, math.nan):
        with pytest.raises(DataError, match="0 \\(bad\\) to 100"):
            test.score({"speech": {"A": bad}})
    assert test.scores == {}  # a rejected call changes nothing
    with pytest.raises(DataError, match="submit a listening test first"):
        load_scores(tmp_path / "missing.csv")
    bad_file = tmp_path / "bad.csv"
    bad_file.write_text(",".join(CSV_COLUMNS) + "\nada,speech,A,original,loud,t\n")
    with pytest.raises(DataError, match="line 2"):
        load_scores(bad_file)
