"""Drive a notebook in JupyterLab through headless Chromium, for ``tests/test_browser.py``.

What is known to work on these machines is written up in
``shared/reference/browser-testing.md``; this module follows it:

* :func:`start_lab` starts JupyterLab on 127.0.0.1 (free port, token, ``--allow-root``,
  read-only extension manager, ``window.jupyterapp`` exposed) with every Jupyter, IPython and
  matplotlib config folder inside a temporary folder, and serves a temporary copy of the notebook.
* :func:`lab_session` adds Debian's Chromium (``/usr/bin/chromium``, driven by the PyPI
  ``playwright`` package; never ``playwright install``) that aborts every request not to
  127.0.0.1, and yields a :class:`NotebookSession`.
* :meth:`NotebookSession.run_all` opens the notebook, waits until its kernel is really connected
  and idle (a "Run All Cells" sent earlier is silently dropped), runs all cells and waits until
  they are done.
* The ``check_*`` functions look at one cell's ``.jp-Cell-outputArea``.

Nothing here is pytest-specific, so a failing run can be replayed by hand::

    from pathlib import Path
    import browser_harness as bh
    with bh.lab_session(Path("tests/fixtures/browser_widget.ipynb"), Path("/tmp/bt")) as s:
        s.run_all()
        area = s.cell_output_area(bh.tagged_cell_index(s.notebook, "iteration-widget"))
        bh.check_live_slider(area)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
WIDGET_MANAGER = "@jupyter-widgets/jupyterlab-manager"

# Flags from shared/reference/browser-testing.md: root, no display, no network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--disable-features=AutofillServerCommunication,MediaRouter,OptimizationHints,Translate",
]

# JupyterLab user settings written into the temporary JUPYTERLAB_SETTINGS_DIR.
LAB_SETTINGS = {
    # No news pop-up, no update check (both would reach for the network).
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    # Every cell stays in the DOM, so "the n-th .jp-Cell" is the n-th cell of the .ipynb;
    # a notebook without kernelspec metadata starts python3 instead of asking in a dialog.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "autoStartDefaultKernel": True},
}

# JavaScript run in the page, each a function of the notebook's path (relative to the server
# root) that first finds ``panel``, the NotebookPanel open on that path (or null).
def _panel_js(body: str) -> str:
    return """(path) => {
  const app = window.jupyterapp;
  let panel = null;
  if (app && app.shell) {
    for (const w of Array.from(app.shell.widgets('main'))) {
      if (w.context && w.context.path === path && w.content && w.sessionContext) { panel = w; break; }
    }
  }
""" + body + "\n}"


_PANEL_OPEN_JS = _panel_js("return !!panel;")
_PANEL_ID_JS = _panel_js("return panel.id;")

_KERNEL_READY_JS = _panel_js("""
  if (!panel || !panel.context.isReady) return false;
  const sc = panel.sessionContext;
  const kernel = sc.session && sc.session.kernel;
  return !!(sc.isReady && kernel && kernel.connectionStatus === 'connected'
            && kernel.status === 'idle');
""")

# Every ``error`` message the kernel sends on iopub, kept in the page: an exception raised in a
# widget callback may reach no output area at all (it lands in Lab's log console). Also every
# kernel death or restart (Lab restarts a dead kernel by itself, so "idle" alone hides it).
_LISTEN_KERNEL_JS = _panel_js("""
  const kernel = panel.sessionContext.session.kernel;
  window.__voclabKernelErrors = window.__voclabKernelErrors || [];
  window.__voclabKernelEvents = window.__voclabKernelEvents || [];
  if (kernel.__voclabListening) return;
  kernel.__voclabListening = true;
  panel.sessionContext.statusChanged.connect((_, status) => {
    if (['dead', 'autorestarting', 'restarting'].includes(status)) window.__voclabKernelEvents.push(status);
  });
  kernel.iopubMessage.connect((_, msg) => {
    if (msg.header.msg_type === 'error') {
      window.__voclabKernelErrors.push(`${msg.content.ename}: ${msg.content.evalue}`);
    }
  });
""")

_START_RUN_ALL_JS = _panel_js("""
  app.shell.activateById(panel.id);
  const run = window.__voclabRunAll = {done: false, result: null, error: null};
  app.commands.execute('notebook:run-all-cells').then(
    (result) => { run.done = true; run.result = result; },
    (error) => { run.done = true; run.error = String(error); });
  return panel.id;
""")

# True once Run All is done; a string when the kernel died or its connection was lost.
_RUN_DONE_JS = _panel_js("""
  const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
  const events = window.__voclabKernelEvents || [];
  if (events.length) return `kernel ${events.join(', ')}`;
  if (kernel && kernel.connectionStatus === 'disconnected') return 'kernel connection lost';
  const run = window.__voclabRunAll;
  if (!run || !run.done || !panel) return false;
  if (!kernel || kernel.status !== 'idle') return false;
  const prompts = panel.node.querySelectorAll('.jp-InputArea-prompt');
  return !Array.from(prompts).some((p) => p.textContent.includes('[*]'));
""")

# Per cell: its type, tags, whether it was executed, and its error outputs (ename: evalue).
_CELL_STATES_JS = _panel_js("""
  return panel.content.widgets.map((cell, index) => {
    const model = cell.model;
    const state = {index, type: model.type, empty: model.sharedModel.getSource().trim() === '',
                   executionCount: null, errors: [], tags: model.getMetadata('tags') || []};
    if (model.type === 'code') {
      state.executionCount = model.executionCount;
      for (let i = 0; i < model.outputs.length; i++) {
        const out = model.outputs.get(i);
        if (out.type === 'error') {
          const raw = out.toJSON();
          state.errors.push(`${raw.ename}: ${raw.evalue}`);
        }
      }
    }
    return state;
  });
""")

# Tracebacks rendered inside widget Output areas: an error raised in a widget callback never
# reaches the cell's output model. Also the widget manager's own "Error displaying widget".
_WIDGET_TRACEBACKS_JS = """
(root) => {
  const found = [];
  for (const out of root.querySelectorAll('.jp-OutputArea-output')) {
    const text = out.innerText || '';
    const inWidget = !!out.closest('.widget-output');
    const traceback = /Traceback \\(most recent call last\\)/.test(text)
                      || /^\\s*\\w*(Error|Exception)\\b[^\\n]*:/m.test(text);
    if ((inWidget && traceback) || /Error displaying widget/.test(text)) {
      found.push(text.trim().split('\\n').slice(-3).join(' | ').slice(0, 500));
    }
  }
  // voclab.display.HTMLOutput shows an exception raised in a redraw as this element
  for (const error of root.querySelectorAll('.voclab-widget-error')) {
    found.push((error.innerText || '').trim().split('\\n').slice(-3).join(' | ').slice(0, 500));
  }
  return found;
}
"""


def find_chromium() -> str | None:
    """Path of the Chromium executable (Debian: ``apt-get install chromium``), or None."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def playwright_available() -> bool:
    """True when the PyPI ``playwright`` package imports (its browsers are never needed)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def tagged_cell_index(notebook: Path, tag: str) -> int:
    """Index, in the .ipynb's list of cells, of the one cell whose metadata tags hold ``tag``."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    hits = [i for i, cell in enumerate(cells) if tag in cell.get("metadata", {}).get("tags", [])]
    if len(hits) != 1:
        raise LookupError(f"{notebook}: expected one cell tagged {tag!r}, found {len(hits)} ({hits})")
    return hits[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    """A running JupyterLab: its process, address and temporary folders."""

    proc: subprocess.Popen
    port: int
    token: str
    root_dir: Path
    config_dir: Path
    log_path: Path
    relative_path: str  # the notebook's copy, relative to root_dir

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lab_url(self, relative_path: str) -> str:
        return f"{self.base_url}/lab/tree/{quote(relative_path)}?token={self.token}&reset"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def stop(self, timeout: float = 15) -> None:
        """Stop the server through its own process handle (SIGTERM, then SIGKILL)."""
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=timeout)


#: What a lab session may take to start and open its notebook: start_lab's startup_timeout plus
#: NotebookSession.open's timeout_s, at their defaults.
STARTUP_LIMIT_S = 60 + 90


def start_lab(
    notebook: Path,
    workdir: Path,
    *,
    relative_path: str | None = None,
    extra_env: dict[str, str] | None = None,
    disabled_extensions: tuple[str, ...] = (),
    startup_timeout: float = 60,
) -> LabServer:
    """Start JupyterLab serving a temporary copy of ``notebook``.

    Parameters
    ----------
    notebook : Path
        The notebook to copy into ``workdir/root``.
    workdir : Path
        A fresh folder for the copy, the config/data/runtime/settings folders and the log.
    relative_path : str, optional
        Where the copy goes under the root (default: the notebook's path relative to the repo,
        so ``solutions/01_x.ipynb`` keeps its folder; ``data/`` is linked next to it).
    extra_env : dict, optional
        Variables for the server and so for the kernel, e.g. ``{"VOCLAB_TIER": "quick"}``.
    disabled_extensions : tuple of str
        Lab extensions disabled through ``labconfig/page_config.json`` (the negative self-check
        passes :data:`WIDGET_MANAGER`).
    """
    notebook = Path(notebook).resolve()
    workdir = Path(workdir)
    if relative_path is None:
        try:
            relative_path = notebook.relative_to(REPO_ROOT).as_posix()
        except ValueError:
            relative_path = notebook.name
    root = workdir / "root"
    (root / relative_path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(notebook, root / relative_path)
    if (REPO_ROOT / "data").is_dir() and not (root / "data").exists():
        (root / "data").symlink_to(REPO_ROOT / "data", target_is_directory=True)

    dirs = {name: workdir / name for name in ("config", "data", "runtime", "settings", "workspaces", "ipython", "mpl")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    for plugin, values in LAB_SETTINGS.items():
        target = dirs["settings"] / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values, indent=2))
    if disabled_extensions:
        (dirs["config"] / "labconfig").mkdir(exist_ok=True)
        page_config = {"disabledExtensions": {name: True for name in disabled_extensions}}
        (dirs["config"] / "labconfig" / "page_config.json").write_text(json.dumps(page_config, indent=2))

    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        IPYTHONDIR=str(dirs["ipython"]),
        MPLCONFIGDIR=str(dirs["mpl"]),
        # The kernel runs in the copy's folder: let it import voclab from this checkout.
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p),
    )
    env.pop("MPLBACKEND", None)  # the kernel picks its inline backend
    env.update(extra_env or {})

    port, token = _free_port(), uuid.uuid4().hex
    log_path = workdir / "jupyterlab.log"
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser", "--allow-root",
        "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.extension_manager=readonly",
        "--LabApp.expose_app_in_browser=True",
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    server = LabServer(proc, port, token, root, dirs["config"], log_path, relative_path)

    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only
    deadline = time.monotonic() + startup_timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {proc.returncode}:\n{server.log_tail()}")
        try:
            with no_proxy.open(f"{server.base_url}/api/status?token={token}", timeout=2) as reply:
                if reply.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise TimeoutError(f"JupyterLab did not answer within {startup_timeout:.0f} s:\n{server.log_tail()}")
        time.sleep(0.25)


