"""The login form of the dashboard and the Django admin: says "locked" rather than "wrong password" when the
shared lockout (lockout.py) refuses the username from this address."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from .lockout import client_ip, is_locked, locked_message


class _LockoutMixin:
    locked = ""

    def clean(self):
        username = self.cleaned_data.get("username")
        if username and is_locked(username, client_ip(self.request)):
            self.locked = locked_message()
            raise forms.ValidationError(self.locked, code="login_locked")
        return super().clean()


class LockoutAuthenticationForm(_LockoutMixin, AuthenticationForm):
    pass


class LockoutAdminAuthenticationForm(_LockoutMixin, AdminAuthenticationForm):
    pass
