"""What a command line that does not serve leaves unloaded: the web application and its stack.

``openisales import`` (like every one-shot command) starts by importing the
command line (``openisales.cli``, which registers every command) and then what
the command itself runs; none of that may pull in the API or console
application, the ASGI server or the web framework: they cost start-up time
that a bulk import pays on every run. Checked in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys

# What `openisales import` imports to run: the entry point, the command's module,
# the import package, and what run_job opens the database with.
IMPORT_PATH = (
    "openisales.cli",
    "openisales.cli.imports",
    "openisales.importing",
    "openisales.files",
    "openisales.services.admin",
    "openisales.store.schema",
    "openisales.store.engine",
    "openisales.store.ids",
    "openisales.clock",
    "openisales.services.audit",
)
WEB = ("openisales.api", "openisales.console", "starlette", "uvicorn", "granian", "jinja2")


def _loaded_after(modules: tuple[str, ...]) -> list[str]:
    script = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_the_import_command_does_not_load_the_web_application() -> None:
    loaded = _loaded_after(IMPORT_PATH)
    assert "openisales.importing.load" in loaded  # the check sees what it should
    web = [m for m in loaded if m.split(".")[0] in WEB or m.startswith(WEB)]
    assert web == []


def test_the_check_would_see_the_web_application() -> None:
    """The same probe after importing the API finds it (the test above can fail)."""
    loaded = _loaded_after(("openisales.api.app",))
    assert "starlette" in loaded and "openisales.api" in loaded
