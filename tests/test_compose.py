"""The Dockerfile, docker-compose.yml and the CI workflow, checked without a Docker daemon: the
Compose JSON Schema, the structure the README promises, the real linters (hadolint, actionlint)
and the real Compose CLI (`config` resolves the file offline). The image and the compose stack
themselves run in tests/test_docker.py (opt-in, needs a daemon)."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from shared.cli import build_parser
from shared.implementations import IMPLEMENTATIONS
from shared.serve import GRACEFUL_SHUTDOWN_SECONDS
from shared.settings import SETTING_NAMES
from support.containers import COMPOSE_FILE, VARIABLE, compose_cli, default
from support.servers import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "contract.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
SCHEMA = Path(__file__).parent / "support" / "compose" / "compose-spec.json"

INFRASTRUCTURE = {"db", "migrate"}  # started under every profile
CONTAINER_PORT = 8000  # `quartet serve`'s default, which the image's CMD and HEALTHCHECK use
# Settings that are not server settings: the password `quartet create-admin` reads.
CLI_ONLY_VARIABLES = {"QUARTET_ADMIN_PASSWORD"}


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def quartet_services() -> dict[str, dict[str, Any]]:
    """The services that run the project's image (all but the database)."""
    return {name: s for name, s in services().items() if name != "db"}


def seconds(duration: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"bad duration {duration!r}"
    return sum(float(n) * units[u] for n, u in parts)


def parse_quartet(argv: list[str]) -> Any:
    """argv (starting with `quartet`) parsed by the CLI's own parser; fails on a non-command."""
    assert argv[0] == "quartet", argv
    try:
        return build_parser().parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"not a valid quartet command: {shlex.join(argv)}")


def quartet_commands(script: str) -> list[list[str]]:
    """Every `quartet ...` invocation in a shell script (up to `;`, `&&`, `||`, a newline)."""
    commands = []
    for line in script.splitlines():
        for match in re.finditer(r"(?:^|[;&|]\s*|then\s+)(quartet\s[^;&|]*)", line.strip()):
            commands.append(shlex.split(match[1]))
    return commands


# ------------------------------------------------------------------------ the compose file


def test_compose_file_matches_the_compose_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    # Draft 7, as its "$schema" says (spelt without the "#" jsonschema looks up).
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(compose()), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors
    )


def test_one_service_per_implementation_each_under_its_own_profile() -> None:
    assert set(services()) == INFRASTRUCTURE | set(IMPLEMENTATIONS)
    for name in INFRASTRUCTURE:
        assert "profiles" not in services()[name], f"{name} must start under every profile"
    for impl in IMPLEMENTATIONS:
        assert services()[impl].get("profiles") == [impl], impl


def started_under(profiles: set[str]) -> set[str]:
    """What `docker compose --profile P... up` starts: the services enabled by the profiles
    (or by none), which must include everything they depend on."""
    enabled = {
        name
        for name, s in services().items()
        if not s.get("profiles") or profiles & set(s["profiles"])
    }
    for name in enabled:
        missing = set(services()[name].get("depends_on", {})) - enabled
        assert not missing, f"{name} depends on {missing}, not started under {profiles}"
    return enabled


@pytest.mark.parametrize("impl", list(IMPLEMENTATIONS))
def test_each_profile_starts_the_database_the_migration_and_its_implementation(impl: str) -> None:
    assert started_under({impl}) == INFRASTRUCTURE | {impl}


def test_two_profiles_run_side_by_side_over_one_database() -> None:
    assert started_under({"fastapi", "drf"}) == INFRASTRUCTURE | {"fastapi", "drf"}
    ports = [
        default(s["ports"][0]).rsplit(":", 2) for s in quartet_services().values() if "ports" in s
    ]
    assert len(ports) == len(IMPLEMENTATIONS)
    assert all(target == str(CONTAINER_PORT) for _, _, target in ports)
    assert len({host_port for _, host_port, _ in ports}) == len(IMPLEMENTATIONS), ports
    assert {address for address, _, _ in ports} == {"127.0.0.1"}, "loopback unless told"


