"""The blind listening test of the shoot-out: a MUSHRA-style panel, scores on disk, un-blinding.

Objective measures can disagree with the ears: log-mel L1 and MR-STFT measure exactly what
Griffin-Lim optimises and are blind to incoherent phase (see :mod:`voclab.metrics`). The last
word is a listening test, and the standard one for "intermediate quality" is MUSHRA, *MUltiple
Stimuli with Hidden Reference and Anchor* (ITU-R BS.1534-3, 2015). For each item (a trial) the
listener hears the open reference and scores every version under test on a continuous 0-100
scale in five bands (bad 0-20, poor 20-40, fair 40-60, good 60-80, excellent 80-100). Among the
versions, under neutral letters and in a shuffled order, are the reference itself (the *hidden
reference*, which an attentive listener scores near 100, so it checks the listener) and a
deliberately poor *anchor* (here Griffin-Lim with 32 iterations), which pins the low end of the
scale. Because every system is heard on the same item, side by side, a handful of listeners
already separates systems that a one-clip-at-a-time opinion score would blur.

The workflow::

    test = mushra_test(trials, sr, csv_path="listening/scores.csv", rater="ada")
    test.objective = measures     # optional: {system: {measure: value}}, shown after un-blinding
    test.show()        # sliders; "Submit scores" appends to the CSV and un-blinds
    rows = load_scores("listening/scores.csv")       # every rater's rows so far
    unblinded_table(aggregate_scores(rows), test.objective)

Without ipywidgets :meth:`MushraTest.show` falls back to plain listening grids (blinded
letters) and :meth:`MushraTest.score` + :meth:`MushraTest.submit` do what the sliders and
the button do; headless runs (nbval, the unit tests) go that way too.

Notebook: 08_shootout.
"""

from __future__ import annotations

import csv
import html
import io
import math
import string
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .audio import check_waveform
from .display import audio_html, listening_grid
from .errors import ConfigError, DataError, ShapeError
from .files import write_atomic

__all__ = [
    "CSV_COLUMNS",
    "MUSHRA_BANDS",
    "MushraTest",
    "UnblindedTable",
    "aggregate_scores",
    "load_scores",
    "mushra_test",
    "unblinded_table",
]

# The columns of a scores file, in order; one row per (rater, trial, letter).
CSV_COLUMNS = ("rater", "trial", "letter", "system", "score", "timestamp")

# MUSHRA's five quality bands, (label, lowest score) from the top: a score belongs to the first
# band whose lowest score it reaches (80-100 excellent, ..., 0-20 bad).
MUSHRA_BANDS = (("excellent", 80), ("good", 60), ("fair", 40), ("poor", 20), ("bad", 0))

# Where a slider starts: the middle of the scale, so an untouched slider reads "fair".
SLIDER_START = 50

# Post-screening (ITU-R BS.1534-3): a rater who scores the hidden reference below this in more
# than this share of the trials is left out.
SCREEN_SCORE = 90
SCREEN_SHARE = 0.15


def _band(score: float) -> str:
    return next(label for label, lowest in MUSHRA_BANDS if score >= lowest)