def _only_localhost(aborted: list[str]):
    """Playwright route handler: let requests to 127.0.0.1 (and data:/blob:) through, abort the
    rest and note their URLs in ``aborted``."""

    def handle(route) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("data", "blob") or url.hostname == "127.0.0.1":
            route.continue_()
        else:
            aborted.append(route.request.url)
            route.abort()

    return handle


@dataclass
class NotebookSession:
    """One notebook open in JupyterLab in one Chromium page."""

    server: LabServer
    page: object  # playwright.sync_api.Page
    notebook: Path  # the original .ipynb (tags are read from it)
    relative_path: str  # its copy, relative to the server root
    workdir: Path
    console_errors: list[str] = field(default_factory=list)
    aborted_requests: list[str] = field(default_factory=list)

    # -- opening and running -------------------------------------------------------------
    def open(self, timeout_s: float = 90) -> None:
        """Load the notebook and wait until its kernel is connected and idle."""
        self.page.goto(self.server.lab_url(self.relative_path), wait_until="domcontentloaded",
                       timeout=timeout_s * 1000)
        self.page.wait_for_function(_KERNEL_READY_JS, arg=self.relative_path, timeout=timeout_s * 1000,
                                    polling=250)

    def wait_kernel_idle(self, timeout_s: float = 60, settle_s: float = 1.0) -> None:
        """Wait until the notebook's kernel is connected and has stayed idle for ``settle_s``
        (after a slider move the kernel is briefly idle between queued widget messages)."""
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = max(deadline - time.monotonic(), 0.1)
            self.page.wait_for_function(_KERNEL_READY_JS, arg=self.relative_path,
                                        timeout=remaining * 1000, polling=100)
            time.sleep(settle_s)
            if self.page.evaluate(_KERNEL_READY_JS, self.relative_path):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the kernel did not settle idle within {timeout_s:.0f} s")

    def run_all(self, timeout_s: float = 300) -> float:
        """Open the notebook (if needed), Run All Cells, wait until done. Returns the run's seconds.

        Raises AssertionError when a non-empty code cell was never executed although no cell
        failed (Run All was dropped, or execution stopped early).
        """
        if not self.page.evaluate(_PANEL_OPEN_JS, self.relative_path):
            self.open()
        self.page.wait_for_function(_KERNEL_READY_JS, arg=self.relative_path, timeout=60_000, polling=250)
        self.page.evaluate(_LISTEN_KERNEL_JS, self.relative_path)
        start = time.monotonic()
        self.page.evaluate(_START_RUN_ALL_JS, self.relative_path)
        done = self.page.wait_for_function(_RUN_DONE_JS, arg=self.relative_path, timeout=timeout_s * 1000,
                                           polling=500).json_value()
        elapsed = time.monotonic() - start
        if done is not True:
            raise AssertionError(f"Run All Cells did not finish: {done} after {elapsed:.0f} s")
        run = self.page.evaluate("() => window.__voclabRunAll")
        states = self.cell_states()
        failed = [s for s in states if s["errors"]]
        not_run = [s["index"] for s in states if s["type"] == "code" and not s["empty"] and s["executionCount"] is None]
        if run.get("error"):
            raise AssertionError(f"Run All Cells raised in the page: {run['error']}")
        if not_run and not failed:
            raise AssertionError(f"cells {not_run} were never executed by Run All Cells (dropped run?)")
        return elapsed

    # -- looking at the result -----------------------------------------------------------
    def cell_states(self) -> list[dict]:
        return self.page.evaluate(_CELL_STATES_JS, self.relative_path)

    def panel_id(self) -> str:
        return self.page.evaluate(_PANEL_ID_JS, self.relative_path)

    def cell(self, index: int):
        """Locator of the ``index``-th cell (index in the .ipynb) of this notebook panel."""
        panel = self.page.locator(f'[id="{self.panel_id()}"]')
        return panel.locator(".jp-Notebook .jp-Cell").nth(index)

    def cell_output_area(self, index: int):
        """Locator of the ``.jp-Cell-outputArea`` of the ``index``-th cell.

        Cross-checks that the page's cell model at ``index`` carries the same tags as the .ipynb.
        """
        cells = json.loads(self.notebook.read_text(encoding="utf-8"))["cells"]
        expected_tags = cells[index].get("metadata", {}).get("tags", [])
        states = self.cell_states()
        if len(states) != len(cells) or states[index]["tags"] != expected_tags:
            raise AssertionError(
                f"the page's notebook does not match {self.notebook.name}: {len(states)} cells vs "
                f"{len(cells)}, tags at {index}: {states[index]['tags'] if index < len(states) else None}"
            )
        return self.cell(index).locator(".jp-Cell-outputArea")

    def error_outputs(self) -> list[str]:
        """Errors of the whole notebook since Run All: every cell's error outputs (from the
        notebook model), tracebacks rendered inside widget Output areas, and any other ``error``
        message the kernel sent (e.g. from a widget callback). Plain stderr is ignored."""
        errors = [f"cell {s['index']}: {e}" for s in self.cell_states() for e in s["errors"]]
        panel = self.page.locator(f'[id="{self.panel_id()}"]')
        errors += [f"in a widget output: {text}" for text in panel.evaluate(_WIDGET_TRACEBACKS_JS)]
        seen = " ".join(errors)
        kernel_errors = self.page.evaluate("() => window.__voclabKernelErrors || []")
        errors += [f"kernel error message outside any cell output: {e}" for e in kernel_errors if e not in seen]
        return errors

    def screenshot(self, name: str) -> Path:
        path = self.workdir / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    @contextlib.contextmanager
    def screenshot_on_failure(self, name: str):
        """On any exception: save a screenshot and the server log tail, print where, re-raise."""
        from playwright.sync_api import Error as PlaywrightError

        try:
            yield
        except BaseException:
            try:
                path = self.screenshot(name)
                print(f"\n[browser test] screenshot: {path}")
            except (PlaywrightError, OSError) as exc:  # the page may be gone
                print(f"\n[browser test] no screenshot ({exc})")
            print(f"[browser test] server log: {self.server.log_path}\n{self.server.log_tail(20)}")
            if self.console_errors:
                print("[browser test] console errors:\n  " + "\n  ".join(self.console_errors[-10:]))
            if self.aborted_requests:
                print("[browser test] aborted (not 127.0.0.1):\n  " + "\n  ".join(self.aborted_requests[-10:]))
            raise


