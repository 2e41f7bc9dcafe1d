"""The course's interactive cell, run for real: JupyterLab in headless Chromium.

The cell of ``solutions/01_phase_and_griffin_lim.ipynb`` tagged ``iteration-widget`` shows an
``IntSlider`` (Griffin-Lim iterations) and a ``voclab.display.HTMLOutput`` holding a matplotlib
figure and an ``<audio>`` player; moving the slider redraws both. These tests run the whole notebook in
JupyterLab (``VOCLAB_TIER=quick``) and check, in the browser, that

* no cell (and no widget callback) produced an error output,
* the slider is a live widget, not its text repr ``IntSlider(value=...)``,
* the ``<audio>`` element has a positive, finite duration and the figure ``<img>`` is decoded,
* moving the slider by keyboard redraws the figure / the audio.

``tests/fixtures/browser_widget.ipynb`` has the same structure (a sine whose frequency follows the
slider) and runs in a few seconds: it is the harness's self-test, and with the widget manager
extension disabled it shows that the slider check can fail.

The blind listening test of notebook 08 (``voclab.listening``) is driven once on
``tests/fixtures/browser_mushra.ipynb``: move a slider by keyboard, click "Submit scores", see the
un-blinded table and the scores file on disk.

Needs ``apt-get install -y chromium`` and ``pip install playwright`` (never ``playwright install``:
the Debian Chromium is used). Run alone with ``python -m pytest -m browser -v``.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import browser_harness as bh

REPO = bh.REPO_ROOT
TAG = "iteration-widget"
FIXTURE = REPO / "tests" / "fixtures" / "browser_widget.ipynb"
SOLUTION = REPO / "solutions" / "01_phase_and_griffin_lim.ipynb"
ENV = {"VOCLAB_TIER": "quick"}
MUSHRA_FIXTURE = REPO / "tests" / "fixtures" / "browser_mushra.ipynb"
MUSHRA_TAG = "mushra-panel"

# Per notebook: how long Run All may take, and how long one redraw after a slider move may take.
NOTEBOOKS = {
    "fixture": (FIXTURE, 120, 30),
    "solution01": (SOLUTION, 300, 120),
    "solution02": (REPO / "solutions" / "02_dilated_convolutions.ipynb", 300, 60),
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bh.find_chromium() is None,
                       reason="no Chromium: apt-get install -y chromium (Debian; no chromium-driver needed)"),
    pytest.mark.skipif(not bh.playwright_available(),
                       reason="no playwright: pip install playwright (do not run `playwright install`)"),
]


@dataclass
class NotebookRun:
    name: str
    session: bh.NotebookSession
    index: int  # the tagged cell's index in the .ipynb
    output_area: object  # playwright Locator: the tagged cell's .jp-Cell-outputArea
    run_seconds: float
    redraw_timeout_s: float

    def require_tagged_cell_ran(self) -> None:
        """Fail at once, not after the checks' timeouts, when Run All stopped before the cell."""
        if self.session.cell_states()[self.index]["executionCount"] is None:
            errors = "; ".join(self.session.error_outputs()) or "no error output"
            pytest.fail(f"the cell tagged {TAG!r} (cell {self.index}) never ran: {errors}")