@dataclass(repr=False)
class MushraTest:
    """One listener's blind MUSHRA-style test: trials, the blinding, the scores given so far.

    Made by :func:`mushra_test` (which checks the input and draws the blinding); see there.

    Notebook: 08_shootout.

    Attributes
    ----------
    trials : dict {trial: {system: np.ndarray [shape=(samples,), dtype=float32]}}
    sr : int
    reference, anchor : str, str or None
        The system names of the hidden reference and of the anchor.
    csv_path : Path
        Where :meth:`submit` appends the rows.
    rater : str
        Written in every row; ``""`` is written as ``"anonymous"``.
    seed : int
    letters : dict {trial: {letter: system}}
        The blinding, letters in order (A, B, C, ...).
    objective : dict {system: {measure: value}} or None
        Objective measures to show beside the scores once un-blinded; set it any time before
        submitting.
    scores : dict {trial: {letter: score}}
        What :meth:`score` (or the sliders) gave so far.
    submitted_rows : list of dict
        The rows written by :meth:`submit` (empty before).
    """

    trials: dict
    sr: int
    reference: str
    anchor: str | None
    csv_path: Path
    rater: str
    seed: int
    letters: dict
    objective: dict | None = None
    scores: dict = field(default_factory=dict)
    submitted_rows: list = field(default_factory=list)

    def __repr__(self) -> str:
        systems = sorted({s for trial in self.trials.values() for s in trial})
        state = "submitted" if self.submitted_rows else "not submitted"
        return (f"MushraTest({len(self.trials)} trials, systems {systems}, reference={self.reference!r}, "
                f"anchor={self.anchor!r}, csv_path='{self.csv_path}', {state})")

    # ------------------------------------------------------------------ scoring without widgets
    def score(self, scores: Mapping) -> None:
        """Give scores by letter, as the sliders do: ``{trial: {letter: score 0-100}}``.

        Calls add up: a later score for the same letter replaces the earlier one, so trials can
        be scored one at a time.

        Notebook: 08_shootout.

        Parameters
        ----------
        scores : dict {trial: {letter: number}}
            Letters as the panel or the grids show them (``"A"``, ``"B"``, ...); scores from 0
            (bad) to 100 (excellent).

        Raises
        ------
        voclab.errors.DataError
            An unknown trial or letter, a score that is not a number in 0-100, or scores given
            after :meth:`submit`.

        Examples
        --------
        >>> t = np.arange(4000) / 8000
        >>> tone = np.sin(2 * np.pi * 440 * t)
        >>> test = mushra_test({"tone": {"original": tone, "quiet": 0.1 * tone}}, 8000,
        ...                    anchor=None, csv_path="/tmp/voclab_doc_scores.csv")
        >>> test.score({"tone": {"A": 80}})
        >>> test.scores
        {'tone': {'A': 80.0}}
        """
        if self.submitted_rows:
            raise DataError(f"these scores are already in {self.csv_path}; to score again, make a new "
                            "test with mushra_test(...).")
        if not isinstance(scores, Mapping):
            raise DataError(f"score() takes {{trial: {{letter: score}}}}, got {type(scores).__name__}.")
        checked = {}
        for trial, by_letter in scores.items():
            if trial not in self.letters:
                raise DataError(f"no trial {trial!r} in this test; its trials are {list(self.letters)}.")
            if not isinstance(by_letter, Mapping):
                raise DataError(f"trial {trial!r}: give {{letter: score}}, e.g. {{'A': 80}}, "
                                f"got {type(by_letter).__name__}.")
            for letter, value in by_letter.items():
                if letter not in self.letters[trial]:
                    raise DataError(f"trial {trial!r} has no letter {letter!r}; its letters are "
                                    f"{', '.join(self.letters[trial])}.")
                if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                        or not 0 <= value <= 100:
                    raise DataError(f"trial {trial!r}, letter {letter}: the score {value!r} is not a "
                                    "number from 0 (bad) to 100 (excellent).")
                checked.setdefault(trial, {})[letter] = float(value)
        for trial, by_letter in checked.items():
            self.scores.setdefault(trial, {}).update(by_letter)

    def submit(self) -> UnblindedTable:
        """Append this listener's scores to :attr:`csv_path` and un-blind them.

        One row per trial and letter (columns :data:`CSV_COLUMNS`, one timestamp for all, UTC).
        The file is rewritten whole through a temporary file and an atomic rename, so a crash
        never leaves half a file and earlier raters' rows are kept as they were. Two kernels
        submitting to the same file at the same instant are not serialised (there is no lock):
        give each rater their own file, or take turns.

        Notebook: 08_shootout.

        Returns
        -------
        table : UnblindedTable
            This submission un-blinded (:func:`aggregate_scores` without post-screening, so a
            listener always sees their own scores, beside :attr:`objective`), what each letter
            was in each trial, and whether a MUSHRA panel would keep these scores.

        Raises
        ------
        voclab.errors.DataError
            A letter has no score yet; already submitted; the CSV cannot be written or is not a
            scores file.

        Examples
        --------
        >>> import os
        >>> t = np.arange(4000) / 8000
        >>> tone = np.sin(2 * np.pi * 440 * t)
        >>> path = "/tmp/voclab_doc_submit.csv"
        >>> if os.path.exists(path): os.remove(path)
        >>> test = mushra_test({"tone": {"original": tone, "quiet": 0.1 * tone}}, 8000,
        ...                    anchor=None, csv_path=path, rater="ada")
        >>> letter_of = {system: letter for letter, system in test.letters["tone"].items()}
        >>> test.score({"tone": {letter_of["original"]: 95, letter_of["quiet"]: 40}})
        >>> table = test.submit()
        >>> [(row["system"], row["score"]) for row in load_scores(path)]
        [('original', 95.0), ('quiet', 40.0)]
        """
        if self.submitted_rows:
            raise DataError(f"these scores are already in {self.csv_path}; to score again, make a new "
                            "test with mushra_test(...).")
        missing = [f"{trial} {letter}" for trial, letters in self.letters.items() for letter in letters
                   if letter not in self.scores.get(trial, {})]
        if missing:
            trial = next(iter(self.letters))
            example = ", ".join(f"{letter!r}: 70" for letter in self.letters[trial])
            raise DataError(f"{len(missing)} stimuli have no score yet ({', '.join(missing[:6])}"
                            f"{', ...' if len(missing) > 6 else ''}); score them, e.g. "
                            f"test.score({{{trial!r}: {{{example}}}}}), then submit again.")
        timestamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        rows = [{"rater": self.rater or "anonymous", "trial": trial, "letter": letter, "system": system,
                 "score": self.scores[trial][letter], "timestamp": timestamp}
                for trial, letters in self.letters.items() for letter, system in letters.items()]
        _append_rows(self.csv_path, rows)
        self.submitted_rows = rows
        return self.unblinded()

    def unblinded(self) -> UnblindedTable:
        """The submitted scores un-blinded: the table, what each letter was, the screening verdict.

        Notebook: 08_shootout.

        Returns
        -------
        table : UnblindedTable

        Raises
        ------
        voclab.errors.DataError
            Nothing submitted yet.
        """
        if not self.submitted_rows:
            raise DataError("nothing to un-blind yet: score every letter and submit() first.")
        table = unblinded_table(aggregate_scores(self.submitted_rows, reference=self.reference, post_screen=False),
                                self.objective)
        notes = []
        for trial, letters in self.letters.items():
            named = ", ".join(f"{letter} = {system}{self._role(system)}" for letter, system in letters.items())
            notes.append(f"{trial}: {named}")
        reference_scores = [row["score"] for row in self.submitted_rows if row["system"] == self.reference]
        below = sum(score < SCREEN_SCORE for score in reference_scores)
        verdict = "would exclude" if below > SCREEN_SHARE * len(reference_scores) else "keeps"
        notes.append(f"You scored the hidden reference below {SCREEN_SCORE} in {below} of "
                     f"{len(reference_scores)} trials: MUSHRA's post-screening {verdict} these scores "
                     f"(it excludes a rater who does so in more than {SCREEN_SHARE:.0%} of trials).")
        text = table.text + "\n" + "\n".join(notes)
        markup = (table + '<ul class="voclab-unblinded-notes" style="font-size:0.85em;margin:4px 0">'
                  + "".join(f"<li>{html.escape(note)}</li>" for note in notes) + "</ul>")
        return UnblindedTable(markup, text)

    def _role(self, system: str) -> str:
        if system == self.reference:
            return " (hidden reference)"
        return " (anchor)" if system == self.anchor else ""

    # ------------------------------------------------------------------ showing
    def panel(self):
        """The ipywidgets panel that :meth:`show` displays: per trial the open reference and a
        player and a 0-100 slider per letter, then "Submit scores" and the un-blinded table.

        Sliders start at 50 (or at a score already given with :meth:`score`); the label beside
        each names its MUSHRA band. The button submits every slider's value (:meth:`submit`),
        shows :meth:`unblinded` below and locks the panel; a voclab error (e.g. a CSV that cannot
        be written) is shown there instead. No spectrograms: a picture would give the game away.

        Notebook: 08_shootout.

        Returns
        -------
        panel : ipywidgets.VBox

        Raises
        ------
        ImportError
            ipywidgets is not installed (:meth:`show` then falls back to listening grids).
        """
        import ipywidgets as widgets

        legend = " · ".join(f"{label} {lowest}-{lowest + 20}" for label, lowest in MUSHRA_BANDS)
        children = [widgets.HTML(f"<b>Blind listening test</b> (MUSHRA scale: {legend}). Compare each "
                                 "letter with the reference and score it; the reference itself is hidden "
                                 "among the letters.")]
        sliders = {}
        for trial, letters in self.letters.items():
            children.append(widgets.HTML(f"<h4 style='margin:8px 0 2px'>{html.escape(trial)}</h4>"))
            children.append(widgets.HBox([widgets.HTML("<b style='display:inline-block;width:6em'>Reference</b>"),
                                          widgets.HTML(audio_html(self.trials[trial][self.reference], self.sr))]))
            for letter, system in letters.items():
                start = round(self.scores.get(trial, {}).get(letter, SLIDER_START))
                slider = widgets.IntSlider(value=start, min=0, max=100, step=1, continuous_update=False,
                                           description="", layout=widgets.Layout(width="240px"))
                band = widgets.Label(_band(start))
                slider.observe(lambda change, band=band: setattr(band, "value", _band(change["new"])), names="value")
                sliders[(trial, letter)] = slider
                children.append(widgets.HBox([
                    widgets.HTML(f"<b style='display:inline-block;width:6em'>{letter}</b>"),
                    widgets.HTML(audio_html(self.trials[trial][system], self.sr)), slider, band]))
        button = widgets.Button(description="Submit scores", button_style="primary")
        result = widgets.HTML(layout=widgets.Layout(margin="6px 0"))

        def on_submit(_button) -> None:
            from .errors import VoclabError

            try:
                values = {}
                for (trial, letter), slider in sliders.items():
                    values.setdefault(trial, {})[letter] = slider.value
                self.score(values)
                table = self.submit()
            except VoclabError as error:
                result.value = f'<pre class="voclab-mushra-error" style="color:#b00">{html.escape(str(error))}</pre>'
                return
            result.value = f'<div class="voclab-unblinded">{table}</div>'
            for slider in sliders.values():
                slider.disabled = True
            button.disabled, button.description = True, "Submitted"

        button.on_click(on_submit)
        self._sliders, self._button, self._result = sliders, button, result  # for the tests
        return widgets.VBox(children + [button, result])

    def show(self) -> None:
        """Display the panel (:meth:`panel`); without ipywidgets, blinded listening grids and how to
        score them with :meth:`score` and :meth:`submit`.

        Only a missing ipywidgets package can be noticed here; a front end without a widget
        manager (e.g. a viewer that shows saved notebooks) shows the panel's text form
        instead, and :meth:`score` + :meth:`submit` still work.

        Notebook: 08_shootout.
        """
        from IPython.display import display

        try:
            panel = self.panel()
        except ImportError:
            for trial, letters in self.letters.items():
                clips = [("Reference", self.trials[trial][self.reference])]
                clips += [(letter, self.trials[trial][system]) for letter, system in letters.items()]
                display(listening_grid(clips, self.sr, columns=4, title=trial, spectrograms=False))
            trial = next(iter(self.letters))
            print(f"ipywidgets is not installed, so there are no sliders: score every letter from 0 (bad) "
                  f"to 100 (excellent) with test.score({{{trial!r}: {{'A': 80, 'B': 35, ...}}, ...}}), "
                  f"then test.submit() appends them to {self.csv_path} and un-blinds them.")
            return
        display(panel)


