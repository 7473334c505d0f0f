"""Every package of rulesvc (and admin) is held by some import contract in setup.cfg: a new package
cannot slip in unchecked. (``lint-imports`` checks the contracts themselves.)"""

from __future__ import annotations

import configparser
import pkgutil
import re

import rulesvc
from rulesvc.config import PROJECT_ROOT


def constrained_modules() -> set[str]:
    """Modules named as a contract's source or in its layers."""
    config = configparser.ConfigParser()
    config.read(PROJECT_ROOT / "setup.cfg", encoding="utf-8")
    out: set[str] = set()
    for section in config.sections():
        if not section.startswith("importlinter:contract:"):
            continue
        for key in ("source_modules", "layers", "modules", "containers"):
            out.update(m for m in re.split(r"[\s|:]+", config[section].get(key, "")) if m)
    return out


def test_every_package_is_held_by_an_import_contract():
    packages = {f"rulesvc.{m.name}" for m in pkgutil.iter_modules(rulesvc.__path__) if m.ispkg} | {"admin"}
    assert packages >= {"rulesvc.engine", "rulesvc.services", "rulesvc.api"}
    covered = constrained_modules()
    assert sorted(p for p in packages if p not in covered and not any(c.startswith(p + ".") for c in covered)) == []
