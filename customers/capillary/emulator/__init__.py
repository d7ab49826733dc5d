"""Capillary emulator (coverage table to follow)."""

from .app import Emulator
from .org import OrgConfig, load_org_config
from .seed import seed_members
from .server import serve
from .transport import EmulatorTransport

__all__ = ["Emulator", "EmulatorTransport", "OrgConfig", "load_org_config", "seed_members", "serve"]
