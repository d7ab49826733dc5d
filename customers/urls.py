from django.contrib.auth import views as auth_views
from django.urls import path

from customers import history_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("history/", history_views.history, name="history"),
    path("history/export/", history_views.history_export, name="history_export"),
    path("history/<int:pk>/", history_views.history_detail, name="history_detail"),
]