@contextlib.contextmanager
def lab_session(
    notebook: Path,
    workdir: Path,
    *,
    extra_env: dict[str, str] | None = None,
    disabled_extensions: tuple[str, ...] = (),
    relative_path: str | None = None,
    viewport: tuple[int, int] = (1280, 1600),
    playwright=None,
):
    """JupyterLab + headless Chromium on ``notebook``; yields a :class:`NotebookSession`.

    Both are stopped on exit, the server through its process handle. Pass ``playwright`` (from
    ``sync_playwright().start()``) when sessions overlap: two sync Playwright instances cannot be
    open at once in one thread.
    """
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    if executable is None:
        raise RuntimeError("no chromium: apt-get install -y chromium")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    server = start_lab(notebook, workdir, relative_path=relative_path, extra_env=extra_env,
                       disabled_extensions=disabled_extensions)
    try:
        with contextlib.nullcontext(playwright) if playwright else sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
                page = context.new_page()
                page.set_default_timeout(30_000)
                session = NotebookSession(server, page, Path(notebook).resolve(), server.relative_path, workdir)
                context.route("**/*", _only_localhost(session.aborted_requests))
                page.on("console", lambda m: m.type == "error" and session.console_errors.append(m.text))
                page.on("pageerror", lambda e: session.console_errors.append(f"pageerror: {e}"))
                yield session
            finally:
                browser.close()
    finally:
        server.stop()


