"""GET /api/v1/worker/status/: am I protected, until when, what do I get, what to do after an accident.

Texts are plain Indonesian (English with Accept-Language: en). Benefit amounts follow
../shared/domain.md §3 (Permenaker 1/2025, PP 44/2015) and are repeated here only as explanations.
"""
import functools

from django.utils.translation import get_language
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from backend.i18n import tr_now
from sponsorship.billing.api.overview_serializers import WorkerStatusOut
from sponsorship.people.api.permissions import IsWorker
from sponsorship.people.models import Worker
from sponsorship.billing.selectors.overview import (SCHOLARSHIP_AFTER_MONTHS, worker_status_facts, worker_status_for_user,
                                            workers_for_status)


class WorkerStatusJWTAuthentication(JWTAuthentication):
    """simplejwt's JWTAuthentication, but the user comes with the worker's whole status in ONE query.

    The same checks as simplejwt (user exists, is active, password not changed when CHECK_REVOKE_TOKEN),
    then the profile (role) is already loaded for IsWorker and the worker row for the view. A token of a
    user who is not a worker falls back to simplejwt's own lookup, so the answers (403/404) stay the same.
    """

    def get_user(self, validated_token):
        user_id = validated_token.get(jwt_settings.USER_ID_CLAIM)
        if user_id is None or jwt_settings.USER_ID_FIELD != "id":
            return super().get_user(validated_token)
        worker = worker_status_for_user(user_id)
        if worker is None:
            return super().get_user(validated_token)
        user = worker.user
        if jwt_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        if jwt_settings.CHECK_REVOKE_TOKEN and \
                validated_token.get(jwt_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password):
            raise AuthenticationFailed("The user's password has been changed.", code="password_changed")
        user._status_worker = worker
        return user

STATE_LABELS = {
    "protected": ("Terlindungi", "Protected"),
    "grace": ("Masa tenggang: iuran belum dibayar", "Grace period: contribution unpaid"),
    "lapsed": ("Tidak aktif: kepesertaan berhenti", "Lapsed: membership ended"),
    "not_enrolled": ("Belum terdaftar/belum ada iuran", "Not enrolled yet"),
}




class WorkerStatusJWTScheme(SimpleJWTScheme):
    """Documents WorkerStatusJWTAuthentication as the same bearer JWT scheme as simplejwt's."""

    target_class = "sponsorship.billing.api.worker_status.WorkerStatusJWTAuthentication"
    name = "workerJwtAuth"

def rp(amount: int) -> str:
    return "Rp " + f"{int(amount):,}".replace(",", ".")


def _date(d) -> str:
    return d.strftime("%d-%m-%Y") if d else ""


def headline(f) -> str:
    if f.state == "protected":
        return tr_now(f"Anda terlindungi BPJS Ketenagakerjaan (JKK dan JKM) sampai {_date(f.protected_until)}.",
                      f"You are protected by BPJS Ketenagakerjaan (JKK and JKM) until {_date(f.protected_until)}.")
    if f.state == "grace":
        if f.protected_until is None:
            return tr_now("Iuran Anda sudah dibayar untuk bulan depan; perlindungan dimulai bulan itu.",
                          "Your contribution is paid from next month; protection starts then.")
        return tr_now(
            f"Iuran belum dibayar sejak {_date(f.protected_until)}. Selama belum dibayar Anda TIDAK terlindungi. "
            f"Tunggakan masih bisa dibayar sampai 3 bulan; pengampu Anda sudah diingatkan.",
            f"Contributions are unpaid since {_date(f.protected_until)}. Until they are paid you are NOT protected. "
            f"Arrears can still be paid for up to 3 months; your sponsor has been reminded.")
    if f.state == "lapsed":
        return tr_now("Kepesertaan Anda berhenti karena iuran tidak dibayar lebih dari 3 bulan. Hubungi admin "
                      "desa/OPD untuk didaftarkan kembali.",
                      "Your membership ended because contributions were unpaid for more than 3 months. Contact your "
                      "village or agency admin to re-enrol.")
    return tr_now("Anda belum terdaftar atau iuran pertama belum dibayar.",
                  "You are not enrolled yet, or the first contribution has not been paid.")


