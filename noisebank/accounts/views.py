"""Pages of the accounts app: log in, sign up, verify the e-mail address, invitations.

Password reset is Django's own views (noisebank/urls.py) with this site's templates.
"""

from typing import Any
from urllib.parse import urlencode

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from noisebank.accounts.forms import InviteForm, LoginForm, ResendForm, SignupForm, VerifyForm
from noisebank.accounts.models import Invitation
from noisebank.accounts.roles import Role, action_required
from noisebank.accounts.signup import (
    SignupRefused,
    account_signup,
    invitation_create,
    invitation_valid,
    signup_mode,
    verification_check_code,
    verification_check_link,
    verification_send,
)

BACKEND = "noisebank.accounts.backends.EmailOrUsernameBackend"
# Password reset e-mails a person may ask for an hour, and an address may receive.
RESETS_PER_HOUR = 5


class LoginView(auth_views.LoginView):
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "signup_mode": signup_mode()}


def _field_errors(form: Any, e: SignupRefused) -> None:
    form.add_error(e.field if e.field in form.fields else None, e.message)


@login_not_required
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    mode = signup_mode()
    token = request.POST.get("invite") if request.method == "POST" else request.GET.get("invite")
    token = (token or "").strip()
    invitation = None
    problem = None
    if token:
        try:
            invitation = invitation_valid(token)
        except SignupRefused as e:
            problem = e.message
    elif mode == "closed":
        problem = "Sign-up is closed on this Noisebank: ask an administrator for an account."
    elif mode == "invite":
        problem = (
            "Sign-up here is by invitation: ask an administrator to invite your e-mail address."
        )
    context: dict[str, Any] = {"mode": mode, "invitation": invitation, "problem": problem}
    # Closed (or by invitation only) is the site's rule: 403; a bad invitation link: 400.
    refused = 400 if token else 403
    if request.method != "POST":
        initial = {"invite": token, "email": invitation.email if invitation else ""}
        context["form"] = SignupForm(initial=initial)
        status = refused if problem else 200
        return render(request, "registration/signup.html", context, status=status)
    form = SignupForm(request.POST)
    context["form"] = form
    if problem:
        return render(request, "registration/signup.html", context, status=refused)
    if not form.is_valid():
        return render(request, "registration/signup.html", context, status=400)
    data = form.cleaned_data
    try:
        user = account_signup(
            name=data["name"],
            email=data["email"],
            password=data["password1"],
            organisation=data["organisation"],
            invitation_token=token,
        )
    except SignupRefused as e:
        _field_errors(form, e)
        return render(request, "registration/signup.html", context, status=e.status)
    if user.is_active:  # invited: the invitation's link proved the address
        login(request, user, backend=BACKEND)
        messages.success(request, f"Welcome, {user.first_name}. Your user name is {user.username}.")
        return redirect(settings.LOGIN_REDIRECT_URL)
    messages.success(
        request,
        f"We sent a code to {user.email}. Enter it below, or open the link in the e-mail.",
    )
    return redirect(reverse("verify") + "?" + urlencode({"email": user.email}))


def _welcome(request: HttpRequest, user: Any) -> HttpResponse:
    login(request, user, backend=BACKEND)
    messages.success(
        request,
        f"Your e-mail address is verified. Welcome, {user.first_name or user.username}: your "
        f"user name is {user.username}. Upload your first recording here.",
    )
    return redirect("recording-upload")


@login_not_required
def verify(request: HttpRequest) -> HttpResponse:
    """Enter the code from the e-mail (or ask for a new one)."""
    if request.method != "POST":
        form = VerifyForm(initial={"email": request.GET.get("email", "")})
        return render(request, "registration/verify.html", {"form": form})
    form = VerifyForm(request.POST)
    if not form.is_valid():
        return render(request, "registration/verify.html", {"form": form}, status=400)
    try:
        user = verification_check_code(
            email=form.cleaned_data["email"], code=form.cleaned_data["code"]
        )
    except SignupRefused as e:
        _field_errors(form, e)
        return render(request, "registration/verify.html", {"form": form}, status=400)
    return _welcome(request, user)


@login_not_required
def verify_link(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the e-mail. A GET only shows a button: mail scanners that open links must
    not use up the link."""
    try:
        user = verification_check_link(token, use=request.method == "POST")
    except SignupRefused as e:
        return render(request, "registration/verify_link.html", {"problem": e.message}, status=400)
    if request.method != "POST":
        return render(request, "registration/verify_link.html", {"pending": user})
    return _welcome(request, user)


@require_POST
@login_not_required
def verify_resend(request: HttpRequest) -> HttpResponse:
    form = ResendForm(request.POST)
    back = reverse("verify") + "?" + urlencode({"email": request.POST.get("email", "")})
    if not form.is_valid():
        messages.error(request, "Give the e-mail address you signed up with.")
        return redirect(back)
    user = User.objects.filter(email__iexact=form.cleaned_data["email"], is_active=False).first()
    if user is None:
        # The same answer whether or not the address signed up: no account list by probing.
        messages.info(
            request, "If a sign-up is waiting for that address, a new code is on its way."
        )
        return redirect(back)
    try:
        verification_send(user)
    except SignupRefused as e:
        messages.error(request, e.message)
        return redirect(back)
    messages.success(
        request, f"A new code is on its way to {user.email}; the old one no longer works."
    )
    return redirect(back)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, refusing more than RESETS_PER_HOUR e-mails an hour to one address or from one
    client: the form would otherwise mail anyone as often as asked."""

    def form_valid(self, form: Any) -> HttpResponse:
        email = form.cleaned_data["email"].strip().lower()
        client = self.request.META.get("REMOTE_ADDR", "")
        keys = [f"noisebank:reset:email:{email}", f"noisebank:reset:client:{client}"]
        for key in keys:
            cache.add(key, 0, 3600)
            if cache.incr(key) > RESETS_PER_HOUR:
                form.add_error(
                    "email",
                    "Too many password reset e-mails were asked for within the hour: try again "
                    "later, or ask an administrator.",
                )
                return self.form_invalid(form)
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's; a new password also ends a log-in pause (django-axes) for that account, as the
    pause page promises: whoever read the reset e-mail owns it."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        user = form.user
        for name in {user.get_username(), user.email}:  # one logs in by either
            if name:
                axes_reset(username=name)
        return response


@action_required("administer")
def invitations(request: HttpRequest) -> HttpResponse:
    """Invite people by e-mail (each gets a link to sign up in the chosen role)."""
    form = InviteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            sent, refused = [], []
            for email in form.cleaned_data["emails"]:
                try:
                    invitation_create(
                        email=email,
                        role=Role(form.cleaned_data["role"]),
                        invited_by=request.user,  # type: ignore[arg-type]
                    )
                except SignupRefused as e:
                    refused.append(e.message)
                else:
                    sent.append(email)
            if sent:
                messages.success(request, f"Invitation sent to {', '.join(sent)}.")
            for message in refused:
                messages.warning(request, message)
            return redirect("invitations")
        status = 400
    return render(
        request,
        "registration/invitations.html",
        {
            "form": form,
            "mode": signup_mode(),
            "invitations": Invitation.objects.select_related("invited_by", "user")[:100],
            "roles": {int(r): r.group_name for r in Role},
        },
        status=status,
    )