# -- checks on one cell's output area ------------------------------------------------------
def slider_state(output_area) -> dict:
    """What the output area shows: live widget sliders and their handles, and its text (where a
    widget's text repr such as ``IntSlider(value=4, ...)`` shows when no widget manager renders it)."""
    return output_area.evaluate(
        """(area) => ({
            sliders: area.querySelectorAll('.jupyter-widgets.widget-slider').length,
            handles: area.querySelectorAll('.jupyter-widgets.widget-slider .noUi-handle').length,
            text: (area.innerText || '').slice(0, 2000),
        })"""
    )


def check_live_slider(output_area, timeout_s: float = 20) -> None:
    """Assert that a live ipywidgets slider (not the ``IntSlider(value=...)`` repr) is rendered."""
    deadline = time.monotonic() + timeout_s
    while True:
        state = slider_state(output_area)
        if state["sliders"] > 0 and state["handles"] > 0:
            return
        if time.monotonic() > deadline:
            shown = state["text"].strip().replace("\n", " | ")[:300]
            raise AssertionError(f"no live widget slider in the cell's output; it shows: {shown!r}")
        time.sleep(0.25)


def has_live_slider(output_area, timeout_s: float = 20) -> bool:
    try:
        check_live_slider(output_area, timeout_s)
    except AssertionError:
        return False
    return True


