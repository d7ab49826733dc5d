from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("customers.urls")),
]

handler400 = "customers.views.bad_request"
handler403 = "customers.views.permission_denied"
handler404 = "customers.views.page_not_found"
handler500 = "customers.views.server_error"
