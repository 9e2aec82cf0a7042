"""Screenshots of the Prefect UI: the deployment (its parameters and the run form), a
completed run, the artifacts, one report-section artifact and its history.

Headless Debian Chromium (``apt-get install -y chromium``) driven over the DevTools protocol
(the ``websockets`` client Prefect already depends on): each page is opened, given real time
for the single-page app to load its data and finish its transitions, then captured as PNG.
Reads the ids that ``scripts/integration_check.py`` wrote (``--run-json``), so it runs while
the integration stack is up: ``SCREENSHOTS=1 scripts/integration.sh``.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

PAGES = {
    "deployment": "/deployments/deployment/{deployment_id}",
    "deployment_parameters": "/deployments/deployment/{deployment_id}?tab=Parameters",
    "deployment_run_form": "/deployments/deployment/{deployment_id}/run",
    "flow_run": "/runs/flow-run/{flow_run_id}",
    "artifacts": "/artifacts",
    "artifact_history": "/artifacts/key/{report_artifact_key}",
    "artifact_report_section": "/artifacts/artifact/{report_artifact_id}",
}


def chromium() -> str:
    """The Chromium executable (Debian's ``chromium`` or ``chromium-browser``)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("chromium not found: apt-get install -y chromium")


class Browser:
    """One headless Chromium with a DevTools websocket to its first page."""

    def __init__(self, width: int, height: int) -> None:
        # Chromium's helper processes may still write there for a moment after it exits
        self._profile = tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
        self.proc = subprocess.Popen(
            [
                chromium(),
                "--headless=new",
                "--no-sandbox",  # root in a container
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                f"--user-data-dir={self._profile.name}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.is_file() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("chromium did not open its DevTools port")
            time.sleep(0.2)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            pages = [t for t in json.load(resp) if t["type"] == "page"]
        self.ws = connect(pages[0]["webSocketDebuggerUrl"], max_size=64 * 2**20)
        self._ids = itertools.count(1)

    def call(self, method: str, **params: object) -> dict:
        """Send one DevTools command and return its result (events are skipped)."""
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv(timeout=120))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def capture(self, url: str, target: Path, settle_s: float) -> None:
        """Open ``url``, wait ``settle_s`` seconds, save a PNG of the viewport."""
        self.call("Page.navigate", url=url)
        time.sleep(settle_s)
        data = self.call("Page.captureScreenshot", format="png")["data"]
        target.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        """Close the websocket and stop the Chromium process started here."""
        self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._profile.cleanup()


def main() -> int:
    """Capture every page of :data:`PAGES` into ``--out``."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run-json", required=True)
    ap.add_argument("--out", default="docs/screenshots")
    ap.add_argument("--width", type=int, default=1440)
    ap.add_argument("--height", type=int, default=1000)
    ap.add_argument("--settle", type=float, default=8.0, help="seconds to let a page load")
    args = ap.parse_args()
    info = json.loads(Path(args.run_json).read_text())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    browser = Browser(args.width, args.height)
    try:
        for name, path in PAGES.items():
            url = info["ui_url"] + path.format(**info)
            target = out / f"prefect_{name}.png"
            browser.capture(url, target, args.settle)
            if target.stat().st_size < 5000:
                raise SystemExit(f"blank screenshot of {url}")
            print(f"{target}  <-  {url}")
    finally:
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
