"""A local Azure over HTTPS that the real Azure SDK clients run against unmodified.

`running_sandbox(data_dir)` starts one in-process; `mi-wizard sandbox serve` runs one standalone.
"""

from .app import Sandbox, running_sandbox, stable_id
from .realism import Realism

__all__ = ["Sandbox", "Realism", "running_sandbox", "stable_id"]
