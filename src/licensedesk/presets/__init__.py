"""Policy presets and the sample catalog, shipped as data files."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from licensedesk.domain.errors import PolicyError
from licensedesk.domain.policy import Policy

PRESET_NAMES = ("mca-nce", "monthly-prorated", "annual-prepaid")

# The files shipped here are read with libyaml when it is there (4× faster: the sample catalog is read by
# every `simulate` run); a reseller's own file keeps the pure-Python loader and its error messages.
_SHIPPED_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(text: str, origin: str, loader: Any = yaml.SafeLoader) -> Any:
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{origin}: not valid YAML: {exc}", f"{origin}: YAML として読めません: {exc}") from exc


@cache
def preset(name: str) -> Policy:
    """A built-in preset by name (``mca-nce``, ``monthly-prorated``, ``annual-prepaid``)."""
    if name not in PRESET_NAMES:
        raise PolicyError(
            f"unknown policy {name!r}; presets are {', '.join(PRESET_NAMES)}",
            f"ポリシー {name!r} はありません。プリセット: {', '.join(PRESET_NAMES)}",
            key="policy",
        )
    text = resources.files(__package__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return Policy.from_mapping(_read_yaml(text, f"{name}.yaml", _SHIPPED_LOADER))


def load_policy_file(path: Path) -> Policy:
    """A reseller's own policy file, validated like the presets."""
    return Policy.from_mapping(_read_yaml(path.read_text(encoding="utf-8"), str(path)))


def sample_catalog() -> list[dict[str, Any]]:
    """The built-in sample catalog (offers and price rows) for the demo and for scenarios."""
    text = resources.files(__package__).joinpath("catalog.yaml").read_text(encoding="utf-8")
    data = yaml.load(text, Loader=_SHIPPED_LOADER)
    assert isinstance(data, list)
    return data
