"""The domain stays pure: no I/O, frameworks, environment or clock (STYLE habits 1 and 5).

Two complementary checks:
- an AST walk over ``src/licensedesk/domain`` for forbidden imports (stdlib
  I/O and environment included, which import-linter does not cover) and
  clock reads (``datetime.now``, ``date.today``, ``time.time`` ...);
- the import-linter contracts of ``pyproject.toml``, run as ``lint-imports``,
  plus a proof that the domain contract fails on a forbidden import.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "src" / "licensedesk"
DOMAIN_DIR = PACKAGE_DIR / "domain"
PYPROJECT = ROOT / "pyproject.toml"

FORBIDDEN_MODULES = (
    "sqlalchemy", "alembic", "psycopg", "fastapi", "starlette", "uvicorn", "httpx", "typer", "jinja2",
    "pydantic_settings", "yaml", "os", "sys", "socket", "subprocess", "requests", "smtplib", "pathlib",
    "licensedesk.services", "licensedesk.adapters", "licensedesk.entrypoints",
    "licensedesk.config", "licensedesk.bootstrap",
)  # fmt: skip
CLOCK_READS = frozenset(
    {
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        "time.time",
        "time.time_ns",
    }
)
# Names used without an import in sight (``datetime.now()``) are read as the usual datetime classes.
IMPLICIT_NAMES = {"datetime": "datetime.datetime", "date": "datetime.date"}


def _is_forbidden(module: str) -> bool:
    return any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN_MODULES)


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join([*parts, node.module] if node.module else parts)


def find_violations(source: str, filename: str, package: str = "licensedesk.domain") -> list[str]:
    """``file:line: message`` for every forbidden import or clock read in ``source``."""
    tree = ast.parse(source, filename=filename)
    found: list[tuple[int, str]] = []
    aliases: dict[str, str] = {}  # local name -> fully qualified name, for the clock check
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_forbidden(alias.name):
                    found.append((node.lineno, f"imports {alias.name}"))
                top = alias.name.partition(".")[0]
                aliases[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, package)
            for alias in node.names:
                full = f"{module}.{alias.name}" if module else alias.name
                if _is_forbidden(module) or _is_forbidden(full):
                    found.append((node.lineno, f"imports {full}"))
                elif full in CLOCK_READS:
                    found.append((node.lineno, f"imports the clock {full}"))
                aliases[alias.asname or alias.name] = full
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and (name := _dotted(node)):
            head, _, rest = name.partition(".")
            full = f"{aliases.get(head, IMPLICIT_NAMES.get(head, head))}.{rest}"
            if full in CLOCK_READS:
                found.append((node.lineno, f"reads the clock via {name}"))
    return [f"{filename}:{line}: {message}" for line, message in sorted(set(found))]


def _module_package(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts if path.name == "__init__.py" else parts[:-1])


def test_domain_imports_no_io_and_reads_no_clock() -> None:
    files = sorted(DOMAIN_DIR.rglob("*.py"))
    assert files, f"no Python files under {DOMAIN_DIR}"
    violations = [v for f in files for v in find_violations(f.read_text(encoding="utf-8"), str(f), _module_package(f))]
    assert not violations, "the domain imports no I/O and takes time as an argument:\n" + "\n".join(violations)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import os", "probe.py:1: imports os"),
        ("import sqlalchemy.orm as orm", "probe.py:1: imports sqlalchemy.orm"),
        ("from pathlib import Path", "probe.py:1: imports pathlib.Path"),
        ("from yaml import safe_load", "probe.py:1: imports yaml.safe_load"),
        ("from licensedesk.adapters.db import tables", "probe.py:1: imports licensedesk.adapters.db.tables"),
        ("from .. import services", "probe.py:1: imports licensedesk.services"),
        ("from ..config import Settings", "probe.py:1: imports licensedesk.config.Settings"),
        ("x = 1\nfrom datetime import datetime\nt = datetime.now()", "probe.py:3: reads the clock via datetime.now"),
        ("import datetime as dt\nt = dt.datetime.utcnow()", "probe.py:2: reads the clock via dt.datetime.utcnow"),
        ("from datetime import date as D\nt = D.today()", "probe.py:2: reads the clock via D.today"),
        ("def f(today=date.today): ...", "probe.py:1: reads the clock via date.today"),
        ("import time\nt = time.time()", "probe.py:2: reads the clock via time.time"),
        ("import datetime\nt = datetime.date.today()", "probe.py:2: reads the clock via datetime.date.today"),
        ("from time import time", "probe.py:1: imports the clock time.time"),
    ],
)
def test_checker_catches_violations(source: str, expected: str) -> None:
    assert expected in find_violations(source, "probe.py")


def test_checker_accepts_pure_code() -> None:
    source = (
        "from datetime import date, datetime, timedelta\n"
        "from fractions import Fraction\n"
        "import osmium, timeit\n"
        "from .calendar import add_months\n"
        "from . import money\n"
        "d = date(2026, 6, 18) + timedelta(days=1)\n"
        "t = datetime.fromisoformat('2026-06-18T10:00:00+09:00').date()\n"
    )
    assert find_violations(source, "probe.py") == []


def _lint_imports() -> str:
    candidate = Path(sys.executable).parent / "lint-imports"
    found = str(candidate) if candidate.exists() else shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports not found: install the test extra (pip install -e '.[test]')")
    return found


def test_import_contracts_hold() -> None:
    result = subprocess.run(
        [_lint_imports(), "--no-cache", "--no-logo", "--config", str(PYPROJECT)],
        cwd=PYPROJECT.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_domain_contract_rejects_a_framework_import(tmp_path: Path) -> None:
    """On a private copy of the package (the real tree is never touched, so it is xdist-safe)."""
    shutil.copytree(PACKAGE_DIR, tmp_path / "licensedesk", ignore=shutil.ignore_patterns("__pycache__"))
    probe = f"_probe_{uuid.uuid4().hex[:8]}"
    (tmp_path / "licensedesk" / "domain" / f"{probe}.py").write_text("import sqlalchemy\n", encoding="utf-8")
    shutil.copy(PYPROJECT, tmp_path / "pyproject.toml")
    result = subprocess.run(
        [_lint_imports(), "--no-cache", "--no-logo", "--config", str(tmp_path / "pyproject.toml")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"licensedesk.domain.{probe} -> sqlalchemy" in output, output