def mushra_test(trials: Mapping, sr: int, *, reference: str = "original", anchor: str | None = "griffin-lim 32",
                csv_path, rater: str = "", seed: int = 0) -> MushraTest:
    """Set up a blind MUSHRA-style listening test (ITU-R BS.1534-3) of several systems on several clips.

    Per trial the panel plays the open reference and, under neutral letters (A, B, C, ...) in an
    order shuffled per trial, every system of the trial — the hidden reference and the anchor
    among them — each with a 0-100 slider. The order is drawn from ``seed`` and the trial's name
    (``numpy.random.default_rng([seed, crc32(name)])`` on the sorted system names), so it is the
    same in every run and for every listener with the same seed, differs from trial to trial,
    and a trial keeps its order when others are added.

    Notebook: 08_shootout.

    Parameters
    ----------
    trials : dict {trial name: {system name: audio [shape=(samples,)]}}
        Every clip at ``sr``, mono, numpy or torch. Each trial holds ``reference``; systems may
        differ between trials (e.g. a model trained only on speech).
    sr : int
        Sample rate of every clip, in Hz.
    reference : str
        The system name of the original recording: played openly and hidden among the letters.
    anchor : str or None
        The system name of the anchor, a deliberately poor version (default: Griffin-Lim with
        32 iterations); a trial may lack it, but at least one must hold it. ``None``: no anchor.
    csv_path : str or Path
        Where :meth:`MushraTest.submit` appends the scores (created with its folder if needed;
        an existing file must be a scores file, so several raters can share one).
    rater : str
        The listener's name or id, written in every row (``""``: ``"anonymous"``; give each
        listener their own name, post-screening is per rater).
    seed : int
        Seed of the shuffles (non-negative).

    Returns
    -------
    test : MushraTest
        ``test.show()`` displays the panel.

    Raises
    ------
    voclab.errors.DataError
        ``trials`` is not ``{trial: {system: audio}}``; a trial lacks ``reference`` or has nothing
        to compare with it, or more than 26 systems; ``anchor`` is in no trial; ``csv_path`` is a
        folder or a file that is not a scores file.
    voclab.errors.ShapeError, voclab.errors.EmptyAudioError, voclab.errors.NonFiniteAudioError
        A clip that is not 1-D, is empty, or has NaN/Inf samples.
    voclab.errors.ConfigError
        ``sr`` or ``seed`` not a non-negative integer (``sr`` positive); ``anchor`` equal to
        ``reference``.

    Examples
    --------
    >>> t = np.arange(8000) / 16000
    >>> tone = np.sin(2 * np.pi * 220 * t)
    >>> trials = {"low": {"original": tone, "buzz": np.sign(tone), "griffin-lim 32": 0.5 * tone},
    ...           "high": {"original": tone[::2], "buzz": np.sign(tone[::2]), "griffin-lim 32": tone[1::2]}}
    >>> test = mushra_test(trials, 16000, csv_path="/tmp/voclab_doc_mushra.csv", rater="ada")
    >>> sorted(test.letters["low"])
    ['A', 'B', 'C']
    >>> sorted(test.letters["low"].values())
    ['buzz', 'griffin-lim 32', 'original']
    """
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise ConfigError(f"sr must be a positive whole number of Hz, e.g. 22050; got {sr!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, e.g. 0; got {seed!r}.")
    if anchor is not None and anchor == reference:
        raise ConfigError(f"the anchor and the reference are both {reference!r}; the anchor is a poor "
                          "version (e.g. anchor='griffin-lim 32'), or pass anchor=None.")
    if not isinstance(trials, Mapping) or not trials:
        raise DataError("mushra_test() takes trials as {trial name: {system name: audio}} with at least one "
                        f"trial; got {type(trials).__name__ if not isinstance(trials, Mapping) else 'an empty dict'}.")
    clips, letters = {}, {}
    for trial, systems in trials.items():
        if not isinstance(trial, str) or not isinstance(systems, Mapping) or \
                not all(isinstance(name, str) for name in systems):
            raise DataError(f"trial {trial!r}: trials are {{trial name: {{system name: audio}}}} with str names.")
        if reference not in systems:
            raise DataError(f"trial {trial!r} has no {reference!r} clip (its systems: {sorted(systems)}); add the "
                            "original recording under that name, or pass reference= the name it has.")
        if len(systems) < 2:
            raise DataError(f"trial {trial!r} holds only the reference; add the systems to compare with it.")
        if len(systems) > len(string.ascii_uppercase):
            raise DataError(f"trial {trial!r} has {len(systems)} systems, more than the 26 letters; split it "
                            "(MUSHRA advises at most 12 stimuli per trial anyway).")
        clips[trial] = {name: _clip(audio, f"trial {trial!r}, system {name!r}") for name, audio in systems.items()}
        order = np.random.default_rng([int(seed), zlib.crc32(trial.encode("utf-8"))]).permutation(sorted(systems))
        letters[trial] = dict(zip(string.ascii_uppercase, (str(name) for name in order)))
    if anchor is not None and not any(anchor in systems for systems in clips.values()):
        present = sorted({name for systems in clips.values() for name in systems})
        raise DataError(f"the anchor {anchor!r} is in no trial (systems: {present}); pass anchor= one of them, "
                        "or anchor=None for a test without an anchor.")
    csv_path = Path(csv_path)
    if csv_path.exists():
        _check_header(csv_path)
    return MushraTest(trials=clips, sr=int(sr), reference=reference, anchor=anchor, csv_path=csv_path,
                      rater=str(rater), seed=int(seed), letters=letters)


