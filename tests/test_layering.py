"""The package's layers: the domain stays pure, clients never reach up into handlers.

Import-linter runs the contracts written in pyproject.toml. A plain reading of
every module's imports checks the same rules without it, and names the
offending file and line when one breaks.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "operator" / "kubemedic"

IO_LIBRARIES = ("kopf", "kubernetes", "httpx", "prometheus_api_client")
UPPER_LAYERS = ("kubemedic.clients", "kubemedic.handlers")


def imported_modules(source: str, *, package: str) -> Iterator[tuple[int, str]]:
    """Every module a module of ``package`` imports, with its line.

    ``from a import b`` yields ``a`` and ``a.b``, since ``b`` may be a module;
    relative imports are resolved against ``package``.
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0]
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def forbidden_imports(layer: str, forbidden: tuple[str, ...]) -> list[str]:
    """``file:line imports module`` for each forbidden import of a layer."""
    found = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        package = ".".join(path.relative_to(PACKAGE.parent).parts[:-1])
        for line, module in imported_modules(path.read_text(), package=package):
            if any(module == f or module.startswith(f"{f}.") for f in forbidden):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return found


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        pytest.param("domain", IO_LIBRARIES + UPPER_LAYERS, id="domain-is-pure"),
        pytest.param("api", IO_LIBRARIES + UPPER_LAYERS, id="api-is-pure"),
        pytest.param("clients", ("kubemedic.handlers",), id="clients-below-handlers"),
    ],
)
def test_layer_imports_nothing_above_it(layer: str, forbidden: tuple[str, ...]) -> None:
    assert forbidden_imports(layer, forbidden) == []


@pytest.mark.parametrize(
    ("statement", "module"),
    [
        pytest.param("import kopf.on", "kopf.on", id="absolute"),
        pytest.param("from kubemedic import handlers", "kubemedic.handlers", id="from-package"),
        pytest.param("from ...handlers import pods", "kubemedic.handlers.pods", id="relative"),
        pytest.param("from .. import store", "kubemedic.clients.store", id="relative-package"),
        pytest.param("import httpx as h", "httpx", id="aliased"),
    ],
)
def test_every_form_of_import_is_seen(statement: str, module: str) -> None:
    found = {m for _, m in imported_modules(statement, package="kubemedic.clients.acting")}

    assert module in found


def test_import_contracts_of_pyproject_are_kept() -> None:
    cli = pytest.importorskip("importlinter.cli")
    if str(PACKAGE.parent) not in sys.path:
        sys.path.insert(0, str(PACKAGE.parent))

    exit_code = cli.lint_imports(
        config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True
    )

    assert exit_code == 0, "an import contract of pyproject.toml is broken; see the output above"
