"""Assignments, records and attempts, credits, certificates, competencies, exams, seats, passports."""

from django.db import models
from django.utils import timezone

from registrar.core.models import Journalled


class Option(models.TextChoices):
    FREE = "free", "free"
    RECOMMENDED = "recommended", "recommended"
    MANDATORY = "mandatory", "mandatory"


class BillingMode(models.TextChoices):
    BY_COURSE = "course", "by course"
    BY_HOUR = "hour", "by hour"
    NOT_BILLED = "none", "not billed"
    PREPAID = "prepaid", "prepaid account"


class Source(models.TextChoices):
    LEARNER = "learner", "learner"
    IMPORT = "import", "import"
    ACTION = "action", "action"
    TRANSFER = "transfer", "transfer"
    MERGE = "merge", "merge"
    LIST = "list", "list access"
    SELF = "self", "self"


class CourseStatus(models.TextChoices):
    NOT_STARTED = "N", "not started"
    IN_PROGRESS = "I", "in progress"
    COMPLETED = "C", "completed"


class LessonStatus(models.TextChoices):
    NOT_STARTED = "N", "not started"
    BROWSED = "B", "browsed"
    FAILED = "F", "failed"
    IN_PROGRESS = "I", "in progress"
    PASSED = "P", "passed"
    COMPLETED = "C", "completed"


# Tables with a unique (user, X) constraint do not index `user` alone: the constraint's index
# serves every lookup by user, and each extra index costs every bulk insert.


class AssignmentBase(Journalled):
    option = models.CharField(max_length=12, choices=Option.choices, default=Option.FREE)
    start_date = models.DateField(null=True, blank=True)
    target_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    billing_mode = models.CharField(
        max_length=10, choices=BillingMode.choices, blank=True, default=""
    )
    billing_code = models.CharField(max_length=100, blank=True, default="")
    unit_cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.IMPORT)
    # Indexed only where set (tutors_index): most assignments have no tutors, and an index entry
    # for each NULL would cost every assignment written.
    tutors = models.ForeignKey(
        "directory.UserList",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


def tutors_index(name: str) -> models.Index:
    """The assignments that name a tutors list (the rest have none to find)."""
    return models.Index(fields=["tutors"], condition=models.Q(tutors__isnull=False), name=name)


class CourseAssignment(AssignmentBase):
    user = models.ForeignKey(
        "directory.User",
        on_delete=models.PROTECT,
        related_name="course_assignments",
        db_index=False,
    )
    course = models.ForeignKey(
        "catalogue.Course", on_delete=models.PROTECT, related_name="assignments"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="uniq_course_assignment")
        ]
        indexes = [tutors_index("course_asg_tutors")]


class CurriculumAssignment(AssignmentBase):
    user = models.ForeignKey(
        "directory.User",
        on_delete=models.PROTECT,
        related_name="curriculum_assignments",
        db_index=False,
    )
    curriculum = models.ForeignKey(
        "catalogue.Curriculum", on_delete=models.PROTECT, related_name="assignments"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "curriculum"], name="uniq_curriculum_assignment"
            )
        ]
        indexes = [tutors_index("curriculum_asg_tutors")]


class ProgrammeAssignment(AssignmentBase):
    user = models.ForeignKey(
        "directory.User",
        on_delete=models.PROTECT,
        related_name="programme_assignments",
        db_index=False,
    )
    programme = models.ForeignKey(
        "catalogue.Programme", on_delete=models.PROTECT, related_name="assignments"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "programme"], name="uniq_programme_assignment")
        ]
        indexes = [tutors_index("programme_asg_tutors")]


class RecordBase(Journalled):
    status_date = models.DateTimeField(null=True, blank=True)
    score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    time_spent = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    completion_percent = models.PositiveSmallIntegerField(default=0)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.LEARNER)

    class Meta:
        abstract = True


