"""Sign-in with failures counted (per account and per client address), the forgot-password page
(its mail queued and sent by a background task) and the set-password page of mailed links."""

from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.urls import reverse_lazy
from django.utils.translation import get_language, ngettext, ngettext_lazy
from django.views.generic.edit import FormView

from registrar.core import throttle
from registrar.notify import password_links, tasks


def _account(login: str) -> str:
    """The account key a login is counted under (case and spaces do not make a new one)."""
    return (login or "").strip().casefold()


class ThrottledModelBackend(ModelBackend):
    """Django's backend (only users that are active today sign in, and sessions of those who no
    longer are end), refusing an account or a client address that failed too often: after the
    limit, even the right password is refused until the lock ends. Every sign-in path (the
    portal, the admin) goes through it. Unknown logins count too, so a lock tells nothing about
    whether an account exists."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return super().authenticate(request, username, password, **kwargs)
        account = _account(username)
        # Without a request (a call from code), only the account is counted.
        address = throttle.client_address(request) if request is not None else None
        per_account, per_address = throttle.rule("signin_account"), throttle.rule("signin_address")
        # Each attempt is counted before its password is checked: guesses sent in parallel are
        # refused past the limit, not all tried while none has failed yet.
        wait = throttle.reserve(per_account, account)
        if not wait and address is not None:
            wait = throttle.reserve(per_address, address)
            if wait:
                throttle.release(per_account, account)
        if wait:
            if request is not None:
                request.signin_retry_after = wait
            return None
        user = super().authenticate(request, username, password, **kwargs)
        if user is not None:
            throttle.clear(per_account, account)
            if address is not None:
                throttle.release(per_address, address)  # a success is not a failure
        return user


class SignInForm(AuthenticationForm):
    """The portal's sign-in form: says when sign-in is paused, and for how long."""

    def get_invalid_login_error(self):
        wait = getattr(self.request, "signin_retry_after", 0)
        if wait:
            self.retry_minutes = throttle.minutes(wait)
            return ValidationError(
                ngettext_lazy(
                    "Too many failed sign-ins. Try again in %(minutes)s minute.",
                    "Too many failed sign-ins. Try again in %(minutes)s minutes.",
                    "minutes",
                ),
                code="throttled",
                params={"minutes": self.retry_minutes},
            )
        return super().get_invalid_login_error()


class SignInView(auth_views.LoginView):
    """Django's sign-in page, with the throttle's rule shown."""

    authentication_form = SignInForm
    template_name = "portal/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        limits = throttle.rule("signin_account")
        return super().get_context_data(
            **kwargs,
            signin_limit=limits.limit,
            signin_window=throttle.minutes(int(limits.window)),
            signin_lockout=throttle.minutes(int(limits.lockout)),
        )


class ForgotPasswordForm(PasswordResetForm):
    """The forgot-password form: the same answer for any address; the mail is queued by a
    background task, never sent in the request."""

    def get_users(self, email):
        return password_links.users_for_email(email)

    def save(self, request=None, **kwargs) -> None:
        """Ask the worker to mail a link to the users of the address, at most
        REGISTRAR_RESETS_PER_EMAIL times a window (past that, nothing is queued: the page says
        the same)."""
        email = self.cleaned_data["email"]
        per_email = throttle.rule("reset_email")
        ident = email.strip().casefold()
        if throttle.retry_after(per_email, ident):
            return
        throttle.fail(per_email, ident)
        tasks.send_password_links.enqueue(email=email, language=get_language() or "")


class ForgotPasswordView(auth_views.PasswordResetView):
    """Django's forgot-password page; REGISTRAR_RESETS_PER_ADDRESS requests per client address
    a window."""

    form_class = ForgotPasswordForm
    template_name = "portal/forgot_password.html"
    success_url = reverse_lazy("portal:forgot_password_sent")

    def form_valid(self, form):
        per_address = throttle.rule("reset_address")
        address = throttle.client_address(self.request)
        wait = throttle.retry_after(per_address, address)
        if wait:
            n = throttle.minutes(wait)
            form.add_error(
                None,
                ngettext(
                    "Too many requests. Try again in %(minutes)s minute.",
                    "Too many requests. Try again in %(minutes)s minutes.",
                    n,
                )
                % {"minutes": n},
            )
            return self.form_invalid(form)
        throttle.fail(per_address, address)
        form.save(request=self.request)
        return FormView.form_valid(self, form)  # not Django's save(): it would mail inline


class ForgotPasswordSentView(auth_views.PasswordResetDoneView):
    template_name = "portal/forgot_password_sent.html"


class ChooseNewPasswordForm(SetPasswordForm):
    """Sets the password (and only it: nothing else of the user row is written), and lifts the
    account's sign-in lock: whoever holds the link holds the mailbox."""

    def save(self, commit: bool = True):
        user = self.user
        user.set_password(self.cleaned_data["new_password1"])
        user.must_change_password = False
        if commit:
            user.save(update_fields=["password", "must_change_password"])
            throttle.clear(throttle.rule("signin_account"), _account(user.get_username()))
        return user


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """Django's set-password page of a mailed link; a link of an account that may not sign in
    (disabled, not yet active, expired) is refused like a wrong one."""

    form_class = ChooseNewPasswordForm
    template_name = "portal/set_password.html"
    success_url = reverse_lazy("portal:set_password_done")

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None


class SetPasswordDoneView(auth_views.PasswordResetCompleteView):
    template_name = "portal/set_password_done.html"
