"""SIGTERM and SIGHUP stop a headless apply as Ctrl-C does: the same message, exit 6, the state saved and intact,
and the same command resumes to a passing verification. The run is held in a known wait with the sandbox's clock
(the container group's creation held open), not stopped at a wall-clock moment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from .engine.conftest import SECRET_VALUE, build_spec

pytestmark = pytest.mark.timeout(300)
STOPPED = "Stopped. The state is saved; run the same command again to resume."


def start_apply(sandbox, tmp_path):
    from wizard.spec import dump_spec
    spec = tmp_path / "setup.toml"
    spec.write_text(dump_spec(build_spec()))
    descriptor = tmp_path / "sandbox.json"
    sandbox.write_descriptor(descriptor)
    env = {**os.environ, "MI_TEST_SECRET": SECRET_VALUE, "MI_WIZARD_STATE_DIR": str(tmp_path / "state")}
    args = [sys.executable, "-m", "wizard", "apply", str(spec), "--yes", "--sandbox-descriptor", str(descriptor),
            "--secret-from", "env:MI_TEST_SECRET"]
    return args, env


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=["TERM", "HUP", "INT"])
def test_a_signal_saves_and_exits_6_like_ctrl_c_and_the_run_resumes(sandbox, tmp_path, signum):
    args, env = start_apply(sandbox, tmp_path)
    with sandbox.realism.hold("lro:aci_create") as creating:
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert creating.wait_reached(120), "the apply never reached the container group's creation"
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 6, (out, err)
    assert STOPPED in err and "Traceback" not in err
    state = json.loads((tmp_path / "state" / "test-setup.json").read_text())
    assert state["steps"]["grant"]["status"] == "done" and state["steps"]["aci"]["status"] != "done"
    resumed = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Verification passed" in resumed.stdout
    assert SECRET_VALUE not in out + err + resumed.stdout + resumed.stderr


def test_a_wait_counts_up_on_one_line_in_a_terminal(sandbox, tmp_path):
    """In a terminal the wait's line is rewritten in place (\\r), not printed anew at every check."""
    import pty
    import select
    args, env = start_apply(sandbox, tmp_path)
    sandbox.realism.principal_type_skips_window = False  # the grant waits for the new identity (a countdown)
    with sandbox.realism.hold("principal_not_found") as replicating:
        leader, follower = pty.openpty()
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=follower, stdin=subprocess.DEVNULL)
        os.close(follower)
        seen = b""
        try:
            # Read the terminal until the wait has been shown at least three times (a few checks).
            while seen.count(b"waiting for") < 3:
                ready, _, _ = select.select([leader], [], [], 60)
                assert ready, f"no output for 60 s; so far: {seen[-500:]!r}"
                seen += os.read(leader, 4096)
            assert replicating.reached.is_set()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            os.close(leader)
    waits = seen[seen.index(b"waiting for") - 40:]
    assert b"\r\x1b[2K    waiting for" in waits
    between = waits.split(b"waiting for")[1:-1]
    assert all(b"\n" not in part for part in between), between  # rewritten in place, no new lines


def test_the_cli_runs_from_a_thread_too(tmp_path, capsys):
    """An embedder (a benchmark, a service) may call main() from a thread: no signal handler can be set there,
    and the command still runs."""
    import threading

    from wizard.cli import main
    codes: list[int] = []
    runner = threading.Thread(target=lambda: codes.append(main(["init", "--example", "prefect-aci",
                                                                   str(tmp_path / "spec.toml")])))
    runner.start()
    runner.join(timeout=60)
    assert codes == [0] and (tmp_path / "spec.toml").exists()


STOP_GIVEN_TO_A_STEP_THREAD = """
import signal, sys, threading
from wizard import cli
cli._stop_on_signals()
ready = threading.Event()
def step():
    ready.wait()
    # The kernel may give a process's signal to any of its threads: here, a step's thread in a call.
    signal.pthread_kill(threading.get_ident(), signal.SIG{name})
    threading.Event().wait(60)
threading.Thread(target=step, daemon=True).start()
try:
    ready.set()
    threading.Event().wait()  # the main thread asleep in a lock wait, as run_graph waits for its steps
except KeyboardInterrupt:
    print("stopped")
"""


@pytest.mark.parametrize("name", ["TERM", "HUP", "INT"])
def test_a_signal_given_to_another_thread_still_stops_the_command(name):
    """Python runs handlers on the main thread only when it runs Python again: a signal the kernel gave a step's
    thread left a main thread asleep in a lock wait for good (CI: a SIGHUP'd apply never exited). The watchdog
    passes it on, so the main thread stops at once, well before the grace period would end the process."""
    done = subprocess.run([sys.executable, "-c", STOP_GIVEN_TO_A_STEP_THREAD.replace("{name}", name)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "stopped", (done.stdout, done.stderr)
    assert "did not stop in time" not in done.stderr