def _clip(audio, what: str) -> np.ndarray:
    if hasattr(audio, "detach"):
        audio = audio.detach().cpu().numpy()
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise ShapeError(f"{what}: audio of shape {audio.shape}; pass one mono clip [shape=(samples,)] "
                         "(e.g. y.reshape(-1) for (1, samples), y.mean(axis=0) for stereo).")
    return check_waveform(audio, name=what)


# ---------------------------------------------------------------------- the scores file
def _check_header(path: Path) -> None:
    if path.is_dir():
        raise DataError(f"{path} is a folder; csv_path names a file, e.g. {path / 'scores.csv'}.")
    with open(path, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), None)
    if header is None:
        return  # an empty file: the header is written with the first rows
    if tuple(header) != CSV_COLUMNS:
        raise DataError(f"{path} is not a listening-test scores file (its columns: {header}, expected "
                        f"{list(CSV_COLUMNS)}); choose another csv_path or move that file away.")


def _append_rows(path: Path, rows: list[dict]) -> None:
    """Old content + new rows, written to a temporary file beside ``path`` and renamed over it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        old = ""
        if path.exists():
            _check_header(path)
            old = path.read_text(encoding="utf-8")
        if old and not old.endswith("\n"):
            old += "\n"
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if not old:
            writer.writerow(CSV_COLUMNS)
        writer.writerows([row[column] if column != "score" else f"{row['score']:g}" for column in CSV_COLUMNS]
                         for row in rows)
        write_atomic(path, old + buffer.getvalue())
    except OSError as error:
        raise DataError(f"cannot write the scores to {path} ({error}); choose a csv_path in a folder you can "
                        "write to.") from error


def load_scores(csv_path) -> list[dict]:
    """Read a listening-test scores file: one dict per row, the score as a float.

    Notebook: 08_shootout.

    Parameters
    ----------
    csv_path : str or Path
        A file written by :meth:`MushraTest.submit` (columns :data:`CSV_COLUMNS`).

    Returns
    -------
    rows : list of dict
        Keys ``rater, trial, letter, system, score, timestamp``; ``score`` a float in 0-100, the
        rest strings.

    Raises
    ------
    voclab.errors.DataError
        No such file; not a scores file; a score that is not a number in 0-100 (the line is
        named).

    Examples
    --------
    >>> path = Path("/tmp/voclab_doc_load.csv")
    >>> _ = path.write_text("rater,trial,letter,system,score,timestamp\\nada,low,A,original,100,t\\n")
    >>> load_scores(path)
    [{'rater': 'ada', 'trial': 'low', 'letter': 'A', 'system': 'original', 'score': 100.0, 'timestamp': 't'}]
    """
    path = Path(csv_path)
    if not path.is_file():
        raise DataError(f"no scores file at {path}; submit a listening test first (the panel's Submit "
                        "button, or MushraTest.submit()).")
    _check_header(path)
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                score = float(row["score"])
            except (TypeError, ValueError):
                score = math.nan
            if not 0 <= score <= 100:
                raise DataError(f"{path}, line {line}: the score {row['score']!r} is not a number in 0-100; "
                                "fix or delete that line.")
            rows.append({**row, "score": score})
    return rows


# ---------------------------------------------------------------------- aggregation and un-blinding
def aggregate_scores(rows, *, reference: str = "original", post_screen: bool = True) -> dict:
    """Mean score per system with its 95 % confidence interval, after MUSHRA's post-screening.

    Post-screening (ITU-R BS.1534-3): a rater who scores the hidden reference below 90 in
    more than 15 % of the trials they rated is left out entirely — they could not tell the
    original from a degraded version, so their other scores say little either. (The rule as
    secondary sources state it, e.g. Wikipedia's MUSHRA article; the Recommendation's own text
    could not be checked here.) The interval is Student's t: mean ± t(0.975,
    n-1) · s / √n with s the sample standard deviation over every remaining score of the
    system (all raters and trials pooled), so with one score there is no interval (nan).

    Notebook: 08_shootout (exercise).

    Parameters
    ----------
    rows : iterable of dict
        Each with ``rater``, ``system`` and ``score`` (0-100), e.g. from :func:`load_scores`.
    reference : str
        The system name of the hidden reference.
    post_screen : bool
        Apply the post-screening rule.

    Returns
    -------
    aggregate : dict {system: {"mean": float, "ci95": float, "n": int}}
        ``ci95`` is the half-width of the interval: the true mean lies in mean ± ci95.

    Examples
    --------
    >>> rows = [{"rater": r, "system": "hifigan", "score": s} for r, s in (("ada", 60), ("bo", 70), ("cy", 80))]
    >>> result = aggregate_scores(rows)["hifigan"]
    >>> result["mean"], round(result["ci95"], 2), result["n"]
    (70.0, 24.84, 3)
    """
    from scipy.stats import t

    rows = list(rows)
    if post_screen:
        excluded = set()
        for rater in {row["rater"] for row in rows}:
            misses = [float(row["score"]) < SCREEN_SCORE for row in rows
                      if row["rater"] == rater and row["system"] == reference]
            if sum(misses) > SCREEN_SHARE * len(misses):
                excluded.add(rater)
        rows = [row for row in rows if row["rater"] not in excluded]
    by_system = {}
    for row in rows:
        by_system.setdefault(row["system"], []).append(float(row["score"]))
    aggregate = {}
    for system, scores in by_system.items():
        n = len(scores)
        ci95 = float(t.ppf(0.975, n - 1) * np.std(scores, ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        aggregate[system] = {"mean": float(np.mean(scores)), "ci95": ci95, "n": n}
    return aggregate


class UnblindedTable(str):
    """A results table: the ``str`` is its HTML (Jupyter shows it as a table), ``.text`` and
    ``repr`` the same table as plain text (what a terminal, a doctest or a text-only viewer shows).

    Notebook: 08_shootout.
    """

    def __new__(cls, markup: str, text: str):
        table = super().__new__(cls, markup)
        table.text = text
        return table

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return self.text


def _cell(value, digits: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return format(value, digits)
    return str(value)


def unblinded_table(aggregate: Mapping, objective: Mapping | None = None) -> UnblindedTable:
    """The scores un-blinded: one row per system, best mean first, beside its objective measures.

    Notebook: 08_shootout.

    Parameters
    ----------
    aggregate : dict {system: {"mean", "ci95", "n"}}
        From :func:`aggregate_scores`.
    objective : dict {system: {measure: value}}, optional
        E.g. log-mel L1 and F0 RMSE per system; one column per measure (in the order first
        met), ``–`` where a system has none.

    Returns
    -------
    table : UnblindedTable
        HTML (``str``) with a plain-text ``repr``.

    Raises
    ------
    voclab.errors.DataError
        ``aggregate`` or ``objective`` not shaped as above.

    Examples
    --------
    >>> table = unblinded_table({"hifigan": {"mean": 72.5, "ci95": 8.125, "n": 4},
    ...                          "griffin-lim 32": {"mean": 31.0, "ci95": float("nan"), "n": 1}},
    ...                         objective={"hifigan": {"log-mel L1": 0.273}})
    >>> print(table.text)
    system          mean  95% CI  n  log-mel L1
    hifigan         72.5  ± 8.1   4  0.273
    griffin-lim 32  31.0  –       1  –
    """
    objective = {} if objective is None else objective
    if not isinstance(aggregate, Mapping) or not all(
            isinstance(v, Mapping) and {"mean", "ci95", "n"} <= set(v) for v in aggregate.values()):
        raise DataError("unblinded_table() takes {system: {'mean', 'ci95', 'n'}} as aggregate_scores() returns it.")
    if not isinstance(objective, Mapping) or not all(isinstance(v, Mapping) for v in objective.values()):
        raise DataError("objective is {system: {measure: value}}, e.g. {'hifigan': {'log-mel L1': 0.27}}.")
    measures = list(dict.fromkeys(measure for values in objective.values() for measure in values))
    header = ["system", "mean", "95% CI", "n", *measures]
    body = []
    for system, result in sorted(aggregate.items(), key=lambda item: -item[1]["mean"]):
        ci = "–" if math.isnan(result["ci95"]) else f"± {result['ci95']:.1f}"
        extra = [_cell(objective.get(system, {}).get(measure), ".3g") for measure in measures]
        body.append([str(system), f"{result['mean']:.1f}", ci, str(result["n"]), *extra])
    if not body:
        message = "no scores (after post-screening, if it was applied)"
        return UnblindedTable(f'<p class="voclab-unblinded-table">{message}</p>', message)
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    text = "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in [header, *body])
    lines = ["<tr>" + "".join(f"<th style='text-align:left;padding:2px 8px'>{html.escape(c)}</th>" for c in header)
             + "</tr>"]
    lines += ["<tr>" + "".join(f"<td style='padding:2px 8px'>{html.escape(c)}</td>" for c in row) + "</tr>"
              for row in body]
    markup = f'<table class="voclab-unblinded-table" style="border-collapse:collapse">{"".join(lines)}</table>'
    return UnblindedTable(markup, text)
