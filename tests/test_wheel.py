"""The built wheel runs on its own: everything the server reads from its package directory is in it.

The wheel is built from a copy of the checkout (a stale ``build/`` directory beside the sources would
hide a missing package-data declaration), installed without its dependencies into a fresh venv that
borrows this interpreter's site-packages for them (so no network is needed), and started from a
directory outside the checkout, so that only the installed copy can be imported.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.serve_helpers import ROOT, listening_lines, port_of, serve

PAGE_DIR = Path(ROOT, "gateway", "http", "page")
PACKAGES = ("gateway", "adapters", "broker", "schemas")
# Not sources: local state and the outputs of earlier builds, tests and linters.
SKIP_AT_ROOT = {".git", ".venv", "build", "dist", "data"}
SKIP_ANYWHERE = ("__pycache__", "*.egg-info", ".*_cache", ".hypothesis")
BUILD_HINT = " (does this environment have the setuptools that [build-system] asks for? pip install -e '.[test]')"


def _skip(directory: str, names: list[str]) -> set[str]:
    skipped = set(shutil.ignore_patterns(*SKIP_ANYWHERE)(directory, names))
    if os.path.samefile(directory, ROOT):
        skipped |= SKIP_AT_ROOT & set(names)
    return skipped


def _run(cmd: list[str], hint: str = "", **kw) -> str:
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120, **kw)
    assert done.returncode == 0, f"{' '.join(cmd)} failed{hint}:\n{done.stdout}"
    return done.stdout


def _get(base: str, path: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return r.status, r.headers.get_content_type(), r.read()


def test_wheel_installs_and_serves_home_page_and_swagger_ui(tmp_path):
    src, wheels, env_dir, run_dir = (tmp_path / d for d in ("src", "wheels", "venv", "run"))
    shutil.copytree(ROOT, src, ignore=_skip)

    # Without build isolation: the build uses this environment's setuptools (the test extra pins the
    # version pyproject.toml's [build-system] needs) instead of fetching one. -v shows the backend's
    # warnings, which must not include a deprecation.
    build_log = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            ".",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--no-cache-dir",
            "-v",
            "-w",
            str(wheels),
        ],
        cwd=src,
        hint=BUILD_HINT,
    )
    assert not re.search(r"DeprecationWarning|DEPRECATION", build_log), build_log
    [wheel] = wheels.glob("emqgw-*.whl")

    _run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)])
    python = str(env_dir / "bin" / "python")
    # pip runs under the new interpreter, which sees nothing installed yet: it cannot touch this
    # environment's (editable) emqgw.
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--no-deps",
            "--no-index",
            "--no-cache-dir",
            str(wheel),
        ]
    )
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
    # The dependencies, borrowed from the site-packages directories this interpreter imports from:
    # directories named in a .pth file go on sys.path after the venv's own site-packages, and the .pth
    # files inside them (this environment's editable hook) are not run.
    borrowed = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages") and os.path.isdir(p)]
    Path(purelib, "zz_borrowed_dependencies.pth").write_text("".join(p + "\n" for p in borrowed))

    run_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    where = _run(
        [python, "-c", f"import {', '.join(PACKAGES)}; print('\\n'.join(m.__file__ for m in ({', '.join(PACKAGES)})))"],
        cwd=run_dir,
        env=env,
    )
    assert len(where.split()) == len(PACKAGES), where
    for path in where.split():
        assert Path(path).is_relative_to(purelib), f"imported {path}, not the installed copy under {purelib}"
    assert (env_dir / "bin" / "emqgw").is_file()  # the console script

    proc = serve("--mqtt-port", "0", "--ws-port", "off", tmp_path=tmp_path, python=python, cwd=str(run_dir), env=env)
    try:
        lines = listening_lines(proc, 2)
        if not lines:
            proc.wait(15)
            raise AssertionError(f"the installed gateway did not start:\n{proc.stderr.read()}")
        base = f"http://127.0.0.1:{port_of(lines, 'listening: http')}"

        status, ctype, home = _get(base, "/")
        assert (status, ctype) == (200, "text/html")
        assert home == (PAGE_DIR / "index.html").read_bytes()
        assets = re.findall(r'(?:href|src)="(/home-assets/[^"]+)"', home.decode())
        assert assets, "the home page links no asset of its own"
        for asset in assets:
            status, _, body = _get(base, asset)
            assert status == 200 and body == (PAGE_DIR / asset.removeprefix("/home-assets/")).read_bytes(), asset

        status, ctype, docs = _get(base, "/api-docs/index.html")
        assert (status, ctype) == (200, "text/html") and b'id="swagger-ui"' in docs
        swagger_assets = re.findall(r'(?:href|src)="(/api-docs/assets/[^"]+)"', docs.decode())
        assert swagger_assets
        for asset in swagger_assets:
            status, _, body = _get(base, asset)
            assert status == 200 and body, asset
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    assert "Traceback" not in proc.stderr.read()