def audio_duration(output_area, timeout_s: float = 20) -> float:
    """Duration (s) of the first ``<audio>`` in the output area, read after ``loadedmetadata``."""
    audio = output_area.locator("audio").first
    audio.wait_for(state="attached", timeout=timeout_s * 1000)
    return audio.evaluate(
        """(audio, timeoutMs) => new Promise((resolve, reject) => {
            if (audio.readyState >= 1) { resolve(audio.duration); return; }
            const timer = setTimeout(() => reject(new Error(
                `no loadedmetadata after ${timeoutMs} ms (readyState ${audio.readyState}, ` +
                `networkState ${audio.networkState}, error ${audio.error && audio.error.code})`)), timeoutMs);
            audio.addEventListener('loadedmetadata', () => { clearTimeout(timer); resolve(audio.duration); });
            if (audio.networkState === HTMLMediaElement.NETWORK_EMPTY) audio.load();
        })""",
        int(timeout_s * 1000),
    )


def audio_src(output_area) -> str:
    """The first ``<audio>``'s source (``currentSrc``, its ``src`` or its ``<source src>``)."""
    return output_area.locator("audio").first.evaluate(
        "(a) => a.currentSrc || a.src || (a.querySelector('source') || {}).src || ''"
    )


def figure_natural_width(output_area, timeout_s: float = 20) -> int:
    """``naturalWidth`` of the first ``<img>`` in the output area, once decoded (0 if broken)."""
    image = output_area.locator("img").first
    image.wait_for(state="attached", timeout=timeout_s * 1000)
    return image.evaluate(
        """(img) => img.complete && img.naturalWidth > 0 ? img.naturalWidth
                    : img.decode().then(() => img.naturalWidth, () => 0)"""
    )


