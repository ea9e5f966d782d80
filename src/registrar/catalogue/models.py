"""The catalogue: programmes, curricula, courses, lessons, and what hangs on them."""

import uuid

from django.db import models

from registrar.core.models import Journalled


class Category(Journalled):
    name = models.CharField(max_length=150, unique=True)

    class Meta:
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Folder(Journalled):
    """A catalogue folder; `path` is the slash-joined names from the root."""

    name = models.CharField(max_length=150)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT)
    path = models.CharField(max_length=1000, unique=True)

    def __str__(self) -> str:
        return self.path


class CreditType(Journalled):
    name = models.CharField(max_length=150, unique=True)

    def __str__(self) -> str:
        return self.name


class Competency(Journalled):
    code = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=255)

    class Meta:
        verbose_name_plural = "competencies"

    def __str__(self) -> str:
        return self.name


class CertificateTemplate(Journalled):
    name = models.CharField(max_length=150, unique=True)
    version = models.PositiveIntegerField(default=1)
    body = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Content(Journalled):
    """Fields every catalogue item has."""

    code = models.CharField(max_length=100, unique=True)
    uuid = models.UUIDField(default=uuid.uuid4, unique=True)
    extref = models.CharField(max_length=100, blank=True, default="", db_index=True)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    published = models.BooleanField(default=False)
    disabled = models.BooleanField(default=False)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT)
    folder = models.ForeignKey(Folder, null=True, blank=True, on_delete=models.PROTECT)
    provider = models.CharField(max_length=150, blank=True, default="")
    modality = models.CharField(max_length=100, blank=True, default="")
    free_text1 = models.TextField(blank=True, default="")
    free_text2 = models.TextField(blank=True, default="")
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.code}: {self.title}"


class Programme(Content):
    audiences = models.ManyToManyField("directory.Audience", blank=True, related_name="programmes")


class Curriculum(Content):
    programmes = models.ManyToManyField(
        Programme, through="ProgrammeCurriculum", blank=True, related_name="curricula"
    )
    audiences = models.ManyToManyField("directory.Audience", blank=True, related_name="curricula")

    class Meta:
        verbose_name_plural = "curricula"


class ProgrammeCurriculum(Journalled):
    programme = models.ForeignKey(Programme, on_delete=models.CASCADE)
    curriculum = models.ForeignKey(Curriculum, on_delete=models.CASCADE)

    class Meta:
        verbose_name_plural = "programme curricula"
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "curriculum"], name="uniq_programme_curriculum"
            )
        ]


class Course(Content):
    class CourseType(models.TextChoices):
        AICC_SCORM = "aicc_scorm", "AICC-compatible SCORM"
        AICC = "aicc", "AICC only"
        SCORM = "scorm", "SCORM"
        CLASSROOM = "classroom", "classroom"

    class Protocol(models.TextChoices):
        HACP = "hacp", "AICC HACP"
        SCORM_API = "scorm_api", "SCORM API"

    class CmiMode(models.TextChoices):
        ALLOWED = "allowed", "allowed"
        NOT_ALLOWED = "not_allowed", "not allowed"
        SUSPEND = "suspend", "suspend"

    curricula = models.ManyToManyField(
        Curriculum, through="CurriculumCourse", blank=True, related_name="courses"
    )
    audiences = models.ManyToManyField("directory.Audience", blank=True, related_name="courses")
    self_enrolment = models.BooleanField(default=False)
    self_unenrolment = models.BooleanField(default=False)
    learners_may_clear = models.BooleanField(default=False)
    learners_may_recompute = models.BooleanField(default=False)
    sequential_lessons = models.BooleanField(default=True)
    lesson_prerequisites = models.BooleanField(default=False)
    course_type = models.CharField(
        max_length=20, choices=CourseType.choices, default=CourseType.AICC_SCORM
    )
    launch_protocol = models.CharField(
        max_length=20, choices=Protocol.choices, default=Protocol.SCORM_API
    )
    cmi_review = models.CharField(max_length=20, choices=CmiMode.choices, default=CmiMode.ALLOWED)
    cmi_browse = models.CharField(max_length=20, choices=CmiMode.choices, default=CmiMode.ALLOWED)
    window_width = models.PositiveIntegerField(null=True, blank=True)
    window_height = models.PositiveIntegerField(null=True, blank=True)
    full_screen = models.BooleanField(default=False)
    certificate_template = models.ForeignKey(
        CertificateTemplate, null=True, blank=True, on_delete=models.PROTECT
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sequential_lessons=True, lesson_prerequisites=False)
                | models.Q(sequential_lessons=False, lesson_prerequisites=True),
                name="course_sequential_xor_prerequisites",
            )
        ]


