"""Push texts per kind, rendered in the recipient's language (Indonesian unless they chose English).

The English source is in the code, the Indonesian in locale/id/LC_MESSAGES/django.po. Placeholders are filled from
the notify() context; money and dates are formatted by backend.formats in the recipient's language (Rp1.250.000,
the short form for a phone's notification; "10 Juli 2026" / "10 July 2026"). A missing key renders as "-" rather
than failing a send: a slightly poorer text beats a lost reminder.
"""

import datetime as dt
import re
from dataclasses import dataclass

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from backend import formats


@dataclass(frozen=True)
class Template:
    title: Promise
    body: Promise


TEMPLATES: dict[str, Template] = {
    "invoice_issued": Template(
        _("Your %(period_label)s bill is ready"),
        _("Bill %(invoice_number)s for %(workers)s workers, %(amount_idr)s, is due on %(due_date)s."),
    ),
    "invoice_due_soon": Template(
        _("Bill due in %(days)s days"),
        _("Pay %(amount_idr)s by %(due_date)s to keep your %(workers)s workers protected."),
    ),
    "invoice_due_today": Template(
        _("Bill due today"),
        _("Bill %(invoice_number)s, %(amount_idr)s, is due today (%(due_date)s)."),
    ),
    "invoice_overdue": Template(
        _("Bill %(days)s days overdue"),
        _(
            "Bill %(invoice_number)s, %(amount_idr)s, has been unpaid since %(due_date)s. "
            "Your %(workers)s workers may lose their protection."
        ),
    ),
    "coverage_lapsing": Template(
        _("%(worker_name)s's protection is ending"),
        _("%(worker_name)s is protected until %(protected_until)s. Pay the bill so it does not lapse."),
    ),
    "payment_received": Template(
        _("Payment received"),
        _("Thank you, %(sponsor_name)s. We received %(amount_idr)s for bill %(invoice_number)s."),
    ),
    "matching_proposal": Template(
        _("A new worker proposal"),
        _("%(worker_name)s near you needs a sponsor. See the proposal in the app."),
    ),
    "worker_protected": Template(
        _("You are protected by BPJS Ketenagakerjaan"),
        _("Your premium is paid. You are protected until %(protected_until)s."),
    ),
    "worker_at_risk": Template(
        _("Your protection is at risk"),
        _("Your premium has been unpaid since %(due_date)s. You are protected until %(protected_until)s."),
    ),
    "worker_lapsed": Template(
        _("Your protection has lapsed"),
        _("The premium was not paid; your protection ended on %(protected_until)s. Contact your village officer."),
    ),
    "worker_new_sponsor": Template(
        _("You have a sponsor"),
        _("%(sponsor_name)s will pay your BPJS Ketenagakerjaan premium."),
    ),
    # life events (sponsorship/people/services/life_events.py)
    "worker_died_family": Template(
        _("Our condolences"),
        _(
            "%(worker_name)s was protected by BPJS Ketenagakerjaan. The family can claim the JKM death benefit of "
            "%(amount_idr)s at a BPJS Ketenagakerjaan office or in the JMO app: bring the KPJ card, e-KTP, KK, the "
            "death certificate and the heir letter. A work accident is reported to BPJS within 2x24 hours."
        ),
    ),
    "worker_died_family_scholarship": Template(
        _("Our condolences"),
        _(
            "%(worker_name)s was protected by BPJS Ketenagakerjaan. The family can claim the JKM death benefit of "
            "%(amount_idr)s and a scholarship for up to 2 children at a BPJS Ketenagakerjaan office or in the JMO "
            "app: bring the KPJ card, e-KTP, KK, the death certificate and the heir letter."
        ),
    ),
    "sponsored_worker_died": Template(
        _("%(worker_name)s has passed away"),
        _(
            "Thank you, %(sponsor_name)s, for protecting %(worker_name)s. The family has been told how to claim the "
            "benefit. Billing for %(worker_name)s has stopped; you can choose another worker in the app."
        ),
    ),
    "sponsorship_ended": Template(
        _("Your sponsorship of %(worker_name)s has ended"),
        _(
            "Thank you, %(sponsor_name)s. %(worker_name)s no longer needs your sponsorship and billing for them has "
            "stopped. You can choose another worker in the app."
        ),
    ),
    "worker_sponsor_left": Template(
        _("We are finding you a new sponsor"),
        _(
            "%(worker_name)s, your sponsor can no longer pay your premium. Paid months stay protected; we are "
            "finding you a new sponsor."
        ),
    ),
    # days of protection left (sponsorship/billing/protection_reminders.py)
    "protection_ending_sponsor": Template(
        _("%(worker_name)s's protection ends in %(days)s days"),
        _(
            "%(worker_name)s is protected by BPJS Ketenagakerjaan until %(protected_until)s. To keep the protection "
            "going, pay bill %(invoice_number)s (%(amount_idr)s) by %(due_date)s in the app."
        ),
    ),
    "protection_ending_no_bill": Template(
        _("%(worker_name)s's protection ends in %(days)s days"),
        _(
            "%(worker_name)s is protected by BPJS Ketenagakerjaan until %(protected_until)s. The next bill comes "
            "soon; pay it, or pay months ahead in the app, to keep the protection going."
        ),
    ),
    "protection_ending_worker": Template(
        _("Your protection ends in %(days)s days"),
        _(
            "Your BPJS protection ends in %(days)s days (%(protected_until)s). After that date an accident or a "
            "death is not covered. We are reminding your sponsor; you can also ask your village officer."
        ),
    ),
    "benefit_received_sponsor": Template(
        _("Your sponsorship helped %(worker_name)s's family"),
        _(
            "Thank you, %(sponsor_name)s. %(worker_name)s's family received the %(benefit)s benefit from BPJS "
            "Ketenagakerjaan on %(received_on)s, because the premium you paid kept them protected."
        ),
    ),
    # bridge fund and self-pay (sponsorship/billing/services/bridge.py, self_pay.py)
    "self_pay_link": Template(
        _("Keep your protection: pay %(period_label)s yourself"),
        _(
            "%(worker_name)s, no sponsor pays your BPJS Ketenagakerjaan premium for %(period_label)s. Pay "
            "%(amount_idr)s here by %(due_date)s: %(url)s . Or pay in the JMO app, at a BPJS Ketenagakerjaan office, "
            "or at a bank or PPOB outlet."
        ),
    ),
    "bridge_statement": Template(
        _("Bridge fund statement %(period_label)s"),
        _(
            "%(pool_name)s paid %(amount_idr)s for %(workers)s worker-months in %(period_label)s. "
            "Balance: %(balance)s. The statement is on the dashboard."
        ),
    ),
    # payday-aware reminders (sponsorship/billing/reminders.py: payday_requests)
    "payday_reminder": Template(
        _("Payday: time to pay your bill"),
        _(
            "Bill %(invoice_number)s, %(amount_idr)s for %(workers)s workers, is due on %(due_date)s. "
            "Pay it now while your pay is in."
        ),
    ),
    "prepay_thirteenth": Template(
        _("13th salary is in: pay %(months)s months at once?"),
        _("Prepay %(months)s months for your %(workers)s workers, %(amount_idr)s, and keep them protected."),
    ),
    "prepay_thr": Template(
        _("THR is in: pay %(months)s months at once?"),
        _("Prepay %(months)s months for your %(workers)s workers, %(amount_idr)s, and keep them protected."),
    ),
    "admin_digest": Template(
        _("Daily digest"),
        _("%(workers)s workers at risk, %(days)s bills overdue, %(amount_idr)s in total."),
    ),
    "tip": Template(
        _("A tip from Pengampu"),
        _("%(text)s"),
    ),
    "dtsen_round_due": Template(
        _("New DTSEN deciles are due"),
        _(
            "Import the new DTSEN ranking round for %(regency)s from the social office "
            "(last round: %(last_round)s). Matching uses the latest deciles."
        ),
    ),
    "ledger_alert": Template(
        _("Ledger check failed: %(regency)s"),
        _(
            "Last night's ledger check found %(violations)s problems (%(checks)s). "
            "Run manage.py check_ledger --regency %(regency_code)s for the details."
        ),
    ),
}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