def image_src(output_area) -> str:
    return output_area.locator("img").first.get_attribute("src") or ""


def slider_readout(output_area) -> str:
    return output_area.locator(".widget-slider .widget-readout").first.inner_text().strip()


def move_slider_by_keyboard(output_area, keys: tuple[str, ...] = ("ArrowRight",) * 3) -> None:
    """Focus the first slider handle and press ``keys`` (e.g. ``ArrowRight`` several times, ``End``)."""
    handle = output_area.locator(".widget-slider .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    for key in keys:
        handle.press(key)


def wait_for_redraw(output_area, old_image_src: str, old_audio_src: str, timeout_s: float = 60) -> dict:
    """Wait until the figure's or the player's source differs from the old ones; return both states."""
    output_area.evaluate(
        """(area, args) => new Promise((resolve, reject) => {
            const [oldImg, oldAudio, timeoutMs] = args;
            const changed = () => {
              const img = area.querySelector('img');
              const audio = area.querySelector('audio');
              const imgSrc = img ? img.getAttribute('src') : null;
              const audioSrc = audio ? (audio.currentSrc || audio.src
                                        || (audio.querySelector('source') || {}).src) : null;
              return (imgSrc && imgSrc !== oldImg) || (audioSrc && audioSrc !== oldAudio);
            };
            if (changed()) { resolve(true); return; }
            const observer = new MutationObserver(() => {
              if (changed()) { observer.disconnect(); clearTimeout(timer); resolve(true); }
            });
            const timer = setTimeout(() => { observer.disconnect();
              reject(new Error(`figure and audio unchanged after ${timeoutMs} ms`)); }, timeoutMs);
            observer.observe(area, {subtree: true, childList: true, attributes: true});
        })""",
        [old_image_src, old_audio_src, int(timeout_s * 1000)],
    )
    return {"image_changed": image_src(output_area) != old_image_src,
            "audio_changed": audio_src(output_area) != old_audio_src}
