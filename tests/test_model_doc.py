"""docs/model.md must list every scenario field, with the default the code actually uses."""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path

from sim.scenario import Scenario, iter_fields, set_dotted

DOC = Path(__file__).resolve().parent.parent / "docs" / "model.md"

# A parameters-table row: | `dotted.path` | default | meaning |
ROW = re.compile(r"^\|\s*`(?P<path>[A-Za-z_][\w.]*)`\s*\|(?P<default>[^|]*)\|(?P<meaning>.*)\|\s*$")


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _parameters_section(text: str) -> str:
    """The text of the '## 8. Parameters' section, up to the next level-2 heading."""
    match = re.search(r"^## [^\n]*Parameters[^\n]*\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, "docs/model.md has no '## ... Parameters' section"
    return match.group(1)


def _declared_defaults() -> dict[str, object]:
    """Each field's default as its config class declares it (dict fields: the factory's value)."""
    out = {}
    for path, info in iter_fields():
        assert not info.is_required(), f"{path}: a scenario field without a default"
        out[path] = info.get_default(call_default_factory=True)
    return out


def _value_at(scenario: Scenario, path: str) -> object:
    value: object = scenario
    for key in path.split("."):
        value = getattr(value, key)
    return value


def _parse_default(cell: str) -> object:
    """The default written in a table cell: one TOML literal in backticks, or `none`."""
    cell = cell.strip()
    match = re.fullmatch(r"`([^`]*)`", cell)
    assert match, f"default cell {cell!r} is not a single `literal`"
    literal = match.group(1).strip()
    if literal.lower() == "none":
        return None
    return tomllib.loads(f"v = {literal}")["v"]


def _same(documented: object, actual: object) -> bool:
    if documented is None or actual is None:
        return documented is actual
    if isinstance(documented, bool) or isinstance(actual, bool):
        return type(documented) is type(actual) and documented == actual
    if isinstance(actual, int | float) and isinstance(documented, int | float):
        return math.isclose(documented, actual, rel_tol=1e-12, abs_tol=0.0)
    return documented == actual


def test_declared_defaults_are_what_a_scenario_gets():
    """One default per field: the declared one, whether its tables are left out or given
    without the field (so no table factory can override a class default unseen)."""
    declared = _declared_defaults()
    problems = []
    for path, default in declared.items():
        omitted = _value_at(Scenario(), path)
        if not _same(default, omitted):
            problems.append(f"{path}: declared {default!r}, but a scenario without it holds {omitted!r}")
        tables = path.split(".")[:-1]
        if tables:
            data: dict = {}
            set_dotted(data, ".".join(tables), {})
            partial = _value_at(Scenario.from_dict(data), path)
            if not _same(default, partial):
                problems.append(f"{path}: declared {default!r}, but an empty [{'.'.join(tables)}] gives {partial!r}")
    assert not problems, "\n".join(problems)


def test_every_scenario_field_is_documented():
    text = _doc()
    missing = [path for path, _ in iter_fields() if f"`{path}`" not in text]
    assert not missing, "docs/model.md does not mention these scenario fields in backticks: " + ", ".join(missing)


def test_parameter_tables_match_code_defaults():
    section = _parameters_section(_doc())
    defaults = _declared_defaults()
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        match = ROW.match(line.strip())
        if match:
            rows.setdefault(match["path"], []).append(match["default"])

    problems = []
    for path in defaults:
        if path not in rows:
            problems.append(f"{path}: no row in the parameters tables")
    for path, cells in rows.items():
        if path not in defaults:
            problems.append(f"{path}: documented but not a scenario field")
            continue
        if len(cells) > 1:
            problems.append(f"{path}: {len(cells)} rows")
        for cell in cells:
            try:
                documented = _parse_default(cell)
            except (AssertionError, tomllib.TOMLDecodeError) as exc:
                problems.append(f"{path}: unreadable default {cell.strip()!r} ({exc})")
                continue
            if not _same(documented, defaults[path]):
                problems.append(f"{path}: documented default {cell.strip()} but the code's is {defaults[path]!r}")
    assert not problems, "docs/model.md parameters tables out of date:\n" + "\n".join(problems)
