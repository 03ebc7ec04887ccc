"""BPJS registration results that came back rejected: the branch's reason and what the admin should do next.

The branch writes its reasons in free text; the advice is matched on keywords (first match wins) and falls back to
"contact the branch". Kept as a table so a branch's wording can be added without touching the import.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from sponsorship.people.identifiers import mask_nik

REJECTED = ("ditolak", "tolak", "rejected", "reject", "gagal", "failed", "tidakditerima")

ADVICE: tuple[tuple[tuple[str, ...], Promise], ...] = (
    (
        ("meninggal", "deceased", "wafat"),
        _("Reported deceased: check with the village office, then end the sponsorship."),
    ),
    (
        ("usia", "umur", "age"),
        _(
            "Over the age limit for new members: the worker cannot join through this scheme; end the "
            "sponsorship and refund the paid month."
        ),
    ),
    (
        ("ganda", "sudahterdaftar", "terdaftaraktif", "pesertaaktif", "duplicate", "already", "wadahlain"),
        _(
            "Already an active member through another payer or group: confirm with the worker, then end this "
            "sponsorship or ask the branch to move the membership. Never pay twice."
        ),
    ),
    (
        ("nik", "dukcapil", "kependudukan", "ktp"),
        _(
            "The NIK did not match the population registry (Dukcapil): check it against the worker's e-KTP and "
            "family card, correct the worker's data, and send the correction to the branch for the month already "
            "remitted."
        ),
    ),
    (
        ("lengkap", "incomplete", "data", "alamat", "nama", "tanggallahir"),
        _(
            "Incomplete or mismatched data (name, birth date, address): correct the worker's data as on the "
            "e-KTP, and send the correction to the branch for the month already remitted."
        ),
    ),
)
DEFAULT_ADVICE = _("Contact the BPJS Ketenagakerjaan branch with this reason and the worker's NIK.")


def _squash(text: str) -> str:
    return "".join(ch for ch in (text or "").lower() if ch.isalnum())


def is_rejected(status: str) -> bool:
    s = _squash(status)
    return bool(s) and any(s.startswith(word) or s == word for word in REJECTED)


def advice_for(reason: str) -> str:
    s = _squash(reason)
    for words, advice in ADVICE:
        if any(word in s for word in words):
            return str(advice)
    return str(DEFAULT_ADVICE)


@dataclass(frozen=True)
class Rejection:
    line: int
    worker_id: int
    nik: str  # masked
    reason: str
    advice: str

    def as_dict(self) -> dict:
        return {
            "line": self.line,
            "worker_id": self.worker_id,
            "nik": self.nik,
            "reason": self.reason,
            "advice": self.advice,
        }


def rejection(*, line: int, worker_id: int, nik: str, reason: str) -> Rejection:
    return Rejection(line, worker_id, mask_nik(nik), reason[:300], advice_for(reason))
