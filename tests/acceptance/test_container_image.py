"""The image itself, built and run by a Docker engine: --help, the demo, `run` turning
healthy, and `docker stop` letting a check in flight finish within the grace period,
exit 0. Skipped, with the reason, where no Docker engine answers (a client alone is not
enough) or the base image cannot be pulled; POSTING_MONITOR_BASE_IMAGE names another
base (a mirror) for the build, as `--build-arg BASE_IMAGE=...` does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.acceptance.test_daemon import wait_until
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent.parent
# What a build that cannot reach a registry or a package index says.
_UNREACHABLE = (
    "failed to resolve source metadata",
    "pull access denied",
    "dial tcp",
    "no such host",
    "TLS handshake timeout",
    "i/o timeout",
    "Could not find a version that satisfies",
    "Temporary failure in name resolution",
)


def docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _engine_problem() -> str | None:
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    info = docker("info", "--format", "{{.ServerVersion}}", timeout=30)
    if info.returncode != 0:
        first = (info.stderr.strip().splitlines() or ["no answer"])[0]
        return f"no Docker engine answers ({first})"
    return None


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    problem = _engine_problem()
    if problem is not None:
        pytest.skip(problem)
    tag = f"posting-monitor-test:{uuid.uuid4().hex[:10]}"
    base = os.environ.get("POSTING_MONITOR_BASE_IMAGE")
    build = ["build", "-t", tag, *(["--build-arg", f"BASE_IMAGE={base}"] if base else []), "."]
    built = subprocess.run(
        ["docker", *build], cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False
    )
    if built.returncode != 0:
        if any(marker in built.stderr for marker in _UNREACHABLE):
            pytest.skip(
                "the build cannot reach a registry or package index (set "
                f"POSTING_MONITOR_BASE_IMAGE to a reachable base): {built.stderr[-300:]}"
            )
        pytest.fail(f"docker build failed:\n{built.stderr[-4000:]}")
    try:
        yield tag
    finally:
        docker("image", "rm", "-f", tag)


def test_the_image_answers_help_and_runs_the_demo(image: str) -> None:
    helped = docker("run", "--rm", image, "--help")
    assert helped.returncode == 0, helped.stderr
    assert "Usage" in helped.stdout
    demo = docker("run", "--rm", image, "demo", timeout=300)
    assert demo.returncode == 0, demo.stderr
    assert "Demo finished" in demo.stdout


class _SlowPosting(BaseHTTPRequestHandler):
    """A posting page that takes ``delay`` seconds to answer; records each answer."""

    delay: ClassVar[float] = 8.0
    asked: ClassVar[threading.Event] = threading.Event()
    answered: ClassVar[list[float]] = []
    page: ClassVar[bytes] = (SEEDS / "stripe-backend-engineer.html").read_bytes()

    def do_GET(self) -> None:
        type(self).asked.set()
        time.sleep(self.delay)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)
        type(self).answered.append(time.monotonic())

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def slow_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowPosting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jobs/backend-engineer"
    finally:
        server.shutdown()
        server.server_close()


def test_run_turns_healthy_and_a_stop_lets_the_check_in_flight_finish(
    image: str, slow_site: str, tmp_path: Path
) -> None:
    (tmp_path / "monitor.toml").write_text(
        f"""[http]
allowed_networks = ["127.0.0.1/32"]
[[watches]]
url = "{slow_site}"
interval = "10s"
""",
        encoding="utf-8",
    )
    tmp_path.chmod(0o755)
    (tmp_path / "monitor.toml").chmod(0o644)
    name = f"pm-test-{uuid.uuid4().hex[:10]}"
    started = docker(
        "run", "-d", "--name", name, "--network", "host",
        "-v", f"{tmp_path}:/config:ro", "-e", "MONITOR_CONFIG=/config/monitor.toml",
        "--health-interval", "2s", "--health-start-period", "5s", "--health-retries", "30",
        image, "run",
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:

        def health() -> str:
            return docker("inspect", "-f", "{{.State.Health.Status}}", name).stdout.strip()

        wait_until(lambda: health() == "healthy", timeout=120)
        _SlowPosting.asked.clear()
        wait_until(_SlowPosting.asked.is_set, timeout=60)  # a check is in flight now
        answered_before = len(_SlowPosting.answered)
        stop_began = time.monotonic()
        stopped = docker("stop", "-t", "30", name, timeout=60)
        took = time.monotonic() - stop_began
        assert stopped.returncode == 0, stopped.stderr
        exit_code = docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip()
        logs = docker("logs", name)
        assert exit_code == "0", logs.stdout[-3000:] + logs.stderr[-3000:]
        # The check in flight got its answer before the process exited, within the grace.
        assert len(_SlowPosting.answered) > answered_before
        assert took < 30
    finally:
        # -v: the image's /data volume (with its monitor.db) goes with the container.
        docker("rm", "-f", "-v", name)


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON object lines of ``text``, skipping anything else (an engine's or the
    docker CLI's plain-text warnings)."""
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def test_json_lines_skips_what_the_docker_cli_prints_around_them() -> None:
    stderr = (
        "WARNING: IPv4 forwarding is disabled. Networking will not work.\n"
        '{"level": "error", "message": "m"}\n'
        "WARNING: The requested image's platform does not match\n"
    )
    assert json_lines(stderr) == [{"level": "error", "message": "m"}]


def test_an_unreadable_secret_file_stops_it_with_the_fix_as_a_json_line(
    image: str, tmp_path: Path
) -> None:
    """A 0600 secret (what ``umask 077`` writes) cannot be read by the image's user: one
    JSON line (the image logs JSON) naming the fix, exit 2, not a restart loop's
    traceback."""
    secret = tmp_path / "db_password.txt"
    secret.write_text("pa/ss", encoding="utf-8")
    secret.chmod(0o600)
    url = "postgresql+psycopg://monitor:${file:/run/secrets/db_password}@db:5432/monitor"
    ran = docker(
        "run", "--rm", "--network", "none", "-v", f"{secret}:/run/secrets/db_password:ro",
        "-e", f"MONITOR_DATABASE__URL={url}", image, "check",
    )  # fmt: skip
    assert ran.returncode == 2, ran.stderr
    # The docker CLI may print its own warnings on stderr first (e.g. "IPv4 forwarding
    # is disabled"): the monitor's output is the one JSON line among them.
    (record,) = json_lines(ran.stderr)
    assert record["level"] == "error"
    assert "readable by uid 10001" in record["message"]
    assert "chmod 0644" in record["message"]
    assert "pa/ss" not in ran.stderr
