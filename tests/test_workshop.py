"""The 90-minute workshop: ``voclab workshop -o DIR`` writes the trimmed notebooks, and they run in time.

The path (voclab.workshop.WORKSHOP_PATH) leaves out the cells its solution notebooks tag
``workshop-skip``; the learner notebooks carry the tags. The slow test runs every trimmed notebook
top to bottom with nbclient in the quick tier, each in its own kernel in the workshop folder, and
holds each to its stated compute budget (which leaves room for a busy 2-core CI machine).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from voclab.cli import main
from voclab.errors import ConfigError, DataError
from voclab.workshop import (
    LATER_TAG,
    SKIP_TAG,
    WORKSHOP_PATH,
    WORKSHOP_TIER,
    plan_markdown,
    stop_plan,
    trim_notebook,
    write_workshop,
)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = ROOT / "solutions"


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def _learner(stop):
    return json.loads((NOTEBOOKS / f"{stop.notebook}.ipynb").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def workshop(tmp_path_factory):
    out = tmp_path_factory.mktemp("workshop")
    assert main(["workshop", "-o", str(out)]) == 0
    return out


def test_the_path_fits_90_minutes_in_the_quick_tier():
    assert sum(stop.minutes for stop in WORKSHOP_PATH) == 90
    assert WORKSHOP_TIER == "quick"
    assert [stop.notebook for stop in WORKSHOP_PATH] == sorted(stop.notebook for stop in WORKSHOP_PATH)


def test_every_stop_is_tagged_in_its_solution_and_the_learner_notebook_carries_the_tags():
    for stop in WORKSHOP_PATH:
        solution = json.loads((SOLUTIONS / f"{stop.notebook}.ipynb").read_text(encoding="utf-8"))
        skipped = {cell["id"] for cell in solution["cells"] if SKIP_TAG in _tags(cell)}
        assert skipped, f"{stop.notebook}: no cell tagged {SKIP_TAG}"
        learner = {cell["id"]: cell for cell in _learner(stop)["cells"]}
        for cell in solution["cells"]:
            if cell["id"] in learner:
                assert _tags(learner[cell["id"]]) == _tags(cell), (stop.notebook, cell["id"])


def test_cli_writes_the_trimmed_notebooks_in_order_with_the_plan(workshop):
    names = sorted(path.name for path in workshop.iterdir())
    assert names == sorted([f"{stop.notebook}.ipynb" for stop in WORKSHOP_PATH] + ["README.md"])
    readme = (workshop / "README.md").read_text(encoding="utf-8")
    positions = [readme.index(f"`{stop.notebook}.ipynb`") for stop in WORKSHOP_PATH]
    assert positions == sorted(positions)
    assert f"`{WORKSHOP_TIER}`" in readme
    for position, stop in enumerate(WORKSHOP_PATH, 1):
        learner, trimmed = _learner(stop), json.loads((workshop / f"{stop.notebook}.ipynb").read_text())
        kept = [cell for cell in learner["cells"] if SKIP_TAG not in _tags(cell)]
        own = [cell for cell in trimmed["cells"] if "workshop-note" not in _tags(cell)]
        assert own == kept, f"{stop.notebook}: the kept cells must be the learner's, unchanged and in order"
        assert len(own) < len(learner["cells"])
        plan = stop_plan(learner)
        assert plan["live"], f"{stop.notebook}: a stop with no live exercise"
        assert f"## {position} · `{stop.notebook}` — {stop.minutes} minutes" in readme
        for name in plan["live"] + plan["later"]:
            assert f"`{name}`" in readme
        later_notes = [cell for cell in trimmed["cells"] if cell["id"].startswith("workshop-later-")]
        assert len(later_notes) == sum(LATER_TAG in _tags(cell) for cell in learner["cells"])


def test_an_existing_workshop_is_not_overwritten_without_force(workshop, capsys):
    notebook = workshop / f"{WORKSHOP_PATH[0].notebook}.ipynb"
    notebook.write_text(notebook.read_text() + " ")    # a participant's edit
    assert main(["workshop", "-o", str(workshop)]) == 2
    assert "--force" in capsys.readouterr().err
    assert notebook.read_text().endswith(" ")
    assert main(["workshop", "-o", str(workshop), "--force"]) == 0
    assert not notebook.read_text().endswith(" ")


def test_missing_notebooks_and_misused_tags_are_named(tmp_path):
    with pytest.raises(DataError, match="01_phase_and_griffin_lim"):
        write_workshop(tmp_path / "out", tmp_path)
    with pytest.raises(ConfigError, match="would replace them"):  # never over the course's own notebooks
        write_workshop(ROOT / "notebooks", force=True)
    stop = WORKSHOP_PATH[0]
    both = {"cells": [{"cell_type": "code", "id": "x", "metadata": {"tags": [SKIP_TAG, LATER_TAG]},
                       "source": 'f = voclab.check("f", f)'}]}
    with pytest.raises(ConfigError, match="both"):
        trim_notebook(both, stop)
    no_exercise = {"cells": [{"cell_type": "code", "id": "x", "metadata": {"tags": [LATER_TAG]},
                              "source": "x = 1"}]}
    with pytest.raises(ConfigError, match="checks none"):
        trim_notebook(no_exercise, stop)
    # a notebook without exercises or sections: its row says so, column by column
    empty = plan_markdown({s.notebook: {"cells": []} for s in WORKSHOP_PATH})
    for k, s in enumerate(WORKSHOP_PATH, 1):
        assert f"| {k} | `{s.notebook}.ipynb` | {s.minutes} | ≤ {s.compute_budget_s:.0f} s | — | — | — |" in empty


def test_the_trimmed_notebooks_run_within_their_compute_budget(workshop, record_wait, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    monkeypatch.setenv("VOCLAB_TIER", WORKSHOP_TIER)       # the kernels inherit it
    total = 0.0
    for stop in WORKSHOP_PATH:
        notebook = nbformat.read(workshop / f"{stop.notebook}.ipynb", as_version=4)
        client = nbclient.NotebookClient(notebook, timeout=int(stop.compute_budget_s), kernel_name="python3",
                                         resources={"metadata": {"path": str(workshop)}})
        started = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - started
        total += seconds
        record_wait(f"workshop {stop.notebook} (quick)", seconds, stop.compute_budget_s)
        assert seconds <= stop.compute_budget_s, (
            f"{stop.notebook}: {seconds:.0f} s, over its stated budget of {stop.compute_budget_s:.0f} s")
    print(f"workshop path, quick tier: {total:.0f} s of compute for {sum(s.minutes for s in WORKSHOP_PATH)} "
          "minutes of workshop")
