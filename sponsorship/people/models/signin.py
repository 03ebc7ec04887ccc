"""Worker sign-in by NIK + date of birth and a one-time code."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .people import Worker


class WorkerSignInChallenge(models.Model):
    """One sign-in attempt by NIK + date of birth, waiting for its one-time code.

    A challenge is created for every well-formed request, also when the NIK is unknown or the date of
    birth is wrong (then `worker` is null and no code is sent), so the answer cannot tell them apart.
    """

    nik_hash = models.CharField(max_length=64, db_index=True)
    worker = models.ForeignKey(Worker, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=64, unique=True)
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("worker sign-in code")
        verbose_name_plural = _("worker sign-in codes")
        db_table = "sponsorship_workersigninchallenge"
        indexes = [models.Index(fields=["nik_hash", "created_at"])]

    def __str__(self):
        return f"challenge {self.pk} ({'used' if self.used_at else 'open'})"
