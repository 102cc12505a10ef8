"""Forms of the accounts app: sign-up, verification, invitations, and the login form."""

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from noisebank.accounts.roles import Role
from noisebank.accounts.signup import INVITABLE_ROLES, normalise_email


class SignupForm(forms.Form):
    name = forms.CharField(max_length=150, strip=True)
    email = forms.EmailField(max_length=254, label="E-mail address")
    organisation = forms.CharField(max_length=200, required=False, strip=True)
    password1 = forms.CharField(widget=forms.PasswordInput, label="Password", strip=False)
    password2 = forms.CharField(widget=forms.PasswordInput, label="Password again", strip=False)
    invite = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password2") != data.get("password1"):
            self.add_error("password2", "The two passwords differ.")
        return data


class VerifyForm(forms.Form):
    email = forms.EmailField(label="E-mail address")
    code = forms.CharField(max_length=20, label="Code from the e-mail", strip=True)


class ResendForm(forms.Form):
    email = forms.EmailField(label="E-mail address")


class InviteForm(forms.Form):
    emails = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label="E-mail addresses",
        help_text="One a line (or separated by commas).",
    )
    role = forms.TypedChoiceField(
        choices=[(int(r), r.group_name) for r in INVITABLE_ROLES],
        coerce=int,
        initial=int(Role.COLLECTOR),
    )

    def clean_emails(self) -> list[str]:
        raw = self.cleaned_data["emails"].replace(",", "\n").split()
        if not raw:
            raise ValidationError("Give at least one e-mail address.")
        field = forms.EmailField()
        bad = []
        for value in raw:
            try:
                field.clean(value)
            except ValidationError:
                bad.append(value)
        if bad:
            raise ValidationError(f"Not e-mail addresses: {', '.join(bad)}.")
        return list(dict.fromkeys(normalise_email(v) for v in raw))


class LoginForm(AuthenticationForm):
    """Django's, plus: an unverified account is told so, rather than 'wrong password'."""

    unverified = False

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError:
            login = (self.cleaned_data.get("username") or "").strip()
            password = self.cleaned_data.get("password") or ""
            user = (
                User.objects.filter(email__iexact=normalise_email(login)).first()
                if "@" in login
                else User.objects.filter(username=login).first()
            )
            if user is not None and not user.is_active and user.check_password(password):
                self.unverified = True
                url = reverse("verify") + "?email=" + user.email
                raise ValidationError(
                    format_html(
                        'Your e-mail address is not verified yet: <a href="{}">enter the code '
                        "we sent, or ask for a new one</a>.",
                        url,
                    ),
                    code="inactive",
                ) from None
            raise
