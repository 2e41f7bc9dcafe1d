"""docs/instructors.md stays true: its mistakes table is the checks', its figures the README's, its path the code's."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from voclab.workshop import WORKSHOP_PATH, WORKSHOP_TIER

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "instructors.md"


@pytest.fixture(scope="module")
def mistakes_table():
    spec = importlib.util.spec_from_file_location("mistakes_table", ROOT / "tools" / "mistakes_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def guide():
    return GUIDE.read_text(encoding="utf-8")


def test_the_mistakes_table_is_what_the_script_generates(mistakes_table, guide):
    assert mistakes_table.guide_table(guide) == mistakes_table.markdown_table(), (
        "docs/instructors.md's mistakes table is stale: run `python tools/mistakes_table.py --write`")
    assert mistakes_table.main(["--check"]) == 0


def test_the_table_covers_every_notebook_and_every_mistake(mistakes_table):
    from voclab import checks

    table = mistakes_table.markdown_table()
    by_notebook = mistakes_table.mistakes_by_notebook()
    assert len(by_notebook) == 8
    for exercise in checks.EXERCISES.values():
        assert f"#### {exercise.notebook}" in table
        for _, message in exercise.mistakes:
            assert f"| `{exercise.name}` | {mistakes_table._cell(message)} |" in table


def test_a_stale_table_is_caught_and_rewritten(mistakes_table, guide):
    stale = guide.replace(mistakes_table.BEGIN + "\n", mistakes_table.BEGIN + "\n| `x` | an old message |\n")
    assert mistakes_table.guide_table(stale) != mistakes_table.markdown_table()
    fixed = mistakes_table.replace_table(stale, mistakes_table.markdown_table())
    assert fixed == guide
    with pytest.raises(ValueError, match="markers"):
        mistakes_table.guide_table(guide.replace(mistakes_table.END, ""))


def test_notebook_times_are_the_readmes(guide):
    """Every time in the guide's table appears in the README's course table, on the same notebook's row."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (0\d) [^|]+ \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$", guide, re.MULTILINE)
    assert [number for number, *_ in rows] == [f"{n:02d}" for n in range(1, 9)]
    for number, *times in rows:
        readme_row = next(line for line in readme.splitlines() if line.startswith(f"| {number} |"))
        readme_times = [cell.strip() for cell in readme_row.strip("|").split("|")[-3:]]
        assert [t.strip() for t in times] == readme_times, f"notebook {number}"


def test_the_workshop_section_matches_the_path(guide):
    section = guide.split("## The 90-minute workshop", 1)[1].split("\n## ", 1)[0]
    for position, stop in enumerate(WORKSHOP_PATH, 1):
        assert re.search(rf"^\| {position} \| {stop.notebook[:2]} [^|]+\| {stop.minutes} \|", section, re.MULTILINE)
    assert f"Tier `{WORKSHOP_TIER}`" in section
    assert "voclab workshop -o" in section
    assert (ROOT / "README.md").read_text(encoding="utf-8").count("docs/instructors.md") >= 1
