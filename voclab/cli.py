"""The ``voclab`` command: ``voclab doctor`` checks that the course will run here.

Later notebooks add ``voclab train`` and ``voclab vocode``.
"""

from __future__ import annotations

import argparse
import platform
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = ("numpy", "scipy", "torch", "librosa", "soundfile", "matplotlib", "ipywidgets", "jupyterlab", "nbval")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def widget_extension_path() -> Path | None:
    """Where JupyterLab's ipywidgets extension is installed, or None."""
    try:
        from jupyter_core.paths import jupyter_path
    except ImportError:
        return None
    for root in jupyter_path("labextensions"):
        candidate = Path(root) / "@jupyter-widgets" / "jupyterlab-manager"
        if (candidate / "package.json").exists():
            return candidate
    return None


def device_report() -> list[str]:
    import torch

    lines = [f"torch threads: {torch.get_num_threads()}"]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            lines.append(f"device: CUDA {i}: {torch.cuda.get_device_name(i)}")
    else:
        lines.append("device: CPU only (no CUDA): fine for the quick and standard tiers")
    return lines


def doctor(_args=None) -> int:
    """Print versions, device, widget extension and data status; return 0 when all is well."""
    from . import __version__
    from .data import data_dir, verify_data
    from .errors import ConfigError
    from .tiers import current_tier

    problems = []
    print(f"voclab {__version__} on Python {platform.python_version()} ({platform.platform()})")
    for package in PACKAGES:
        version = _version(package)
        print(f"  {package:<11} {version}")
        if version == "not installed" and package != "nbval":
            problems.append(f"{package} is not installed: pip install -e .")
    for line in device_report():
        print(line)
    extension = widget_extension_path()
    if extension:
        print(f"JupyterLab widget extension: installed ({extension})")
    else:
        print("JupyterLab widget extension: MISSING")
        problems.append("ipywidgets' JupyterLab extension is missing: pip install 'ipywidgets>=8' jupyterlab_widgets")
    try:
        print(f"tier: {current_tier()} (set VOCLAB_TIER to quick, standard or full)")
    except ConfigError as err:
        problems.append(str(err))
    data_problems = verify_data()
    if data_problems:
        print(f"data: {data_dir()} does NOT match its manifest:")
        for problem in data_problems:
            print(f"  - {problem}")
        problems.append("data/ does not match data/manifest.json: git checkout data/ (or python tools/build_data.py)")
    else:
        print(f"data: {data_dir()} matches its manifest")
    if problems:
        print("\nProblems:")
        for problem in problems:
            print(f"  * {problem}")
        return 1
    print("\nAll good: `jupyter lab notebooks/` to start the course.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voclab", description="The voclab neural-vocoder course.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    doctor_parser = commands.add_parser("doctor", help="check versions, device, widgets and data")
    doctor_parser.set_defaults(run=doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import VoclabError

    try:
        return int(args.run(args) or 0)
    except VoclabError as err:
        print(f"voclab: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