class CourseRecord(RecordBase):
    """A user's status on a course. `legacy`: imported by the global importer, outside accreditation."""

    user = models.ForeignKey(
        "directory.User", on_delete=models.PROTECT, related_name="course_records", db_index=False
    )
    course = models.ForeignKey("catalogue.Course", on_delete=models.PROTECT, related_name="records")
    status = models.CharField(
        max_length=1, choices=CourseStatus.choices, default=CourseStatus.NOT_STARTED
    )
    enrolled_date = models.DateField(null=True, blank=True)
    legacy = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="uniq_course_record")
        ]


class LessonRecord(RecordBase):
    user = models.ForeignKey(
        "directory.User", on_delete=models.PROTECT, related_name="lesson_records", db_index=False
    )
    lesson = models.ForeignKey("catalogue.Lesson", on_delete=models.PROTECT, related_name="records")
    status = models.CharField(
        max_length=1, choices=LessonStatus.choices, default=LessonStatus.NOT_STARTED
    )
    present = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "lesson"], name="uniq_lesson_record")
        ]


class LessonAttempt(Journalled):
    """One session of a learner on a lesson."""

    record = models.ForeignKey(LessonRecord, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=1, choices=LessonStatus.choices)
    status_date = models.DateTimeField(null=True, blank=True)
    score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    time_spent = models.PositiveIntegerField(default=0)
    present = models.BooleanField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.LEARNER)


class CurriculumRecord(RecordBase):
    user = models.ForeignKey(
        "directory.User",
        on_delete=models.PROTECT,
        related_name="curriculum_records",
        db_index=False,
    )
    curriculum = models.ForeignKey(
        "catalogue.Curriculum", on_delete=models.PROTECT, related_name="records"
    )
    status = models.CharField(
        max_length=1, choices=CourseStatus.choices, default=CourseStatus.NOT_STARTED
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "curriculum"], name="uniq_curriculum_record")
        ]


class ProgrammeRecord(RecordBase):
    user = models.ForeignKey(
        "directory.User", on_delete=models.PROTECT, related_name="programme_records", db_index=False
    )
    programme = models.ForeignKey(
        "catalogue.Programme", on_delete=models.PROTECT, related_name="records"
    )
    status = models.CharField(
        max_length=1, choices=CourseStatus.choices, default=CourseStatus.NOT_STARTED
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "programme"], name="uniq_programme_record")
        ]


class RecordHistory(Journalled):
    """A record that lost to a better one (merge, transfer) or was reset: kept for the learner's history."""

    user = models.ForeignKey(
        "directory.User", on_delete=models.CASCADE, related_name="record_history"
    )
    course = models.ForeignKey("catalogue.Course", null=True, blank=True, on_delete=models.CASCADE)
    lesson = models.ForeignKey("catalogue.Lesson", null=True, blank=True, on_delete=models.CASCADE)
    status = models.CharField(max_length=1)
    status_date = models.DateTimeField(null=True, blank=True)
    score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    reason = models.CharField(max_length=50)
    archived_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "record histories"


class CreditAward(Journalled):
    user = models.ForeignKey(
        "directory.User", on_delete=models.PROTECT, related_name="credit_awards", db_index=False
    )
    course = models.ForeignKey("catalogue.Course", on_delete=models.PROTECT)
    credit_type = models.ForeignKey("catalogue.CreditType", on_delete=models.PROTECT)
    amount = models.DecimalField(max_digits=8, decimal_places=2)
    awarded_on = models.DateField()
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.LEARNER)
    legacy = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "course", "credit_type"], name="uniq_credit_award"
            )
        ]


class Certificate(Journalled):
    user = models.ForeignKey(
        "directory.User", on_delete=models.PROTECT, related_name="certificates"
    )
    course = models.ForeignKey("catalogue.Course", on_delete=models.PROTECT)
    template = models.ForeignKey("catalogue.CertificateTemplate", on_delete=models.PROTECT)
    template_version = models.PositiveIntegerField()
    issued_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.LEARNER)


