"""What a rendered check costs against a plain one: ``python -m bench.browser [--checks 20]``.

Serves a page whose posting is built by script (and a static page with the same
posting in its HTML) on 127.0.0.1, then times, one after another, ``--checks``
renders in headless Chromium (Debian's, through Playwright; the first, which starts
the browser, is reported apart) and as many plain fetches, and reports the median and
95th percentile of each and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from monitor.config import BrowserConfig, HttpConfig
from monitor.net.browser import BrowserRenderer
from monitor.net.fetch import Fetcher
from monitor.net.netguard import AddressGuard

SCRIPTED = """<!doctype html><html><head><title>Careers</title></head><body><div id="root">
</div><script>
const ld = document.createElement("script"); ld.type = "application/ld+json";
ld.textContent = JSON.stringify({"@context": "https://schema.org", "@type": "JobPosting",
  "title": "Platform Engineer", "hiringOrganization": {"name": "Scriptly"}});
document.head.appendChild(ld);
document.getElementById("root").innerHTML = "<h1>Platform Engineer</h1>" +
  "<ul><li>Kubernetes</li><li>Go</li></ul>";
</script></body></html>"""


class _Pages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = SCRIPTED.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        del format, args


async def measure(url: str, checks: int, executable: str) -> dict[str, list[float]]:
    http = HttpConfig(allowed_networks=("127.0.0.1/32",), per_host_rate=0)
    renderer = BrowserRenderer(
        BrowserConfig(executable=Path(executable)),
        AddressGuard(http.allowed_networks),
        user_agent=http.user_agent,
    )
    fetcher = Fetcher(http)
    times: dict[str, list[float]] = {"first render": [], "render": [], "plain": []}
    try:
        for index in range(checks + 1):
            started = time.perf_counter()
            await renderer.render(url)
            times["first render" if index == 0 else "render"].append(
                (time.perf_counter() - started) * 1000
            )
        for _ in range(checks):
            started = time.perf_counter()
            await fetcher.get(url)
            times["plain"].append((time.perf_counter() - started) * 1000)
    finally:
        await renderer.aclose()
        await fetcher.aclose()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=20)
    args = parser.parse_args()
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        print("needs Debian's chromium (apt-get install chromium)", file=sys.stderr)
        return 2
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/job"
    try:
        times = asyncio.run(measure(url, args.checks, executable))
    finally:
        server.shutdown()
    for name, values in times.items():
        values.sort()
        p95 = values[max(int(len(values) * 0.95) - 1, 0)]
        print(f"{name:<13} median {statistics.median(values):8.1f} ms   p95 {p95:8.1f} ms")
    ratio = statistics.median(times["render"]) / statistics.median(times["plain"])
    print(f"a rendered check costs {ratio:.0f}x a plain one (median against median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
