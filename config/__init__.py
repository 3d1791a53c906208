"""Configuration: sigrelay.toml + templates/ + banners/ + the employee CSV,
validated once into a frozen `Config` that answers the relay's questions.

Public surface (docs/internals.md "config/"):
`load_config`, `Config`, `ConfigError`, `ConfigErrors`, `Sender`,
`Tracking`, `QuotedTags`, `build_plan`, `check`, and the section types.
"""

from config.check import check
from config.directory import Directory, Employee
from config.errors import ConfigError, ConfigErrors
from config.loader import EXAMPLE_DIR, load_config
from config.model import Config
from config.plans import QuotedTags, Tracking, build_plan
from config.rules import Sender
from config.schema import (
    Campaign,
    Group,
    LinkMode,
    PrivacyMode,
    UpstreamEndpoint,
    Variant,
)

__all__ = [
    "EXAMPLE_DIR",
    "Campaign",
    "Config",
    "ConfigError",
    "ConfigErrors",
    "Directory",
    "Employee",
    "Group",
    "LinkMode",
    "PrivacyMode",
    "Sender",
    "QuotedTags",
    "Tracking",
    "UpstreamEndpoint",
    "Variant",
    "build_plan",
    "check",
    "load_config",
]