class CompetencyScore(Journalled):
    """A score per competency, or not evaluated (score empty)."""

    user = models.ForeignKey(
        "directory.User", on_delete=models.CASCADE, related_name="competency_scores"
    )
    competency = models.ForeignKey("catalogue.Competency", on_delete=models.PROTECT)
    score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    not_evaluated = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "competency"], name="uniq_competency_score")
        ]


class ExamResultSession(Journalled):
    exam = models.ForeignKey(
        "catalogue.Exam", on_delete=models.PROTECT, related_name="result_sessions"
    )
    user = models.ForeignKey(
        "directory.User", on_delete=models.PROTECT, related_name="exam_sessions"
    )
    started_at = models.DateTimeField(default=timezone.now)
    score = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)


class ExamAnswer(Journalled):
    session = models.ForeignKey(ExamResultSession, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey("catalogue.ExamQuestion", on_delete=models.PROTECT)
    answer = models.TextField(blank=True, default="")
    score = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)


class Seat(Journalled):
    class Status(models.TextChoices):
        BOOKED = "booked", "booked"
        WAITING = "waiting", "waiting"
        ATTENDED = "attended", "attended"
        ABSENT = "absent", "absent"

    session = models.ForeignKey(
        "catalogue.ClassroomSession", on_delete=models.PROTECT, related_name="seats"
    )
    user = models.ForeignKey("directory.User", on_delete=models.PROTECT, related_name="seats")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BOOKED)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="uniq_seat")]


class ExternalTraining(Journalled):
    """A training done elsewhere, on the learner's passport."""

    user = models.ForeignKey(
        "directory.User", on_delete=models.PROTECT, related_name="external_trainings"
    )
    course_name = models.CharField(max_length=255)
    course_code = models.CharField(max_length=100, blank=True, default="")
    passport_type = models.CharField(max_length=100, blank=True, default="")
    start_date = models.DateField()
    end_date = models.DateField()
    provider = models.CharField(max_length=150, blank=True, default="")
    duration = models.CharField(max_length=50, blank=True, default="")
    modality = models.CharField(max_length=100, blank=True, default="")


class AccessProperty(Journalled):
    """A list access property (SPEC §5): the members of `user_list` may see the course or the
    curriculum (only they, when `restrict`); with `assign_members`, each member is assigned to it
    as they enter the list, with `option` and fixed dates or delays from their entry date."""

    course = models.ForeignKey(
        "catalogue.Course",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="access_properties",
    )
    curriculum = models.ForeignKey(
        "catalogue.Curriculum",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="access_properties",
    )
    user_list = models.ForeignKey(
        "directory.UserList", on_delete=models.CASCADE, related_name="access_properties"
    )
    restrict = models.BooleanField(default=True)
    assign_members = models.BooleanField(default=False)
    option = models.CharField(max_length=12, choices=Option.choices, default=Option.FREE)
    start_date = models.DateField(null=True, blank=True)
    target_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    start_delay_days = models.PositiveIntegerField(null=True, blank=True)
    target_delay_days = models.PositiveIntegerField(null=True, blank=True)
    end_delay_days = models.PositiveIntegerField(null=True, blank=True)
    effective_now = models.BooleanField(default=True)
    apply_to_courses = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "access properties"
        constraints = [
            models.UniqueConstraint(fields=["course", "user_list"], name="uniq_course_access"),
            models.UniqueConstraint(
                fields=["curriculum", "user_list"], name="uniq_curriculum_access"
            ),
            models.CheckConstraint(
                condition=models.Q(course__isnull=False, curriculum__isnull=True)
                | models.Q(course__isnull=True, curriculum__isnull=False),
                name="access_property_one_content",
            ),
        ]


class AccessEntry(Journalled):
    """A member of a dynamic list that an access property has seen enter it (the criteria
    evaluated): assigned then, never again while the entry stays."""

    access_property = models.ForeignKey(
        AccessProperty, on_delete=models.CASCADE, related_name="entries"
    )
    user = models.ForeignKey("directory.User", on_delete=models.CASCADE, related_name="+")
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "access entries"
        constraints = [
            models.UniqueConstraint(fields=["access_property", "user"], name="uniq_access_entry")
        ]