def programmes(f) -> list[dict]:
    income = f.declared_income_idr
    jkm_amount = 42_000_000 if f.jkm_full else 10_000_000
    jkm_rule = (tr_now(f"Anda sudah lebih dari 3 bulan menjadi peserta: santunan kematian penuh {rp(42_000_000)}.",
                       f"You have been a member for more than 3 months: the full death benefit of {rp(42_000_000)}.")
                if f.jkm_full else
                tr_now(f"Dalam 3 bulan pertama kepesertaan santunan kematian hanya {rp(10_000_000)}; setelah itu "
                       f"{rp(42_000_000)}. Anda peserta selama {f.months_of_membership} bulan.",
                       f"In the first 3 months of membership the death benefit is only {rp(10_000_000)}; after that "
                       f"{rp(42_000_000)}. You have been a member for {f.months_of_membership} months."))
    scholarship = (tr_now(f"Beasiswa untuk paling banyak 2 anak (sampai {rp(174_000_000)}) sudah berlaku: iuran Anda "
                          f"{f.contributions_to_date} bulan.",
                          f"The scholarship for up to 2 children (up to {rp(174_000_000)}) applies: you have "
                          f"{f.contributions_to_date} months of contributions.")
                   if f.scholarship_eligible else
                   tr_now(f"Beasiswa anak (paling banyak 2 anak, sampai {rp(174_000_000)}) berlaku setelah "
                          f"{SCHOLARSHIP_AFTER_MONTHS} bulan iuran; Anda baru {f.contributions_to_date} bulan (kurang "
                          f"{f.months_to_scholarship} bulan). Jika meninggal karena kecelakaan kerja, beasiswa tetap "
                          "diberikan tanpa syarat masa iuran.",
                          f"The children's scholarship (up to 2 children, up to {rp(174_000_000)}) applies after "
                          f"{SCHOLARSHIP_AFTER_MONTHS} months of contributions; you have {f.contributions_to_date} "
                          f"({f.months_to_scholarship} to go). After a death from a work accident it is paid regardless."))
    return [
        {"code": "JKK", "name": tr_now("Jaminan Kecelakaan Kerja", "Work Accident Insurance"),
         "summary": tr_now("Kecelakaan saat bekerja, termasuk di perjalanan berangkat dan pulang kerja.",
                           "Accidents at work, including the way to and from work."),
         "benefits": [
             tr_now("Perawatan dan pengobatan sesuai kebutuhan medis, tanpa batas biaya.",
                    "Medical treatment as needed, with no cost ceiling."),
             tr_now("Pengganti penghasilan selama tidak bisa bekerja: 100% selama 12 bulan pertama, lalu 50%.",
                    "Income replacement while unable to work: 100% for the first 12 months, then 50%."),
             tr_now(f"Cacat total tetap: 56 × penghasilan yang dilaporkan ({rp(56 * income)}).",
                    f"Total permanent disability: 56 × declared income ({rp(56 * income)})."),
             tr_now(f"Meninggal karena kecelakaan kerja: 48 × penghasilan yang dilaporkan ({rp(48 * income)}).",
                    f"Death from a work accident: 48 × declared income ({rp(48 * income)})."),
         ]},
        {"code": "JKM", "name": tr_now("Jaminan Kematian", "Death Insurance"),
         "summary": tr_now("Meninggal bukan karena kecelakaan kerja.", "Death not caused by a work accident."),
         "benefit_now_idr": jkm_amount if f.state == "protected" else 0,
         "benefits": [
             tr_now(f"Santunan {rp(42_000_000)}: santunan kematian Rp 20 juta, santunan berkala Rp 12 juta, biaya "
                    "pemakaman Rp 10 juta.",
                    f"{rp(42_000_000)} in total: Rp 20 million death benefit, Rp 12 million periodic benefit, "
                    "Rp 10 million funeral costs."),
             jkm_rule, scholarship,
         ]},
    ]