class _Context(dict):
    def __missing__(self, key):
        return "-"


def _prepare(context: dict, language: str) -> _Context:
    out = _Context()
    for key, value in context.items():
        if value is None:
            continue
        if key == "amount_idr":
            out[key] = formats.rupiah(value, language, space=False)
        elif isinstance(value, (dt.date, dt.datetime)) or key in ("due_date", "protected_until"):
            out[key] = formats.date(value, language)
        else:
            out[key] = value
    return out


def render(kind: str, context: dict, language: str = "id") -> tuple[str, str]:
    """(title, body) for `kind` in `language` ('id' or 'en'). Unknown kinds raise KeyError."""
    template = TEMPLATES[kind]
    language = formats.language_of(language or "id")
    values = _prepare(context, language)
    with translation.override(language):
        return str(template.title) % values, str(template.body) % values


def render_params(kind: str, context: dict, language: str = "id") -> list[str]:
    """The body's placeholder values in the order they appear in `language`'s text.

    A WhatsApp template is approved per language with numbered parameters ({{1}}, {{2}}, ...) standing where this
    body has its placeholders, so the order follows the translated text, not the English one.
    """
    template = TEMPLATES[kind]
    language = formats.language_of(language or "id")
    values = _prepare(context, language)
    with translation.override(language):
        body = str(template.body)
    return [str(values[name]) for name in _PLACEHOLDER.findall(body)]
