"""dlmath as a user installs it: a wheel, in a fresh virtual environment, away from the checkout.

The wheel is built from a copy of the sources (so the checkout gets no build/ directory), installed
into a new venv, and used from a directory that holds no dlmath source: the shipped data sets
load, and the tour runs from the installed package.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("packaging")
    source = base / "source"
    for name in ("src", "pyproject.toml", "README.md"):
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(path, source / name)
    wheels = base / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(source)], check=True, capture_output=True)
    wheel, = wheels.glob("dlmath-*.whl")
    # A fresh venv without pip; the dependencies (numpy, scipy, safetensors, matplotlib, rich) come from
    # this interpreter's site-packages through a .pth line. A directory named in a .pth file is not
    # itself scanned for .pth files, so the checkout's editable install stays out of the new venv.
    env_dir = base / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    workdir = base / "elsewhere"
    workdir.mkdir()
    return python, workdir, wheel


def _run(installed, code=None, args=None):
    python, workdir, _ = installed
    command = [str(python)] + (["-c", code] if code else args)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, env=env, timeout=300)


def test_the_wheel_holds_the_data_files(installed):
    import zipfile

    names = zipfile.ZipFile(installed[2]).namelist()
    for path in ("dlmath/datasets/data/digits.npz", "dlmath/datasets/data/names.txt.gz",
                 "dlmath/tour/results.schema.json"):
        assert path in names


def test_the_installed_package_loads_the_shipped_data(installed):
    result = _run(installed, code=(
        "import dlmath as dm, pathlib\n"
        "assert 'site-packages' in dm.__file__ and 'src' not in pathlib.Path(dm.__file__).parts, dm.__file__\n"
        "images, labels = dm.datasets.load_digits()\n"
        "print(tuple(images.shape), int(labels.max()), len(dm.datasets.names()))\n"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "(1797, 8, 8) 9 5163"


def test_the_tour_runs_from_the_installed_package(installed):
    result = _run(installed, args=["-m", "dlmath", "list"])
    assert result.returncode == 0, result.stderr
    first = result.stdout.split()[0]  # the first experiment's id
    result = _run(installed, args=["-m", "dlmath", "tour", "--only", first, "--quick", "--out", "out"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert (installed[1] / "out" / "report.html").exists()
