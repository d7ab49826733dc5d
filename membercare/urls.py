from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("customers.urls")),
]

handler400 = "customers.console.views.bad_request"
handler403 = "customers.console.views.permission_denied"
handler404 = "customers.console.views.page_not_found"
handler500 = "customers.console.views.server_error"
