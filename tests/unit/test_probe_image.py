"""The live probe's default image on real clouds: Microsoft-hosted, small, with python3 (the reasons and sources
are beside the default in wizard/azure/profiles.py). Its command needs nothing else from the image: python3 runs
the script inline, without a shell (the distroless image has none) and whatever its entrypoint (ACI's command
replaces it). The sandbox keeps its own stand-in image."""

from __future__ import annotations

import subprocess
import sys

from wizard import probe
from wizard.azure import profiles
from wizard.spec_values import image_reference_problem

DEFAULT = "mcr.microsoft.com/azurelinux/distroless/python:3"


def test_every_real_cloud_probes_with_azure_linux_distroless_python():
    for profile in profiles.CLOUDS.values():
        assert profile.probe_image == DEFAULT, profile.name
    assert image_reference_problem(DEFAULT) is None  # a well-formed reference, as a spec's would be checked
    assert DEFAULT.startswith("mcr.microsoft.com/")


def test_the_sandbox_keeps_its_own_image():
    descriptor = {"arm_url": "https://127.0.0.1:1", "authority_url": "https://127.0.0.1:2", "tenant_id": "t",
                  "client_id": "c", "client_secret": "s", "ca_bundle": "/dev/null", "imds_url": "http://127.0.0.1:3"}
    assert profiles.sandbox_profile(descriptor).probe_image == "sandbox/python3"


def test_the_command_is_python3_with_the_script_inline_no_shell():
    command = probe.probe_command("https://kv.vault.azure.net/", "git-token", "cid", wait_s=30)
    assert command[:3] == ["python3", "-c", probe.probe_source()]
    assert command[3:] == ["https://kv.vault.azure.net/", "git-token", "cid", "", "", "30"]
    assert not any(word in ("sh", "bash", "/bin/sh") for word in command)
    # Run exactly as the container does (exec form, python3 from PATH): without its arguments the script says
    # nothing and exits 2, so the script parses and starts on this interpreter too.
    done = subprocess.run([sys.executable, *command[1:3]], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (2, "")