def test_database_is_postgres_on_a_named_volume_with_a_readiness_check() -> None:
    db = services()["db"]
    assert default(db["image"]).startswith("postgres:")
    assert "/var/lib/postgresql/data" in {v.split(":")[1] for v in db["volumes"]}
    volume = next(v.split(":")[0] for v in db["volumes"])
    assert volume in compose()["volumes"], "a named volume, not a bind mount"
    test = db["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL" and test[1].startswith("pg_isready ")
    # During first-start initialisation the official image's server listens on its socket only.
    assert "-h 127.0.0.1" in test[1], "pg_isready must ask over TCP"
    url = default(services()["migrate"]["environment"]["DATABASE_URL"])
    env = {k: default(v) for k, v in db["environment"].items()}
    assert url == (
        f"postgresql://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@db:5432/"
        f"{env['POSTGRES_DB']}"
    )


def test_migrate_runs_once_after_the_database_is_healthy() -> None:
    migrate = services()["migrate"]
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert migrate["restart"] == "no"
    shell, flag, script = migrate["command"]
    assert (shell, flag) == ("/bin/sh", "-c")
    assert script.splitlines()[0] == "set -e", "a failed migration must fail the service"
    commands = [parse_quartet(argv) for argv in quartet_commands(script)]
    assert [(c.command, c.db_command) for c in commands] == [("db", "migrate"), ("db", "seed")]
    assert commands[1].demo
    assert re.search(r'if \[ "\$\{QUARTET_DEMO:-0\}" = 1 \]; then quartet db seed', script)


@pytest.mark.parametrize("impl", list(IMPLEMENTATIONS))
def test_implementation_service(impl: str) -> None:
    service = services()[impl]
    args = parse_quartet(service["command"])
    assert (args.command, args.impl, args.host, args.port) == (
        "serve",
        impl,
        "0.0.0.0",
        CONTAINER_PORT,
    )
    assert args.workers is None, "the worker count comes from WEB_CONCURRENCY"
    assert service["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert seconds(service["stop_grace_period"]) > GRACEFUL_SHUTDOWN_SECONDS, (
        "compose would SIGKILL the server while it drains in-flight requests"
    )
    assert service.get("healthcheck", {}).get("disable") is not True  # the image's HEALTHCHECK
    assert service["image"] == services()["migrate"]["image"]
    assert service["build"] == services()["migrate"]["build"]


def test_services_get_exactly_the_settings_the_code_reads() -> None:
    for name, service in quartet_services().items():
        assert set(service["environment"]) == set(SETTING_NAMES), name
    secret = services()["migrate"]["environment"]["SECRET_KEY"]
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", secret), "SECRET_KEY must be required"


def _environment_reads(path: Path) -> set[str]:
    """Names a module reads from the environment: os.environ.get / os.getenv / os.environ[...]
    and shared.settings' _int / _float helpers."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        key = None
        if isinstance(node, ast.Call) and node.args:
            func = ast.unparse(node.func)
            if func in ("os.environ.get", "os.getenv", "_int", "_float"):
                key = node.args[0]
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and ast.unparse(node.value) == "os.environ"
        ):
            key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            names.add(key.value)
    return names


def test_setting_names_are_what_the_code_reads() -> None:
    """SETTING_NAMES is the one list: a setting added to the code must be added to it (and so
    to docker-compose.yml, by the test above)."""
    packages = ["shared", *(impl.package for impl in IMPLEMENTATIONS.values())]
    sources = [
        path
        for package in packages
        for path in (REPO_ROOT / package).rglob("*.py")
        if "tests" not in path.relative_to(REPO_ROOT).parts
    ]
    read = set().union(*(_environment_reads(p) for p in sources))
    assert read == set(SETTING_NAMES) | CLI_ONLY_VARIABLES


def test_env_example_documents_every_variable_with_its_default(tmp_path: Path) -> None:
    referenced = {
        m["name"]: m["arg"] if m["op"] == "-" else None
        for m in VARIABLE.finditer(COMPOSE_FILE.read_text())
    }
    documented = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if match := re.match(r"^#? ?([A-Z][A-Z0-9_]*)=(\S*)", line):
            documented[match[1]] = match[2]
    assert set(documented) == set(referenced)
    for name, value in documented.items():
        if referenced[name] is not None:
            assert value == referenced[name], (
                f".env.example says {name}={value}, compose defaults to {referenced[name]!r}"
            )
    assert documented["SECRET_KEY"] == "", "the example must not ship a usable secret"


# ------------------------------------------------------------------------ the Compose CLI


def run_compose(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    """`docker compose ARGS` on the repository's file, with only `env` for interpolation (no
    .env from the developer's checkout, no settings from their shell)."""
    empty = tmp_path / "empty.env"
    empty.write_text("")
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR", "LANG")}
    return subprocess.run(
        [*compose_cli(), "--file", str(COMPOSE_FILE), "--env-file", str(empty), *args],
        cwd=REPO_ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    done = run_compose("--profile", "fastapi", "config", env={}, tmp_path=tmp_path)
    assert done.returncode != 0
    assert "required variable SECRET_KEY is missing a value" in done.stderr, done.stderr
    assert ".env.example" in done.stderr, "the error should say where to look"


@pytest.mark.parametrize(
    "profiles",
    [[impl] for impl in IMPLEMENTATIONS] + [["fastapi", "drf"]],
    ids=lambda p: "+".join(p),
)
def test_compose_cli_resolves_each_profile(profiles: list[str], tmp_path: Path) -> None:
    args = [a for p in profiles for a in ("--profile", p)]
    done = run_compose(
        *args, "config", "--format", "json", env={"SECRET_KEY": "s" * 40}, tmp_path=tmp_path
    )
    assert done.returncode == 0, done.stderr
    resolved = json.loads(done.stdout)["services"]
    assert set(resolved) == INFRASTRUCTURE | set(profiles)
    for impl in profiles:
        environment = resolved[impl]["environment"]
        assert environment["SECRET_KEY"] == "s" * 40
        assert environment["QUARTET_ENV"] == "production"
        assert environment["DATABASE_URL"] == "postgresql://quartet:quartet@db:5432/quartet"


def test_env_example_values_resolve_like_the_defaults(tmp_path: Path) -> None:
    """Uncommenting every line of .env.example changes nothing: its values are the defaults."""
    everything = tmp_path / "all.env"
    everything.write_text(
        "\n".join(
            re.sub(r"^# ?", "", line) if re.match(r"^# ?[A-Z][A-Z0-9_]*=", line) else line
            for line in ENV_EXAMPLE.read_text()
            .replace("SECRET_KEY=\n", "SECRET_KEY=" + "s" * 40 + "\n")
            .splitlines()
        )
    )
    profiles = [a for impl in IMPLEMENTATIONS for a in ("--profile", impl)]
    by_default = run_compose(
        *profiles, "config", "--format", "json", env={"SECRET_KEY": "s" * 40}, tmp_path=tmp_path
    )
    from_example = run_compose(
        *profiles,
        "--env-file",
        str(everything),
        "config",
        "--format",
        "json",
        env={},
        tmp_path=tmp_path,
    )
    assert by_default.returncode == 0 and from_example.returncode == 0, from_example.stderr
    assert json.loads(from_example.stdout) == json.loads(by_default.stdout)


# ------------------------------------------------------------------------ the Dockerfile


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n(\s*#[^\n]*\n)*", " ", DOCKERFILE.read_text())
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_dockerfile_base_image_is_a_build_argument() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("ARG", "PYTHON_IMAGE=python:3.12-slim")
    stages = [args for op, args in instructions if op == "FROM"]
    assert len(stages) >= 2, "multi-stage: the build tools stay out of the runtime image"
    assert all(stage.startswith("${PYTHON_IMAGE}") for stage in stages)


def test_dependencies_are_installed_before_the_code_is_copied() -> None:
    """The dependency layer survives code edits: before it, only pyproject.toml is copied."""
    instructions = dockerfile_instructions()
    install = next(
        i
        for i, (op, args) in enumerate(instructions)
        if op == "RUN" and "requirements.txt" in args and "install" in args
    )
    copied_before = [args for op, args in instructions[:install] if op == "COPY"]
    assert copied_before == ["pyproject.toml ./"]
    assert any(op == "COPY" and args.startswith("shared/") for op, args in instructions[install:])


def test_image_runs_quartet_serve_as_a_non_root_user_with_a_health_check() -> None:
    instructions = dockerfile_instructions()
    runtime = instructions[max(i for i, (op, _) in enumerate(instructions) if op == "FROM") :]
    users = [args for op, args in runtime if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    health = next(args for op, args in runtime if op == "HEALTHCHECK")
    assert f"http://127.0.0.1:{CONTAINER_PORT}/healthz" in health
    cmd = json.loads(next(args for op, args in runtime if op == "CMD"))
    assert cmd[:2] == ["/bin/sh", "-c"] and cmd[2].startswith("exec quartet serve ")
    for impl in IMPLEMENTATIONS:  # what the shell runs, for each IMPL
        args = parse_quartet(shlex.split(cmd[2].removeprefix("exec ").replace("$IMPL", impl)))
        assert (args.command, args.impl, args.host, args.port) == (
            "serve",
            impl,
            "0.0.0.0",
            CONTAINER_PORT,
        )


def test_dockerignore_admits_only_what_the_image_installs() -> None:
    patterns = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "everything excluded first (.venv, .git, caches, .env, tests)"
    admitted = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    assert admitted == {"pyproject.toml", "README.md", "shared", "impl_*"}
    copied = {
        args.split()[0].rstrip("/")
        for op, args in dockerfile_instructions()
        if op == "COPY" and not args.startswith("--from")
    }
    assert copied == admitted - {"impl_*"} | {i.package for i in IMPLEMENTATIONS.values()}


# ------------------------------------------------------------------------ linters


def tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is missing: pip install -e '.[test]'")
    return found


def test_hadolint_finds_nothing() -> None:
    done = subprocess.run(
        [tool("hadolint"), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_actionlint_finds_nothing() -> None:
    done = subprocess.run(
        [
            tool("actionlint"),
            "-no-color",
            "-oneline",
            f"-shellcheck={tool('shellcheck')}",
            "-pyflakes=",
            str(WORKFLOW),
        ],  # no Python in `run:` steps
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_shellcheck_finds_nothing_in_the_docker_scaffolding() -> None:
    script = Path(__file__).parent / "docker" / "standins.sh"
    done = subprocess.run(
        [tool("shellcheck"), str(script)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------------------------------ the CI workflow


@cache
def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def run_steps(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_workflow_runs_the_suite_per_implementation_on_postgres() -> None:
    job = workflow()["jobs"]["contract"]
    assert job["strategy"]["matrix"]["impl"] == list(IMPLEMENTATIONS)
    assert job["strategy"]["fail-fast"] is False
    assert job["services"]["postgres"]["image"].startswith("postgres:")
    assert job["env"]["QUARTET_TEST_DATABASE_URL"].startswith("postgresql://")
    assert ".venv/bin/pytest --impl=${{ matrix.impl }}" in run_steps(job)


def test_workflow_runs_the_cross_implementation_tests_with_all_four() -> None:
    job = workflow()["jobs"]["cross-implementation"]
    command = run_steps(job)
    assert "tests/test_cross_impl.py" in command
    assert sorted(re.findall(r"--impl=(\w+)", command)) == sorted(IMPLEMENTATIONS)
    assert job["env"]["QUARTET_TEST_DATABASE_URL"].startswith("postgresql://")


def test_workflow_caches_pip_and_installs_like_the_readme() -> None:
    for name, job in workflow()["jobs"].items():
        setup = next(
            s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python")
        )
        assert setup["with"]["cache"] == "pip", name
        assert "pip install -q -e '.[test]'" in run_steps(job), name
