"""How the sandbox is named on screen: here, not in profiles.py, so the wizard's first screen can say it without
loading the cloud profiles (and json) before its first paint."""

SANDBOX_DISPLAY_NAME, SANDBOX_DISPLAY_NOTE = "the sandbox", "a local, simulated Azure"
