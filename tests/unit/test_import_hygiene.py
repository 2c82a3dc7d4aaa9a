"""The layering, checked in fresh interpreters: wizard/ never loads Textual, and the UI loads neither the
Azure SDK nor the engine before a session is opened (so the first screen is not kept waiting for them)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, tmp_path: Path | None = None) -> dict:
    env_dir = str(tmp_path) if tmp_path else "/nonexistent"
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": env_dir,
                                           "MI_WIZARD_STATE_DIR": f"{env_dir}/state",
                                           "MI_WIZARD_SANDBOX_DIR": f"{env_dir}/sandbox"})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def loaded(modules: list[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(package + "."))


def test_the_core_never_imports_textual():
    modules = run_python("""
        import json, sys
        import wizard, wizard.engine, wizard.cli, wizard.commands, wizard.draft, wizard.catalog, wizard.verify
        print(json.dumps({"modules": list(sys.modules)}))
    """)["modules"]
    assert loaded(modules, "textual") == []
    assert loaded(modules, "screens") == []


def test_the_ui_imports_no_azure_sdk_until_a_session_opens(tmp_path):
    seen = run_python("""
        import asyncio, json, sys
        from screens.app import make_app
        at_import = [m for m in sys.modules if m == "azure" or m.startswith("azure.") or m == "wizard.engine"]
        seen = {"at_import": at_import}

        def session_factory(**_):
            # The moment the session opens: what is loaded, and is the first screen already up?
            seen["before_session"] = [m for m in sys.modules if m.startswith("azure.") or m == "wizard.engine"]
            seen["screen"] = type(app.screen_stack[-1]).__name__
            raise RuntimeError("this test opens no session")

        app = make_app(session_factory=session_factory, sandbox=True)

        async def main():
            async with app.run_test() as pilot:
                await app.workers.wait_for_complete()
                await pilot.pause()

        asyncio.run(main())
        print(json.dumps(seen))
    """, tmp_path)
    assert seen["at_import"] == []
    assert seen["before_session"] == []
    assert seen["screen"] == "WelcomeScreen"