@pytest.fixture(scope="module")
def playwright_driver():
    """One Playwright for the module: the sessions below overlap, and two sync Playwright
    instances cannot be open at once."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module", params=list(NOTEBOOKS))
def notebook_run(request, tmp_path_factory, playwright_driver, record_wait):
    """Run All Cells once per notebook; the tests below look at the result in the same page."""
    name = request.param
    notebook, run_timeout_s, redraw_timeout_s = NOTEBOOKS[name]
    if not notebook.exists():
        shown = notebook.relative_to(REPO) if notebook.is_relative_to(REPO) else notebook
        pytest.skip(f"{shown} does not exist yet")
    index = bh.tagged_cell_index(notebook, TAG)
    workdir = tmp_path_factory.mktemp(f"browser-{name}")
    start = time.monotonic()
    with bh.lab_session(notebook, workdir, extra_env=ENV, playwright=playwright_driver) as session:
        record_wait(f"{name}: JupyterLab up, notebook open", time.monotonic() - start, bh.STARTUP_LIMIT_S)
        start = time.monotonic()
        try:
            with session.screenshot_on_failure(f"{name}-run-all"):
                seconds = session.run_all(timeout_s=run_timeout_s)
                area = session.cell_output_area(index)
        finally:
            record_wait(f"{name}: Run All Cells", time.monotonic() - start, run_timeout_s)
        yield NotebookRun(name, session, index, area, seconds, redraw_timeout_s)


def test_notebook_runs_without_error_output(notebook_run):
    with notebook_run.session.screenshot_on_failure(f"{notebook_run.name}-errors"):
        errors = notebook_run.session.error_outputs()
        assert not errors, "error outputs:\n" + "\n".join(errors)


def test_slider_is_a_live_widget(notebook_run):
    area = notebook_run.output_area
    notebook_run.require_tagged_cell_ran()
    with notebook_run.session.screenshot_on_failure(f"{notebook_run.name}-slider"):
        bh.check_live_slider(area)
        assert "IntSlider(" not in bh.slider_state(area)["text"]


def test_audio_player_has_a_duration(notebook_run):
    notebook_run.require_tagged_cell_ran()
    with notebook_run.session.screenshot_on_failure(f"{notebook_run.name}-audio"):
        assert bh.audio_src(notebook_run.output_area).startswith("data:audio/wav;base64,")
        duration = bh.audio_duration(notebook_run.output_area)
        assert isinstance(duration, (int, float)) and math.isfinite(duration) and duration > 0, duration


def test_figure_is_rendered(notebook_run):
    notebook_run.require_tagged_cell_ran()
    with notebook_run.session.screenshot_on_failure(f"{notebook_run.name}-figure"):
        assert bh.image_src(notebook_run.output_area).startswith("data:image/png")
        assert bh.figure_natural_width(notebook_run.output_area) > 0


# Keep this one last: it changes the widget's state.
def test_keyboard_slider_move_redraws_figure_and_audio(notebook_run, record_wait):
    session, area = notebook_run.session, notebook_run.output_area
    notebook_run.require_tagged_cell_ran()
    with session.screenshot_on_failure(f"{notebook_run.name}-keyboard"):
        bh.check_live_slider(area)
        before = bh.slider_readout(area)
        errors_before = session.error_outputs()
        old_image, old_audio = bh.image_src(area), bh.audio_src(area)
        bh.move_slider_by_keyboard(area, ("ArrowRight",) * 3)
        if bh.slider_readout(area) == before:  # it started at its maximum
            bh.move_slider_by_keyboard(area, ("Home",))
        assert bh.slider_readout(area) != before, "the keyboard did not move the slider"
        start = time.monotonic()
        try:
            changed = bh.wait_for_redraw(area, old_image, old_audio, timeout_s=notebook_run.redraw_timeout_s)
            assert changed["image_changed"] or changed["audio_changed"]
            # Let every queued redraw finish, then the new output must be as sound as the first.
            session.wait_kernel_idle(timeout_s=notebook_run.redraw_timeout_s)
        finally:
            record_wait(f"{notebook_run.name}: redraw after the slider move", time.monotonic() - start,
                        notebook_run.redraw_timeout_s)
        assert bh.figure_natural_width(area) > 0
        assert bh.audio_duration(area) > 0
        errors = [e for e in session.error_outputs() if e not in errors_before]
        assert not errors, "new error outputs after moving the slider:\n" + "\n".join(errors)


def test_slider_check_fails_without_the_widget_manager(tmp_path, playwright_driver):
    """Negative self-check: with ``@jupyter-widgets/jupyterlab-manager`` disabled the slider is
    shown as its text repr, and the check above must say so."""
    index = bh.tagged_cell_index(FIXTURE, TAG)
    with (
        bh.lab_session(FIXTURE, tmp_path, extra_env=ENV, disabled_extensions=(bh.WIDGET_MANAGER,),
                       playwright=playwright_driver) as session,
        session.screenshot_on_failure("negative-self-check"),
    ):
        session.run_all(timeout_s=120)
        area = session.cell_output_area(index)
        assert not bh.has_live_slider(area, timeout_s=2)
        with pytest.raises(AssertionError, match="no live widget slider"):
            bh.check_live_slider(area, timeout_s=0.5)
        assert "IntSlider(value=" in bh.slider_state(area)["text"]


def test_blind_listening_test_submits_and_unblinds(tmp_path, playwright_driver, record_wait):
    """The MUSHRA panel of ``voclab.listening`` (notebook 08): two trials of three systems each show
    live sliders; one moved by keyboard and "Submit scores" clicked, the un-blinded table appears
    below and ``mushra_scores.csv`` holds the six scores, the moved one included."""
    from voclab.listening import load_scores

    index = bh.tagged_cell_index(MUSHRA_FIXTURE, MUSHRA_TAG)
    start = time.monotonic()
    with (
        bh.lab_session(MUSHRA_FIXTURE, tmp_path, extra_env=ENV, playwright=playwright_driver) as session,
        session.screenshot_on_failure("mushra"),
    ):
        try:
            session.run_all(timeout_s=120)
        finally:
            record_wait("mushra: JupyterLab up, Run All Cells", time.monotonic() - start, bh.STARTUP_LIMIT_S + 120)
        area = session.cell_output_area(index)
        bh.check_live_slider(area)
        assert bh.slider_state(area)["sliders"] == 6
        assert area.locator("audio").count() == 8  # per trial the open reference and three letters
        assert bh.audio_duration(area) == pytest.approx(0.3, abs=0.01)  # the fixture's 0.3 s tones
        assert "original" not in area.inner_text()  # blind until submitted
        assert bh.slider_readout(area) == "50"
        bh.move_slider_by_keyboard(area, ("ArrowRight",) * 3)  # the first slider: trial "low tone", letter A
        assert bh.slider_readout(area) == "53"
        session.wait_kernel_idle(timeout_s=30)
        area.get_by_role("button", name="Submit scores").click()
        table = area.locator(".voclab-unblinded-table")
        table.wait_for(timeout=30_000)
        text = table.inner_text()
        for word in ("system", "mean", "95% CI", "detune (cents)", "original", "griffin-lim 32", "vocoder"):
            assert word in text, text
        assert "hidden reference" in area.inner_text()
        assert area.get_by_role("button", name="Submitted").is_disabled()
        assert not session.error_outputs()
        csv_path = session.server.root_dir / Path(session.relative_path).parent / "mushra_scores.csv"
        rows = load_scores(csv_path)
        assert len(rows) == 6 and {row["rater"] for row in rows} == {"browser-test"}
        moved = [row for row in rows if (row["trial"], row["letter"]) == ("low tone", "A")]
        assert [row["score"] for row in moved] == [53.0]
        assert sorted(row["score"] for row in rows) == [50.0] * 5 + [53.0]
