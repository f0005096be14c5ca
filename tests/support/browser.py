"""A real headless Chromium for the report tests, driven over the DevTools protocol (a WebSocket on loopback,
with the `websockets` library benchctl already uses): open a page at a given viewport, evaluate JavaScript, click
like a mouse, take a screenshot, print to PDF with the command line's --print-to-pdf.

Not a test module. The browser tests and benchmarks/report_screenshots.py import it. Chromium is Debian's
`chromium` package; `./dev test` installs it when missing (as root), and a test that needs it fails, never skips,
when it is not there: a report nobody looked at in a browser is not tested.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

INSTALL_HINT = ("Chromium is not installed; the report tests open report.html in it. ./dev test installs it "
                "(apt-get install chromium) when run as root; otherwise run: sudo apt-get install chromium")
_NAMES = ("chromium", "chromium-browser", "google-chrome")
# root has no user namespace sandbox to give; the page is the test's own file
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
          "--no-default-browser-check", "--disable-extensions", "--mute-audio"]


class ChromiumNotInstalled(RuntimeError):
    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


def find_chromium() -> str:
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise ChromiumNotInstalled()


class Browser:
    """One headless Chromium with one page; `with Browser(width, height) as b: b.open(path)`."""

    def __init__(self, width: int = 1280, height: int = 800) -> None:
        self.width, self.height = width, height
        self._profile = tempfile.TemporaryDirectory(prefix="benchctl-chromium-")
        self._process: subprocess.Popen[str] | None = None
        self._ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> "Browser":
        self._process = subprocess.Popen(
            [find_chromium(), *_FLAGS, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             f"--user-data-dir={self._profile.name}", f"--window-size={self.width},{self.height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = self._devtools_port()
        pages = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page = next(p for p in pages if p.get("type") == "page")
        self._ws = self._stack.enter_context(connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10))
        self.call("Page.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=False)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._profile.cleanup()

    def _devtools_port(self) -> int:
        assert self._process is not None and self._process.stderr is not None
        deadline = time.monotonic() + 30
        for line in self._process.stderr:
            found = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if found:
                return int(found.group(1))
            if time.monotonic() > deadline:
                break
        raise RuntimeError(f"Chromium did not open its DevTools port (exit status {self._process.poll()})")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command; events that arrive meanwhile are dropped (the page is waited for by polling)."""
        assert self._ws is not None
        ident = next(self._ids)
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv(timeout=60))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result") or {})

    def open(self, path: Path) -> None:
        self.call("Page.navigate", url=path.resolve().as_uri())
        deadline = time.monotonic() + 30
        while self.js("document.readyState") != "complete":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path} did not finish loading")
            time.sleep(0.05)

    def js(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """A mouse click in the middle of the element, as a person does it (it scrolls into view first)."""
        box = self.js(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
            e.scrollIntoView({{block: "center"}}); const r = e.getClientRects()[0];
            return [r.x + r.width / 2, r.y + r.height / 2]; }})()""")
        x, y = box
        self.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)
        time.sleep(0.2)  # the jump to the anchor

    def screenshot(self, out: Path, full_page: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            height = int(self.js("document.documentElement.scrollHeight"))
            params["clip"] = {"x": 0, "y": 0, "width": self.width, "height": height, "scale": 1}
            params["captureBeyondViewport"] = True
        out.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", **params)["data"]))
        return out


def print_to_pdf(page: Path, out: Path) -> Path:
    """`chromium --headless --print-to-pdf`: what a lab does to attach the report to its certificate."""
    with tempfile.TemporaryDirectory(prefix="benchctl-chromium-") as profile:
        subprocess.run([find_chromium(), *_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
                        f"--print-to-pdf={out}", page.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)
    return out
