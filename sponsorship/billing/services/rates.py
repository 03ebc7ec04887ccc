"""Premiums come out of the PremiumRate table, never from a constant.

`RateBook.load()` reads the table once; `book.premium(month, sector=..., funding_source=..., regency_id=...)`
picks the row valid on that month: a regency's own row before any national row (a regency that sets its own
rates gets them; national rows stay the default for every other regency), then the highest priority, then the
most specific (sector and funding source named rather than "any"), then the latest start.
"""

from dataclasses import dataclass

from sponsorship.billing.models import FundingSource, PremiumRate, Sector


@dataclass(frozen=True)
class Premium:
    rate_id: int | None
    jkk_idr: int
    jkm_idr: int
    jht_idr: int = 0

    @property
    def amount_idr(self) -> int:
        return self.jkk_idr + self.jkm_idr + self.jht_idr


class RateMissing(LookupError):
    pass


def _discounted(amount: int, pct: int) -> int:
    # Integer rupiah, half up: 6,800 × 50% = 3,400; never a float.
    return (amount * (100 - pct) + 50) // 100


def premium_from_row(row: PremiumRate, *, with_jht: bool = False) -> Premium:
    jkk = row.declared_income_idr * row.jkk_rate_bp // 10_000
    jht = row.declared_income_idr * row.jht_rate_bp // 10_000 if with_jht else 0
    return Premium(
        rate_id=row.pk,
        jkk_idr=_discounted(jkk, row.discount_pct),
        jkm_idr=_discounted(row.jkm_idr, row.discount_pct),
        jht_idr=jht,
    )


class RateBook:
    def __init__(self, rows):
        self.rows = list(rows)
        self._cache: dict = {}

    @classmethod
    def load(cls) -> "RateBook":
        return cls(PremiumRate.objects.all())

    def regencies_with_own_rates(self) -> set[int]:
        return {r.regency_id for r in self.rows if r.regency_id is not None}

    def row_for(self, month, *, sector: str, funding_source: str, regency_id: int | None = None) -> PremiumRate:
        key = (month, sector, funding_source, regency_id)
        if key not in self._cache:
            matches = [
                r
                for r in self.rows
                if r.regency_id in (None, regency_id)
                and r.valid_from <= month
                and (r.valid_to is None or r.valid_to >= month)
                and r.sector in (sector, Sector.ANY)
                and r.funding_source in (funding_source, FundingSource.ANY)
            ]
            if not matches:
                raise RateMissing(f"no premium rate for {month:%Y-%m} {sector}/{funding_source}")
            matches.sort(
                key=lambda r: (
                    r.regency_id is not None,
                    r.priority,
                    (r.sector != Sector.ANY) + (r.funding_source != FundingSource.ANY),
                    r.valid_from,
                ),
                reverse=True,
            )
            self._cache[key] = matches[0]
        return self._cache[key]

    def premium(
        self,
        month,
        *,
        sector: str,
        funding_source: str = FundingSource.SPONSOR,
        with_jht: bool = False,
        regency_id: int | None = None,
    ) -> Premium:
        row = self.row_for(month, sector=sector, funding_source=funding_source, regency_id=regency_id)
        return premium_from_row(row, with_jht=with_jht)


def sector_of(is_transport: bool) -> str:
    return Sector.TRANSPORT if is_transport else Sector.NON_TRANSPORT


def premium_for(
    *,
    month,
    is_transport: bool,
    funding_source: str = FundingSource.SPONSOR,
    with_jht: bool = False,
    regency_id: int | None = None,
) -> Premium:
    return RateBook.load().premium(
        month, sector=sector_of(is_transport), funding_source=funding_source, with_jht=with_jht, regency_id=regency_id
    )
