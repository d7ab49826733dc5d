"""Capillary emulator (coverage table to follow)."""

from .app import Emulator
from .org import OrgConfig, load_org_config
from .server import serve
from .transport import EmulatorTransport

__all__ = ["Emulator", "EmulatorTransport", "OrgConfig", "load_org_config", "serve"]
