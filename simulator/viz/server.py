"""``flywheel explore``: serve the explorer page with Solara's server, offline.

This module imports nothing of the ``viz`` extra at import time, so the command line
works without it; :func:`serve` then says how to install it (:class:`InputError`, exit 2).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import warnings
from collections.abc import Callable
from pathlib import Path

from simulator.errors import InputError

from .adapter import default_scenarios_dir, resolve_scenario

__all__ = ["INSTALL_HINT", "missing_packages", "serve", "start_name"]

#: The packages the page needs, by import name -> distribution name.
REQUIRED = {
    "solara": "solara",
    "solara_assets": "solara-assets",
    "ipyvuetify": "ipyvuetify",
    "altair": "mesa[viz]",
    "uvicorn": "solara",
}
INSTALL_HINT = (
    "make explore (installs the viz extra into .venv and starts the page), or "
    "`.venv/bin/pip install -e '.[viz]'` in the project folder"
)


def missing_packages() -> list[str]:
    """The distributions of the ``viz`` extra that cannot be imported here."""
    missing = {dist for name, dist in REQUIRED.items() if importlib.util.find_spec(name) is None}
    return sorted(missing)


def start_name(scenario: str | os.PathLike | None, root: Path) -> str:
    """The name (relative to ``root``) of the scenario the page opens first.

    ``scenario`` is a path as typed on the command line (relative to the working folder).
    It must lie inside ``root``: the page reads no file outside it.
    """
    if scenario is None:
        return "baseline.yaml"
    path = Path(scenario).expanduser().resolve()
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        raise InputError(
            f"{scenario}: the explorer opens scenario files inside {root} only; "
            f"copy it there (e.g. {root / Path(scenario).name}) and run the command again"
        ) from None


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InputError(
                f"--port {port} --host {host}: cannot listen there ({exc.strerror}); "
                "choose another port with --port"
            ) from None


def serve(
    scenario: str | os.PathLike | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    echo: Callable[[str], None] = print,
) -> None:
    """Serve the explorer until interrupted; print its address once it listens.

    Raises
    ------
    InputError
        The ``viz`` extra is missing (the message says how to install it), the scenario is
        outside the scenarios folder or invalid, or the port is taken.
    """
    missing = missing_packages()
    if missing:
        raise InputError(
            f"the explorer needs the viz extra ({', '.join(missing)} not installed); "
            f"install it with: {INSTALL_HINT}"
        )
    root = default_scenarios_dir()
    name = start_name(scenario, root)
    resolve_scenario(name, {}, root)  # a bad file fails here, as `flywheel run` would
    _check_port(host, port)

    # Before Solara is imported (its settings read the environment once): this app, its
    # scenarios folder, production mode, and no telemetry (nothing leaves the machine).
    os.environ["SOLARA_APP"] = "simulator.viz.app"
    os.environ["FLYWHEEL_SCENARIOS_DIR"] = str(root)
    os.environ["FLYWHEEL_EXPLORE_SCENARIO"] = name
    os.environ.setdefault("SOLARA_MODE", "production")
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = host, str(port)

    import uvicorn

    # Solara explains at length, on every page load, that a plain-http address other than
    # "localhost" gets lax cookies: true and harmless here (the page is not embedded).
    warnings.filterwarnings("ignore", message="Cookies with samesite=none", category=UserWarning)

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            shown = f"[{host}]" if ":" in host else host
            echo(f"Flywheel explorer: http://{shown}:{port}/  (scenario {name}; Ctrl+C stops it)")
            if host not in ("127.0.0.1", "localhost", "::1"):
                echo(f"note: listening on {host}: other computers on the network can open it")

    config = uvicorn.Config(
        "solara.server.starlette:app", host=host, port=port, log_level="warning", lifespan="on"
    )
    Server(config).run()
