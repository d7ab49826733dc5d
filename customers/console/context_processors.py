from django.conf import settings
from django.http import HttpRequest

from customers.console.permissions import can, role_of
from customers.console.roles import Capability


def console(request: HttpRequest) -> dict[str, object]:
    """Navigation per role, the signed-in role, and whether we talk to the emulator."""
    user = request.user
    return {
        "talks_to_emulator": not settings.CAPILLARY_BASE_URL,
        "staff_role": role_of(user),
        "nav": {
            "search": can(user, Capability.SEARCH),
            "register": can(user, Capability.REGISTER),
            "import": can(user, Capability.UPSERT),
            "history": can(user, Capability.VIEW_HISTORY),
        },
    }
