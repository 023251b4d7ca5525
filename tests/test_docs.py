"""The Python examples in README.md and docs/*.md run as written."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [
    pytest.param(block, id=f"{path.name}-{i}")
    for path in DOCS
    for i, block in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(), re.S))
    if "# doc: no-run" not in block
]


@pytest.mark.parametrize("block", BLOCKS)
def test_example_runs(block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "<doc>", "exec"), {"__name__": "__doc_example__"})


# ------------------------------------------- docs/notation.md against the source
def _notation_rows() -> list[tuple[str, list[str], str]]:
    """(slide, code fragments, where) for every row of the slides -> code table."""
    rows = []
    for line in (ROOT / "docs" / "notation.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] in ("slide", "") or set(cells[0]) <= {"-"}:
            continue
        slide, _, code, where, _ = cells
        rows.append((slide, re.findall(r"`([^`]+)`", code), where.strip("`")))
    return rows


def _resolve(where: str) -> object:
    import importlib

    parts = where.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for name in parts[i:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(where)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


NOTATION = _notation_rows()


def test_the_notation_table_has_the_lectures_rows():
    slides = {slide for slide, _, _ in NOTATION}
    assert {"pre-activation", "activation", "output error", "backprop", "weight gradient"} <= slides
    assert all(code for _, code, _ in NOTATION), "every row quotes the code that computes it"


@pytest.mark.parametrize(("slide", "code", "where"), NOTATION, ids=[row[0] for row in NOTATION])
def test_the_notation_table_quotes_the_source(slide, code, where):
    import inspect

    source = _squash(inspect.getsource(_resolve(where)))  # type: ignore[arg-type]
    for fragment in code:
        assert _squash(fragment) in source, f"{slide}: `{fragment}` is not in {where}"


def test_the_notation_checker_fails_on_a_stale_quote():
    with pytest.raises(AssertionError, match=r"is not in deltaprop\.network\.Network"):
        test_the_notation_table_quotes_the_source("stale", ["delta = f - Y_old"], "deltaprop.network.Network")
    with pytest.raises(AttributeError):
        _resolve("deltaprop.network.Network._no_such_method")