class CurriculumCourse(Journalled):
    curriculum = models.ForeignKey(Curriculum, on_delete=models.CASCADE)
    course = models.ForeignKey(Course, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["curriculum", "course"], name="uniq_curriculum_course")
        ]


class CourseCredit(Journalled):
    """Credits a course offers, per credit type."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="credits")
    credit_type = models.ForeignKey(CreditType, on_delete=models.PROTECT)
    amount = models.DecimalField(max_digits=8, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "credit_type"], name="uniq_course_credit")
        ]


class Lesson(Content):
    class LessonType(models.TextChoices):
        ASSIGNMENT = "A", "assignment"
        LESSON = "L", "lesson"
        WEBINAR = "W", "webinar"
        CLASSROOM = "T", "classroom activity"
        RESOURCE = "E", "educational resource"

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="lessons")
    lesson_type = models.CharField(
        max_length=1, choices=LessonType.choices, default=LessonType.LESSON
    )
    position = models.PositiveIntegerField(default=0)


class Exam(Journalled):
    code = models.CharField(max_length=100, unique=True)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return self.title


class ExamBlock(models.Model):
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="blocks")
    title = models.CharField(max_length=255)
    position = models.PositiveIntegerField(default=0)


class ExamQuestion(models.Model):
    block = models.ForeignKey(ExamBlock, on_delete=models.CASCADE, related_name="questions")
    title = models.CharField(max_length=255, blank=True, default="")
    text = models.TextField()
    media = models.CharField(max_length=500, blank=True, default="")
    max_score = models.DecimalField(max_digits=6, decimal_places=2, default=1)
    position = models.PositiveIntegerField(default=0)


class ClassroomSession(Journalled):
    """A dated run of a classroom course, with seats."""

    class Status(models.TextChoices):
        PREPARATION = "N", "in preparation"
        OPEN = "O", "open"
        CLOSED = "C", "closed"
        CLOSED_DONE = "D", "closed (done)"
        CANCELLED = "X", "cancelled"

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions")
    extid = models.CharField(max_length=100, unique=True)
    start = models.DateTimeField()
    status = models.CharField(max_length=1, choices=Status.choices, default=Status.PREPARATION)
    max_participants = models.PositiveIntegerField()
    immediate_confirmation = models.BooleanField(default=False)
    waiting_list = models.BooleanField(default=False)
    trainer = models.ForeignKey(
        "directory.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    extra_trainers = models.ManyToManyField(
        "directory.User", through="SessionTrainer", blank=True, related_name="+"
    )
    room_extid = models.CharField(max_length=100, blank=True, default="")
    manager = models.ForeignKey(
        "directory.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    organisations = models.ManyToManyField(
        "directory.Organisation", through="SessionOrganisation", blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return self.extid


class SessionTrainer(Journalled):
    """An extra trainer of a session (explicit, so that bulk writes are journalled and undone)."""

    session = models.ForeignKey(ClassroomSession, on_delete=models.CASCADE)
    user = models.ForeignKey("directory.User", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "user"], name="uniq_session_trainer")
        ]


class SessionOrganisation(Journalled):
    """An organisation a session is for (explicit, so that bulk writes are journalled and undone)."""

    session = models.ForeignKey(ClassroomSession, on_delete=models.CASCADE)
    organisation = models.ForeignKey(
        "directory.Organisation", on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "organisation"], name="uniq_session_organisation"
            )
        ]


class SessionSlot(Journalled):
    session = models.ForeignKey(ClassroomSession, on_delete=models.CASCADE, related_name="slots")
    lesson = models.ForeignKey(Lesson, on_delete=models.PROTECT)
    start = models.DateTimeField()
    end = models.DateTimeField()
