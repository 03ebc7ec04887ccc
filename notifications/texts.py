"""Push texts per kind, Indonesian first, English for users who chose it.

Templates use `str.format_map` with the notify() context; money and dates are formatted here
(Rp1.250.000; "10 Juli 2026" / "10 July 2026"). A missing key renders as "-" rather than failing
a send: a slightly poorer text beats a lost reminder.
"""
import datetime as dt
import functools
from dataclasses import dataclass

MONTHS_ID = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
             "Oktober", "November", "Desember"]
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December"]


@dataclass(frozen=True)
class Template:
    title_id: str
    body_id: str
    title_en: str
    body_en: str


TEMPLATES: dict[str, Template] = {
    "invoice_issued": Template(
        "Tagihan {period_label} terbit",
        "Tagihan {invoice_number} untuk {workers} pekerja sebesar {amount_idr} jatuh tempo {due_date}.",
        "Your {period_label} bill is ready",
        "Bill {invoice_number} for {workers} workers, {amount_idr}, is due on {due_date}.",
    ),
    "invoice_due_soon": Template(
        "Tagihan jatuh tempo {days} hari lagi",
        "Bayar {amount_idr} sebelum {due_date} agar perlindungan {workers} pekerja Anda tetap aktif.",
        "Bill due in {days} days",
        "Pay {amount_idr} by {due_date} to keep your {workers} workers protected.",
    ),
    "invoice_due_today": Template(
        "Tagihan jatuh tempo hari ini",
        "Tagihan {invoice_number} sebesar {amount_idr} jatuh tempo hari ini ({due_date}).",
        "Bill due today",
        "Bill {invoice_number}, {amount_idr}, is due today ({due_date}).",
    ),
    "invoice_overdue": Template(
        "Tagihan terlambat {days} hari",
        "Tagihan {invoice_number} sebesar {amount_idr} belum dibayar sejak {due_date}. "
        "Perlindungan {workers} pekerja Anda bisa berhenti.",
        "Bill {days} days overdue",
        "Bill {invoice_number}, {amount_idr}, has been unpaid since {due_date}. "
        "Your {workers} workers may lose their protection.",
    ),
    "coverage_lapsing": Template(
        "Perlindungan {worker_name} segera berakhir",
        "Perlindungan {worker_name} berlaku sampai {protected_until}. Bayar tagihan agar tidak terputus.",
        "{worker_name}'s protection is ending",
        "{worker_name} is protected until {protected_until}. Pay the bill so it does not lapse.",
    ),
    "payment_received": Template(
        "Pembayaran diterima",
        "Terima kasih, {sponsor_name}. Pembayaran {amount_idr} untuk tagihan {invoice_number} sudah kami terima.",
        "Payment received",
        "Thank you, {sponsor_name}. We received {amount_idr} for bill {invoice_number}.",
    ),
    "matching_proposal": Template(
        "Usulan pekerja baru",
        "{worker_name} di dekat Anda membutuhkan pengampu. Lihat usulan di aplikasi.",
        "A new worker proposal",
        "{worker_name} near you needs a sponsor. See the proposal in the app.",
    ),
    "worker_protected": Template(
        "Anda terlindungi BPJS Ketenagakerjaan",
        "Iuran Anda sudah dibayar. Anda terlindungi sampai {protected_until}.",
        "You are protected by BPJS Ketenagakerjaan",
        "Your premium is paid. You are protected until {protected_until}.",
    ),
    "worker_at_risk": Template(
        "Perlindungan Anda terancam",
        "Iuran Anda belum dibayar sejak {due_date}. Perlindungan berlaku sampai {protected_until}.",
        "Your protection is at risk",
        "Your premium has been unpaid since {due_date}. You are protected until {protected_until}.",
    ),
    "worker_lapsed": Template(
        "Perlindungan Anda berhenti",
        "Iuran tidak dibayar, perlindungan Anda berhenti sejak {protected_until}. Hubungi petugas desa.",
        "Your protection has lapsed",
        "The premium was not paid; your protection ended on {protected_until}. Contact your village officer.",
    ),
    "worker_new_sponsor": Template(
        "Anda mendapat pengampu",
        "{sponsor_name} akan membayar iuran BPJS Ketenagakerjaan Anda.",
        "You have a sponsor",
        "{sponsor_name} will pay your BPJS Ketenagakerjaan premium.",
    ),
    "admin_digest": Template(
        "Ringkasan harian",
        "{workers} pekerja terancam, {days} tagihan lewat jatuh tempo, total {amount_idr}.",
        "Daily digest",
        "{workers} workers at risk, {days} bills overdue, {amount_idr} in total.",
    ),
}


@functools.lru_cache(maxsize=4096)  # a fan-out repeats the same few amounts and dates thousands of times
def format_idr(amount) -> str:
    return "Rp" + f"{int(amount):,}".replace(",", ".")


def format_date(value, language: str) -> str:
    try:
        return _format_date_cached(value, language)
    except TypeError:  # unhashable: format without the cache
        return _format_date(value, language)


@functools.lru_cache(maxsize=4096)
def _format_date_cached(value, language: str) -> str:
    return _format_date(value, language)


def _format_date(value, language: str) -> str:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        value = value.date()
    months = MONTHS_EN if language == "en" else MONTHS_ID
    return f"{value.day} {months[value.month - 1]} {value.year}"


class _Context(dict):
    def __missing__(self, key):
        return "-"


def _prepare(context: dict, language: str) -> _Context:
    out = _Context()
    for key, value in context.items():
        if value is None:
            continue
        if key == "amount_idr":
            out[key] = format_idr(value)
        elif isinstance(value, (dt.date, dt.datetime)) or key in ("due_date", "protected_until"):
            out[key] = format_date(value, language)
        else:
            out[key] = value
    return out


def render(kind: str, context: dict, language: str = "id") -> tuple[str, str]:
    """(title, body) for `kind` in `language` ('id' or 'en'). Unknown kinds raise KeyError."""
    template = TEMPLATES[kind]
    language = "en" if (language or "id").lower().startswith("en") else "id"
    values = _prepare(context, language)
    if language == "en":
        return template.title_en.format_map(values), template.body_en.format_map(values)
    return template.title_id.format_map(values), template.body_id.format_map(values)
