"""The layers stay apart: the engine (src/jianfu) imports neither Prefect nor the flows.

The orchestration layer (src/jianfu_flows) imports the engine; the top-level ``flows/`` folder only
re-exports flows for the deployments' entry points. Checked on the source, so a lazy import inside
a function counts as well.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]
FORBIDDEN_IN_ENGINE = ("prefect", "prefect_dask", "jianfu_flows", "flows")


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module))
    return out


def test_engine_imports_no_orchestration():
    hits = [
        f"{p.relative_to(ROOT)}:{line}: {name}"
        for p in sorted((ROOT / "src" / "jianfu").rglob("*.py"))
        for line, name in _imports(p)
        if name.split(".")[0] in FORBIDDEN_IN_ENGINE
    ]
    assert not hits, "the engine must not import Prefect or the flows:\n" + "\n".join(hits)


def test_flow_entry_points_only_re_export():
    for p in sorted((ROOT / "flows").glob("*.py")):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        kinds = {type(n) for n in body}
        assert kinds <= {ast.ImportFrom, ast.Assign}, f"{p.name} should only re-export from jianfu_flows"
        assert all(n.module.startswith("jianfu_flows") for n in body if isinstance(n, ast.ImportFrom))


def _component(module: str) -> str:
    """``jianfu.stats.cfa`` → ``stats``; ``jianfu.pipeline`` → ``pipeline``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _component_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for p in sorted((ROOT / "src" / "jianfu").rglob("*.py")):
        me = _component(".".join(p.relative_to(ROOT / "src").with_suffix("").parts))
        deps = graph.setdefault(me, set())
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("jianfu"):
                if node.module == "jianfu":
                    deps |= {a.name for a in node.names}
                elif node.module.split(".")[0] == "jianfu":
                    deps.add(_component(node.module))
        deps.discard(me)
        deps.discard("")
    return graph


def test_engine_components_have_no_import_cycles():
    graph = _component_graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(" → ".join([*path[path.index(dep) :], dep]))
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles between parts of the engine:\n" + "\n".join(cycles)


def test_layers_point_downwards():
    """Statistics know nothing of files, the store or the report; reading knows nothing of analysis."""
    graph = _component_graph()
    upper = {"ingest", "store", "report", "export", "pipeline", "workflow", "cli", "analysis", "doctor"}
    assert not graph["stats"] & upper, graph["stats"]
    assert not graph["ingest"] & {"stats", "report", "store", "export", "pipeline", "workflow", "analysis"}
    assert not graph["store"] & {"stats", "report", "export", "pipeline", "workflow", "analysis"}
