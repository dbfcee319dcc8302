"""Reading a configuration file: one way, one kind of error.

sources.yaml and topics.yaml are both YAML read at start-up; a file that cannot be read or
parsed stops start-up with one line naming the file (and the line, when YAML says which).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from monitor.errors import ConfigError


def read_yaml(path: Path) -> Any:
    """The parsed file; ConfigError naming the file (and line) when it is unreadable."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{where}: not valid YAML: {problem}") from None
