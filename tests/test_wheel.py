"""A built wheel carries the migrations: `buzz migrate` works from an installed package.

The wheel is installed into a fresh venv that sees the test venv's dependencies through a plain
path line in a `.pth` file. Such a line only appends that directory to `sys.path`; the `.pth`
files inside it are not processed, so the editable install of this checkout stays out of reach.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from buzz.db import alembic_config

ROOT = Path(__file__).resolve().parents[1]
PACKAGED_MIGRATIONS = (
    "buzz/migrations/env.py",
    "buzz/migrations/script.py.mako",
    "buzz/migrations/versions/0001_platform_and_integrations.py",
)


@dataclass(frozen=True)
class InstalledWheel:
    wheel: Path
    venv: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def buzz(self) -> Path:
        return self.venv / "bin" / "buzz"


def child_env(**extra: str) -> dict[str, str]:
    """The environment without any BUZZ_* setting or path tweak that could steer the child."""
    drop = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZZ_") and k not in drop}
    env["PYTHONNOUSERSITE"] = "1"
    return env | extra


def run(args: list[str | Path], *, cwd: Path, timeout: float, **env: str) -> str:
    result = subprocess.run(  # noqa: S603 - our own interpreters and the wheel's script
        [str(arg) for arg in args],
        cwd=cwd,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{args} exited {result.returncode}:\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> InstalledWheel:
    """This checkout built as a wheel (as pip would for PyPI) and installed into a fresh venv."""
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    # Build isolation fetches hatchling from the index, as `pip install -e .` did for this venv.
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, ROOT],
        cwd=base,
        timeout=300,
    )
    (wheel,) = dist.glob("buzz_server-*.whl")

    venv = base / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=base, timeout=120)
    python = venv / "bin" / "python"
    run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--quiet", wheel],
        cwd=base,
        timeout=300,
    )
    site_packages = Path(
        run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            cwd=base,
            timeout=60,
        ).strip()
    )
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site_packages / "zz_test_dependencies.pth").write_text(
        "".join(f"{path}\n" for path in sorted(ours))
    )
    return InstalledWheel(wheel=wheel, venv=venv)


def test_the_wheel_carries_the_migrations_inside_the_package(installed: InstalledWheel) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    assert names >= set(PACKAGED_MIGRATIONS)
    versions = {name for name in names if name.startswith("buzz/migrations/versions/")}
    assert {Path(name).name for name in versions} == {
        path.name for path in (ROOT / "migrations" / "versions").glob("*.py")
    }
    assert not any(name.startswith(("migrations/", "src/")) for name in names)


def test_buzz_migrate_works_from_the_installed_wheel(
    installed: InstalledWheel, tmp_path: Path
) -> None:
    # The package and the migrations it uses are the installed ones, not this checkout's.
    located = run(
        [
            installed.python,
            "-c",
            "import buzz, buzz.db; print(buzz.__file__); print(buzz.db.MIGRATIONS_DIR)",
        ],
        cwd=tmp_path,
        timeout=120,
    ).split()
    assert len(located) == 2
    for path in located:
        assert Path(path).resolve().is_relative_to(installed.venv.resolve()), located

    database = tmp_path / "fresh.db"
    output = run(
        [installed.buzz, "migrate"],
        cwd=tmp_path,
        timeout=120,
        BUZZ_DATABASE_URL=f"sqlite:///{database}",
    )
    assert "database is at the newest migration" in output

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    connection = sqlite3.connect(database)
    try:
        versions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        tables = {
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    finally:
        connection.close()
    assert versions == [(head,)]
    assert {"integrations", "deliveries", "users", "bz_accounts"} <= tables


def test_the_wheel_carries_the_portals_templates_and_files(installed: InstalledWheel) -> None:
    """Every page and asset the portal serves is inside the package, as in this checkout."""
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    portal = ROOT / "src" / "buzz" / "portal"
    wanted = {
        f"buzz/portal/{path.relative_to(portal).as_posix()}"
        for folder in ("templates", "static")
        for path in (portal / folder).rglob("*")
        if path.is_file()
    }
    assert "buzz/portal/static/vendor/uplot-1.6.32/uPlot.iife.min.js" in wanted
    assert names >= wanted
