"""The house: dependencies point one way, from the lecture's core out to the adapters.

Every ``import`` in ``src/deltaprop`` (top-level, inside functions and under
``TYPE_CHECKING`` alike) is read with :mod:`ast`, and three rules are checked:

1. a unit (a top-level module or subpackage of deltaprop) imports only units of its own
   layer or of layers below it (docs/architecture.md draws the layers);
2. the units' import graph, and the modules' import graph, have no cycle;
3. a unit never imports another unit's private module (``deltaprop.train._fit`` from
   ``estimators``): a package's ``__init__`` is its interface.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

import deltaprop

PACKAGE = Path(deltaprop.__file__).parent

# Lowest first; a unit may import its own layer and the layers before it.
LAYERS: list[set[str]] = [
    {"_types", "_checks", "_api", "_version"},
    {"activations", "losses", "schedules", "optim", "metrics"},
    {"network"},
    {"train", "engine", "gradcheck", "explain", "lab"},
    {"modelfile", "checkpoint", "preprocessing", "interop", "datasets", "exercises", "dask"},
    {"estimators", "plots", "report", "playground"},
    {"cli"},
]
# The package's own __init__ and __main__ stand above every layer.
TOP = {"__init__", "__main__"}
LAYER_OF = {unit: i for i, layer in enumerate(LAYERS) for unit in layer} | {u: len(LAYERS) for u in TOP}


def module_name(path: Path) -> str:
    parts = ["deltaprop", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(path: Path, known: Iterable[str]) -> set[str]:
    """The deltaprop modules that the file at ``path`` imports, anywhere in it."""
    known = set(known)
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("deltaprop"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if not base.startswith("deltaprop"):
                continue
            for alias in node.names:
                # "from deltaprop import plots" imports the module deltaprop.plots
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
    return found


def unit_of(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imported_modules(path, mods) - {name} for name, path in mods.items()}


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle of ``graph`` as a list of nodes (first = last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def violations(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """Every broken rule of the module graph ``graph``, as sentences."""
    found = []
    units: dict[str, set[str]] = {}
    for module, targets in graph.items():
        source = unit_of(module)
        for target in targets:
            dest = unit_of(target)
            if dest == source or (dest == "__init__" and target == "deltaprop" and source in TOP):
                continue
            units.setdefault(source, set()).add(dest)
            if dest not in LAYER_OF:
                found.append(f"{module} imports {target}: {dest!r} is in no layer of this test")
            elif source in LAYER_OF and LAYER_OF[dest] > LAYER_OF[source]:
                found.append(
                    f"{module} (layer {LAYER_OF[source]}) imports {target} (layer {LAYER_OF[dest]}): upward"
                )
            private = target.split(".")[2:]
            if any(part.startswith("_") for part in private):
                found.append(f"{module} imports {target}, a private module of another unit")
    for name, g in (("unit", units), ("module", graph)):
        cycle = find_cycle(g)
        if cycle:
            found.append(f"{name} import cycle: {' -> '.join(cycle)}")
    return found


def test_every_unit_has_a_layer():
    units = {unit_of(name) for name in modules()}
    assert units <= set(LAYER_OF), sorted(units - set(LAYER_OF))


def test_dependencies_point_one_way_without_cycles():
    assert violations(import_graph()) == []


def test_the_lecture_core_imports_no_adapter_and_no_optional_dependency():
    core = [name for name in modules() if LAYER_OF[unit_of(name)] <= LAYER_OF["network"]]
    assert "deltaprop.network" in core and "deltaprop.activations" in core
    for name in core:
        tree = ast.parse(modules()[name].read_text(encoding="utf-8"))
        top_level = {
            (node.module or "" if isinstance(node, ast.ImportFrom) else node.names[0].name).split(".")[0]
            for node in tree.body
            if isinstance(node, (ast.Import, ast.ImportFrom))
        }
        assert top_level <= {
            "__future__",
            "collections",
            "dataclasses",
            "inspect",
            "math",
            "numbers",
            "typing",
            "numpy",
            "deltaprop",
            "operator",
            "",
        }, (name, top_level)


# ---------------------------------------------------------- the checker itself
@pytest.mark.parametrize(
    ("graph", "message"),
    [
        ({"deltaprop.network": {"deltaprop.train"}}, "upward"),
        ({"deltaprop.network": {"deltaprop.cli._app"}}, "upward"),
        ({"deltaprop.estimators._base": {"deltaprop.train._fit"}}, "private module of another unit"),
        (
            {"deltaprop.activations": {"deltaprop.losses"}, "deltaprop.losses": {"deltaprop.activations"}},
            "unit import cycle: activations -> losses -> activations",
        ),
        (
            {"deltaprop.train._a": {"deltaprop.train._b"}, "deltaprop.train._b": {"deltaprop.train._a"}},
            "module import cycle",
        ),
        ({"deltaprop.network": {"deltaprop.nowhere"}}, "in no layer"),
    ],
)
def test_the_checker_finds_each_kind_of_violation(graph, message):
    assert any(message in v for v in violations(graph)), violations(graph)


def test_the_checker_accepts_a_one_way_graph():
    graph = {
        "deltaprop.network": {"deltaprop.activations", "deltaprop._types"},
        "deltaprop.train._fit": {"deltaprop.train._trainer", "deltaprop.network"},
        "deltaprop.cli._app": {"deltaprop.train", "deltaprop.report"},
        "deltaprop": {"deltaprop.train", "deltaprop.cli"},
    }
    assert violations(graph) == []


def test_imports_are_read_from_every_place_in_a_file(tmp_path, monkeypatch):
    source = (
        "from typing import TYPE_CHECKING\n"
        "from deltaprop import plots, __version__\n"
        "import deltaprop.network\n"
        "if TYPE_CHECKING:\n    from deltaprop.cli._data import TrainedModel\n"
        "def f():\n    from deltaprop.train import fit\n"
    )
    path = PACKAGE / "report" / "_probe.py"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: source)
    known = {"deltaprop.plots", "deltaprop.network", "deltaprop.cli._data", "deltaprop.train"}
    assert imported_modules(path, known) == {
        "deltaprop.plots",
        "deltaprop",
        "deltaprop.network",
        "deltaprop.cli._data",
        "deltaprop.train",
    }
