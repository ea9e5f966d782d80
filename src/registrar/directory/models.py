"""Organisations, users, audiences, roles and lists."""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from registrar.core.models import Journalled


class Organisation(Journalled):
    """A node of the organisation tree."""

    label = models.CharField(max_length=255)
    extid = models.CharField(max_length=100, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    disabled = models.BooleanField(default=False)
    description = models.TextField(blank=True, default="")
    language = models.CharField(max_length=20, blank=True, default="")
    address1 = models.CharField(max_length=255, blank=True, default="")
    address2 = models.CharField(max_length=255, blank=True, default="")
    zipcode = models.CharField(max_length=20, blank=True, default="")
    city = models.CharField(max_length=100, blank=True, default="")
    country = models.CharField(max_length=100, blank=True, default="")
    code = models.CharField(max_length=100, blank=True, default="")
    budget = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    supervisor = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.SET_NULL, related_name="supervised_orgs"
    )

    def __str__(self) -> str:
        return f"{self.label} ({self.extid})"


class UserManager(BaseUserManager):
    """Creates users and site administrators."""

    def create_user(self, login, password=None, **fields):
        if "organisation" not in fields and "organisation_id" not in fields:
            fields["organisation"] = Organisation.objects.get_or_create(
                extid="ROOT", defaults={"label": "Root"}
            )[0]
        user = self.model(login=login, **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, login, password=None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(login, password, **fields)


class User(Journalled, AbstractBaseUser, PermissionsMixin):
    """A person on the platform: a learner, and possibly an administrator."""

    class Title(models.TextChoices):
        MR = "M.", "M."
        MRS = "Mme", "Mme"
        MISS = "Mlle", "Mlle"
        DR = "Dr.", "Dr."
        PR = "Pr.", "Pr."

    class TwoFactor(models.TextChoices):
        DEFAULT = "default", "default"
        NEVER = "never", "never"
        FIRST_LOGIN_OF_DAY = "daily", "first login of the day"
        ALWAYS = "always", "always"

    login = models.CharField(max_length=150, unique=True)
    extid = models.CharField(max_length=100, unique=True, null=True, blank=True)
    email = models.CharField(max_length=254, blank=True, default="")
    last_name = models.CharField(max_length=150)
    first_name = models.CharField(max_length=150)
    title = models.CharField(max_length=5, choices=Title.choices, blank=True, default="")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="users")
    disabled = models.BooleanField(default=False)
    culture = models.CharField(max_length=10, blank=True, default="")
    birth_date = models.DateField(null=True, blank=True)
    activation_date = models.DateField(null=True, blank=True)
    expiration_date = models.DateField(null=True, blank=True)
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    alternate_manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    address1 = models.CharField(max_length=255, blank=True, default="")
    address2 = models.CharField(max_length=255, blank=True, default="")
    zipcode = models.CharField(max_length=20, blank=True, default="")
    city = models.CharField(max_length=100, blank=True, default="")
    country = models.CharField(max_length=100, blank=True, default="")
    phone = models.CharField(max_length=50, blank=True, default="")
    cellphone = models.CharField(max_length=50, blank=True, default="")
    hourly_cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    custom1 = models.CharField(max_length=255, blank=True, default="")
    custom2 = models.CharField(max_length=255, blank=True, default="")
    custom3 = models.CharField(max_length=255, blank=True, default="")
    custom4 = models.CharField(max_length=255, blank=True, default="")
    custom5 = models.CharField(max_length=255, blank=True, default="")
    custom6 = models.CharField(max_length=255, blank=True, default="")
    custom7 = models.CharField(max_length=255, blank=True, default="")
    custom8 = models.CharField(max_length=255, blank=True, default="")
    custom9 = models.CharField(max_length=255, blank=True, default="")
    custom10 = models.CharField(max_length=255, blank=True, default="")
    job_position = models.CharField(max_length=100, blank=True, default="")
    two_factor = models.CharField(
        max_length=10, choices=TwoFactor.choices, default=TwoFactor.DEFAULT
    )
    training_access = models.BooleanField(default=True)
    externally_managed = models.BooleanField(default=False)
    must_change_password = models.BooleanField(default=False)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    audiences = models.ManyToManyField(
        "Audience", through="UserAudience", related_name="users", blank=True
    )

    objects = UserManager()
    USERNAME_FIELD = "login"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["last_name", "first_name"]

    class Meta:
        indexes = [
            models.Index(Lower("email"), name="user_email_ci"),
            # The portal's users list, in name order (the disabled ones last), a page at a time.
            models.Index(
                fields=["disabled", "last_name", "first_name", "login"], name="user_name_order"
            ),
        ]

    def __str__(self) -> str:
        return self.login

    @property
    def is_active(self) -> bool:
        """Whether the account may use the platform today (platform time zone): not disabled,
        activated (activation date, if any, today or before) and not expired (expiration date,
        if any, today or later). Sign-in, sessions, API tokens and grants all check it."""
        if self.disabled:
            return False
        today = timezone.localdate()
        if self.activation_date and self.activation_date > today:
            return False
        return not (self.expiration_date and self.expiration_date < today)


class Audience(Journalled):
    """A named tag on users, courses and curricula."""

    name = models.CharField(max_length=150, unique=True)

    def __str__(self) -> str:
        return self.name


class UserAudience(Journalled):
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    audience = models.ForeignKey(Audience, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "audience"], name="uniq_user_audience")
        ]


class Role(Journalled):
    """A named set of permissions, given to users with an organisation scope."""

    name = models.CharField(max_length=150, unique=True)
    permissions = models.JSONField(default=list, blank=True)
    site_admin = models.BooleanField(default=False)
    content_admin = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.name


class RoleGrant(Journalled):
    """Role R given to user U over the subtree of organisation S (all when S is empty)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.ForeignKey(Role, on_delete=models.PROTECT)
    scope = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "scope"], name="uniq_role_grant")
        ]


class ListFolder(Journalled):
    name = models.CharField(max_length=150)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT)

    def __str__(self) -> str:
        return self.name


class UserList(Journalled):
    """A static (explicit members) or dynamic (criteria) list of users."""

    class Kind(models.TextChoices):
        STATIC = "static", "static"
        DYNAMIC = "dynamic", "dynamic"

    name = models.CharField(max_length=150, unique=True)
    description = models.TextField(blank=True, default="")
    folder = models.ForeignKey(ListFolder, on_delete=models.PROTECT)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STATIC)
    criteria = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return self.name


class ListMember(Journalled):
    user_list = models.ForeignKey(UserList, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_list", "user"], name="uniq_list_member")
        ]
