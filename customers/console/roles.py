"""Staff roles and what each may do: the one place the permission matrix lives.

Roles are Django groups; capabilities are Django permissions on the
StaffCapability model, so admins can also grant a single capability to one
person in Django admin. `sync_roles` runs after every migrate and makes the
groups match this table.
"""

from enum import StrEnum


class Capability(StrEnum):
    SEARCH = "search_members"
    VIEW_PROFILE = "view_member"
    REGISTER = "register_member"
    EDIT_PROFILE = "edit_profile"
    CHANGE_IDENTIFIERS = "change_identifiers"
    CHANGE_STATUS = "change_status"
    CHANGE_SUBSCRIPTIONS = "change_subscriptions"
    ENROLL = "enroll_member"
    UPSERT = "upsert_members"
    VIEW_HISTORY = "view_history"
    EXPORT_HISTORY = "export_history"

    @property
    def perm(self) -> str:
        return f"customers.{self.value}"


CAPABILITY_LABELS: dict[Capability, str] = {
    Capability.SEARCH: "Search members",
    Capability.VIEW_PROFILE: "View a member's profile",
    Capability.REGISTER: "Register members",
    Capability.EDIT_PROFILE: "Edit member profiles",
    Capability.CHANGE_IDENTIFIERS: "Change member identifiers",
    Capability.CHANGE_STATUS: "Change member status labels",
    Capability.CHANGE_SUBSCRIPTIONS: "Change member subscriptions",
    Capability.ENROLL: "Enroll members in loyalty programs",
    Capability.UPSERT: "Upsert and import members",
    Capability.VIEW_HISTORY: "View the change history",
    Capability.EXPORT_HISTORY: "Export the change history",
}

SUPPORT = "Support staff"
STORE_MANAGER = "Store manager"
AUDITOR = "Auditor"
# Not a role: marks the accounts `create_demo_accounts` made, refused at sign-in with DEBUG off.
DEMO_GROUP = "Demo accounts"

ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    SUPPORT: frozenset(
        {
            Capability.SEARCH,
            Capability.VIEW_PROFILE,
            Capability.REGISTER,
            Capability.EDIT_PROFILE,
            Capability.CHANGE_IDENTIFIERS,
            Capability.CHANGE_STATUS,
            Capability.CHANGE_SUBSCRIPTIONS,
            Capability.ENROLL,
            Capability.UPSERT,
            Capability.VIEW_HISTORY,
        }
    ),
    STORE_MANAGER: frozenset(
        {
            Capability.SEARCH,
            Capability.VIEW_PROFILE,
            Capability.REGISTER,
            Capability.CHANGE_SUBSCRIPTIONS,
            Capability.ENROLL,
        }
    ),
    AUDITOR: frozenset(
        {
            Capability.SEARCH,
            Capability.VIEW_PROFILE,
            Capability.VIEW_HISTORY,
            Capability.EXPORT_HISTORY,
        }
    ),
}
ROLES = tuple(ROLE_CAPABILITIES)