def after_accident() -> dict:
    """The same for every worker: built once per language (the caller must not change it)."""
    return _after_accident(get_language() or "id")


@functools.lru_cache(maxsize=8)
def _after_accident(language: str) -> dict:
    return {
        "title": tr_now("Jika terjadi kecelakaan kerja", "After a work accident"),
        "steps": [
            tr_now("Segera berobat ke rumah sakit/klinik terdekat, sebaiknya yang bekerja sama dengan BPJS "
                   "Ketenagakerjaan. Katakan Anda peserta BPJS Ketenagakerjaan dan tunjukkan e-KTP/kartu KPJ.",
                   "Get treatment at the nearest hospital or clinic, preferably one that works with BPJS "
                   "Ketenagakerjaan. Say you are a BPJS Ketenagakerjaan member and show your e-KTP/KPJ card."),
            tr_now("Laporkan kecelakaan ke BPJS Ketenagakerjaan paling lambat 2 × 24 jam: kantor cabang, aplikasi "
                   "JMO, atau layanan 175. Minta keluarga, pengampu, atau admin desa membantu bila perlu.",
                   "Report the accident to BPJS Ketenagakerjaan within 2 × 24 hours: a branch office, the JMO app "
                   "or the 175 hotline. Ask family, your sponsor or the village admin to help if needed."),
            tr_now("Siapkan dokumen, lalu ajukan klaim (paling lambat 5 tahun). Klaim dibayar paling lama 3 hari "
                   "kerja setelah berkas lengkap.",
                   "Prepare the documents, then claim (within 5 years). Claims are paid within 3 working days of "
                   "a complete file."),
        ],
        "documents": [
            tr_now("Kartu peserta BPJS Ketenagakerjaan (KPJ)", "BPJS Ketenagakerjaan membership card (KPJ)"),
            tr_now("e-KTP", "e-KTP (ID card)"), tr_now("Kartu Keluarga (KK)", "Family card (KK)"),
            tr_now("Keterangan saksi kejadian", "Witness statements"),
            tr_now("Laporan polisi untuk kecelakaan lalu lintas", "Police report for a traffic accident"),
            tr_now("Untuk klaim kematian: akta kematian dan surat keterangan ahli waris",
                   "For a death claim: death certificate and letter naming the heirs"),
        ],
    }


class WorkerStatusView(APIView):
    authentication_classes = [WorkerStatusJWTAuthentication, SessionAuthentication]
    permission_classes = [IsWorker]

    @extend_schema(responses=WorkerStatusOut, summary="The signed-in worker's protection: state, until when, benefits, what to do after an "
                           "accident")
    def get(self, request):
        worker = getattr(request.user, "_status_worker", None)  # loaded with the user by the JWT lookup
        if worker is None:  # session or test client: one more query
            worker = workers_for_status().filter(user=request.user).first()
        if worker is None:
            raise NotFound
        f = worker_status_facts(worker)
        return Response({
            "worker": {"first_name": worker.first_name, "kpj": worker.kpj or None},
            "state": f.state, "state_label": tr_now(*STATE_LABELS[f.state]), "headline": headline(f),
            "protected_until": f.protected_until, "next_due_date": f.next_due_date,
            "months_of_membership": f.months_of_membership, "months_of_contributions": f.contributions_to_date,
            "months_paid_ahead": max(f.months_paid_total - f.contributions_to_date, 0),
            "arrears_months": f.arrears_months,
            "rules": {"jkm_full_benefit": f.jkm_full, "scholarship_eligible": f.scholarship_eligible,
                      "months_to_scholarship": f.months_to_scholarship},
            "programmes": programmes(f), "after_accident": after_accident(),
            "sponsor_first_name": f.sponsor_first_name,
            "sponsor_text": tr_now(f"Iuran Anda dibayar oleh {f.sponsor_first_name}, ASN pengampu Anda.",
                                   f"Your contributions are paid by {f.sponsor_first_name}, your ASN sponsor.")
            if f.sponsor_first_name else tr_now("Iuran Anda dibayar oleh seorang ASN pengampu.",
                                                "Your contributions are paid by an ASN sponsor."),
        })
