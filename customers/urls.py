from django.contrib.auth import views as auth_views
from django.urls import path, register_converter

from customers.console import views
from customers.history import views as history_views
from customers.imports import views as import_views
from customers.members import views as member_views


class CustomerIdConverter:
    """A customer id within Capillary's range (1 to 2**63-1): any other is the console's 404.

    Without it a 20-digit id reached the database and Capillary as an overflow (a 500).
    """

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= 2**63 - 1:
            raise ValueError(value)  # no match: the 404 page, Capillary is not asked
        return number

    def to_url(self, value: int | str) -> str:
        return str(value)


register_converter(CustomerIdConverter, "customer_id")

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("healthz/", views.health, name="health"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("customers/", member_views.search, name="search"),
    path("customers/suggest/", member_views.search_suggest, name="search_suggest"),
    path("customers/register/", member_views.register, name="register"),
    path("customers/register/check/", member_views.register_check, name="register_check"),
    path(
        "customers/register/receipt/<str:token>/",
        member_views.register_receipt,
        name="register_receipt",
    ),
    path("customers/<customer_id:customer_id>/", member_views.member, name="member"),
    path(
        "customers/<customer_id:customer_id>/edit/", member_views.edit_profile, name="member_edit"
    ),
    path("customers/<customer_id:customer_id>/card/", member_views.card, name="member_card"),
    path(
        "customers/<customer_id:customer_id>/edit/channel-row/",
        member_views.channel_row,
        name="member_channel_row",
    ),
    path("customers/<customer_id:customer_id>/enroll/", member_views.enroll, name="member_enroll"),
    path(
        "customers/<customer_id:customer_id>/identifiers/",
        member_views.identifiers,
        name="member_identifiers",
    ),
    path(
        "customers/<customer_id:customer_id>/subscriptions/",
        member_views.subscriptions,
        name="member_subscriptions",
    ),
    path("customers/<customer_id:customer_id>/status/", member_views.status, name="member_status"),
    path(
        "customers/<customer_id:customer_id>/capillary-audit/",
        member_views.capillary_audit,
        name="member_capillary_audit",
    ),
    path("history/", history_views.history, name="history"),
    path("history/export/", history_views.history_export, name="history_export"),
    path(
        "history/export/verifiable/",
        history_views.history_export_verifiable,
        name="history_export_verifiable",
    ),
    path("history/<int:pk>/", history_views.history_detail, name="history_detail"),
    path("upsert/", import_views.upsert, name="upsert"),
    path("imports/", import_views.imports_list, name="imports"),
    path("imports/new/", import_views.import_new, name="import_new"),
    path("imports/template.csv", import_views.import_template, name="import_template"),
    path("imports/example.csv", import_views.import_example, name="import_example"),
    path("imports/<int:job_id>/", import_views.import_detail, name="import_detail"),
    path(
        "imports/<int:job_id>/results.csv",
        import_views.import_results_csv,
        name="import_results_csv",
    ),
    path(
        "imports/<int:job_id>/to-fix.csv", import_views.import_failed_csv, name="import_failed_csv"
    ),
]
