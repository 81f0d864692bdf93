"""No Docker engine runs here, so check what the image would run: the Dockerfile's
ENTRYPOINT, CMD and HEALTHCHECK, from a wheel installed in a clean virtual environment."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.acceptance.test_daemon import wait_until

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent.parent


def dockerfile_instruction(name: str) -> list[str]:
    """The exec-form arguments of the last ``name`` instruction of the final stage."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    matches = re.findall(rf"^{name}\s+(?:--\S+\s+)*(?:CMD\s+)?(\[.*\])\s*$", text, re.MULTILINE)
    assert matches, f"Dockerfile has no exec-form {name}"
    return list(json.loads(matches[-1]))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the built wheel (and its dependencies) installed."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(ROOT)],
        check=True,
    )
    (wheel,) = work.glob("posting_monitor-*.whl")
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    install = [str(env_dir / "bin" / "pip"), "install", "-q", f"{wheel}[postgres]"]
    wheelhouse = os.environ.get("POSTING_MONITOR_WHEELHOUSE")
    if wheelhouse:  # offline: every dependency from a local folder of wheels
        install += ["--no-index", "--find-links", wheelhouse]
    done = subprocess.run(install, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        if not wheelhouse and _no_index(done.stderr):
            pytest.skip(
                "no package index reachable to install the wheel's dependencies "
                "(set POSTING_MONITOR_WHEELHOUSE to a folder of wheels): "
                + done.stderr.strip().splitlines()[-1]
            )
        raise AssertionError(f"installing the wheel failed:\n{done.stderr}")
    return env_dir / "bin"


_OFFLINE = (
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "No matching distribution found",
    "Could not find a version that satisfies",
    "Network is unreachable",
    "ConnectTimeoutError",
)


def _no_index(stderr: str) -> bool:
    """Whether pip failed because no package index answered (not because of us)."""
    return any(sign in stderr for sign in _OFFLINE)


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env["MONITOR_DATA_DIR"] = str(tmp_path / "data")
    return env


def test_entrypoint_runs_cmd_and_stops_on_sigterm(installed: Path, tmp_path: Path) -> None:
    entrypoint = dockerfile_instruction("ENTRYPOINT")
    command = dockerfile_instruction("CMD")
    assert command == ["run"]
    executable = installed / entrypoint[0]
    daemon = subprocess.Popen(
        [str(executable), *entrypoint[1:], *command], cwd=tmp_path, env=clean_env(tmp_path),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        health = dockerfile_instruction("HEALTHCHECK")
        assert "--require-daemon" in health

        def healthcheck() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [str(installed / health[0]), *health[1:]], cwd=tmp_path, env=clean_env(tmp_path),
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip

        # Like Docker's start period: unhealthy until the daemon has started and beaten.
        wait_until(lambda: healthcheck().returncode == 0, timeout=30)
        checked = healthcheck()
        assert checked.stdout.startswith("ok: database at revision"), checked.stdout
        assert f"daemon pid {daemon.pid} beat" in checked.stdout
        daemon.send_signal(signal.SIGTERM)
        _out, err = daemon.communicate(timeout=20)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.communicate()
    assert daemon.returncode == 0, err
    stopped = healthcheck()
    assert stopped.returncode == 1
    assert "no daemon is running" in stopped.stderr


def test_wheel_carries_the_seeds_so_the_demo_works(installed: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(installed / "posting-monitor"), "demo"], cwd=tmp_path, env=clean_env(tmp_path),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Demo finished: 1 alert delivered." in result.stdout


def test_health_fails_on_an_unmigrated_or_missing_database(installed: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # a database file without the schema
    for database, says in (
        (empty, "schema is at nothing"),
        (tmp_path / "none.db", "no database yet"),
    ):
        env = clean_env(tmp_path) | {"MONITOR_DATABASE__URL": f"sqlite:///{database}"}
        result = subprocess.run(
            [str(installed / "posting-monitor"), "health"], cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 1
        assert says in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_the_image_builds_the_same_and_stops_gracefully_as_configured() -> None:
    """What a Docker engine would read, checked without one: no frontend fetched from
    Docker Hub, a base image that can be replaced, pinned dependencies, a build context
    without secrets, and a stop grace longer than the monitor's own."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "# syntax=" not in dockerfile
    assert "ARG BASE_IMAGE=" in dockerfile
    assert "-c /dist/constraints.txt" in dockerfile
    pins = dict(
        line.split("==", 1)
        for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    for requirement in ("httpx", "SQLAlchemy", "apprise", "pydantic", "psycopg", "selectolax"):
        assert requirement in pins, requirement
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git/", ".venv/", "data/", "db_password.txt"} <= set(ignored)
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    grace = re.search(r"stop_grace_period:\s*(\d+)s", compose)
    assert grace is not None
    from monitor.config import SchedulerConfig

    assert int(grace[1]) > SchedulerConfig().shutdown_grace.total_seconds()
    assert compose.count("restart: unless-stopped") == 2


def test_the_workers_compose_file_runs_migrations_once_then_scalable_workers() -> None:
    """docker-compose.workers.yml, read as Docker Compose merges it over the main file:
    the single daemon off, one migration run, then workers of the procrastinate
    engine that stop gracefully and can be scaled (no fixed name or port)."""
    import yaml

    from monitor.config import SchedulerConfig

    base = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    extra = yaml.safe_load((ROOT / "docker-compose.workers.yml").read_text(encoding="utf-8"))
    services = extra["services"]
    assert services["monitor"]["profiles"], "the single daemon must not start beside workers"
    migrate, worker = services["migrate"], services["worker"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert worker["command"] == ["worker"]
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for service in (migrate, worker):
        assert service["environment"]["MONITOR_ENGINE"] == "procrastinate"
        url = service["environment"]["MONITOR_DATABASE__URL"]
        assert url == base["services"]["monitor"]["environment"]["MONITOR_DATABASE__URL"]
        assert service["secrets"] == ["db_password"]
    # --scale worker=3: no fixed name or published port
    assert "container_name" not in worker
    assert "ports" not in worker
    grace = int(str(worker["stop_grace_period"]).removesuffix("s"))
    assert grace > SchedulerConfig().shutdown_grace.total_seconds()
    assert worker["restart"] == "unless-stopped"


@pytest.mark.parametrize(
    ("stderr", "offline"),
    [
        ("ERROR: Could not find a version that satisfies the requirement httpx", True),
        ("WARNING: Retrying ... Failed to establish a new connection: [Errno 101]", True),
        ("ERROR: posting_monitor-0.1.0-py3-none-any.whl is not a valid wheel filename.", False),
    ],
)
def test_only_an_unreachable_index_skips_the_install(stderr: str, offline: bool) -> None:
    assert _no_index(stderr) is offline


_DASHBOARD_LINE = re.compile(
    r"^(\s*)# ((?:MONITOR_WEB__\w+|ports|web_token):|- web_token$|  file: \./web_token\.txt$)"
)


def uncomment_dashboard(compose: str) -> str:
    """``docker-compose.yml`` with its dashboard lines uncommented, as the README says:
    the ``MONITOR_WEB__*`` lines, the ports and the ``web_token`` secret."""
    return "\n".join(_DASHBOARD_LINE.sub(r"\1\2", line) for line in compose.splitlines())


def test_the_dashboard_lines_of_the_compose_file_are_valid_once_uncommented() -> None:
    import yaml

    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    opened = uncomment_dashboard(text)
    assert opened != text
    monitor = yaml.safe_load(opened)["services"]["monitor"]
    assert monitor["environment"]["MONITOR_WEB__LISTEN"] == "0.0.0.0:8080"
    assert monitor["environment"]["MONITOR_WEB__TOKEN"] == "$${file:/run/secrets/web_token}"
    assert monitor["ports"] == ["127.0.0.1:8080:8080"]
    assert monitor["secrets"] == ["db_password", "web_token"]
    assert yaml.safe_load(opened)["secrets"]["web_token"] == {"file": "./web_token.txt"}
    # Commented, the dashboard is off and only the database secret is mounted.
    closed = yaml.safe_load(text)
    assert "MONITOR_WEB__TOKEN" not in closed["services"]["monitor"]["environment"]
    assert closed["services"]["monitor"]["secrets"] == ["db_password"]
    assert set(closed["secrets"]) == {"db_password"}


def test_compose_builds_take_the_base_image_from_the_environment() -> None:
    """Like ``docker build --build-arg BASE_IMAGE=...``: every built service passes
    ``BASE_IMAGE`` on, defaulting to the Dockerfile's own pinned base."""
    import yaml

    (default,) = re.findall(
        r"^ARG BASE_IMAGE=(\S+)$", (ROOT / "Dockerfile").read_text(encoding="utf-8"), re.MULTILINE
    )
    built = 0
    for name in ("docker-compose.yml", "docker-compose.workers.yml"):
        services = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))["services"]
        for service, spec in services.items():
            if "build" not in spec:
                continue
            built += 1
            assert spec["build"]["context"] == ".", (name, service)
            assert spec["build"]["args"]["BASE_IMAGE"] == f"${{BASE_IMAGE:-{default}}}"
    assert built == 3
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "BASE_IMAGE=local/python:3.11-bookworm docker compose build" in readme


def test_moving_to_workers_says_how_to_stop_the_single_daemon() -> None:
    """A profile keeps the single daemon from starting, not one already running: the
    workers file and the README say to remove it first, keeping the database."""
    step = "docker compose rm --stop --force monitor"
    assert step in (ROOT / "docker-compose.workers.yml").read_text(encoding="utf-8")
    assert step in " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())


def test_constraints_pin_every_dependency_the_image_installs() -> None:
    """Everything ``pip install posting-monitor[postgres]`` brings in (here: the
    installed distributions' requirements, followed from the project's own) has a pin,
    so the image does not take a newer one later (``packaging``, which procrastinate
    needs, was missing)."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = {
        canonicalize_name(line.split("==", 1)[0])
        for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }
    seen: set[str] = set()
    todo: list[tuple[str, frozenset[str]]] = [("posting-monitor", frozenset({"postgres"}))]
    while todo:
        name, extras = todo.pop()
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        for text in requires:
            requirement = Requirement(text)
            wanted = extras or frozenset({""})
            marker = requirement.marker
            if marker is not None and not any(marker.evaluate({"extra": e}) for e in wanted):
                continue
            key = canonicalize_name(requirement.name)
            if key not in seen:
                seen.add(key)
                todo.append((requirement.name, frozenset(requirement.extras)))
    assert "packaging" in seen
    assert not seen - pins, sorted(seen - pins)


def test_every_service_on_the_database_is_stopped_before_it() -> None:
    """Compose stops a service only after the running services that depend on it; a
    worker depending on the database only through ``migrate`` (exited by then) had the
    database stopped under its last batches by ``docker-compose down``, and was killed
    at the end of its grace period (exit 137)."""
    import yaml

    for name in ("docker-compose.yml", "docker-compose.workers.yml"):
        services = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))["services"]
        for service, spec in services.items():
            environment = spec.get("environment") or {}
            if "MONITOR_DATABASE__URL" not in environment:
                continue
            assert "db" in spec["depends_on"], (name, service)
            assert spec["depends_on"]["db"]["condition"] == "service_healthy", (name, service)
