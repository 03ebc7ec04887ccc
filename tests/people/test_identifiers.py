import datetime as dt

import pytest
from django.utils import translation

from sponsorship.people.identifiers import (
    IdentifierError,
    mask_nik,
    mask_phone,
    normalize_kpj,
    normalize_phone,
    parse_nik,
    parse_nip,
)

TODAY = dt.date(2026, 11, 21)


class TestNik:
    def test_male_birth_date_and_region(self):
        info = parse_nik("3502171403850001", today=TODAY)
        assert info.birth_date == dt.date(1985, 3, 14)
        assert info.sex == "M"
        assert info.region_code == "35.02.17"

    def test_female_day_plus_40(self):
        info = parse_nik("3502175403850002", today=TODAY)  # 54 = 14 + 40
        assert (info.birth_date, info.sex) == (dt.date(1985, 3, 14), "F")

    def test_two_digit_year_in_this_century(self):
        assert parse_nik("3502170101050003", today=TODAY).birth_date == dt.date(2005, 1, 1)

    def test_spaces_and_dots_are_tolerated(self):
        assert parse_nik("3502 1714 0385 0001", today=TODAY).nik == "3502171403850001"

    @pytest.mark.parametrize(
        "value, fragment",
        [
            ("", "wajib"),
            ("35021714038500", "16 digit"),
            ("350217140385000123", "16 digit"),
            ("3502171403850A01", "angka"),
            ("0502171403850001", "wilayah"),  # province 05 does not exist
            ("3500171403850001", "wilayah"),  # regency 00
            ("3502173203850001", "Tanggal lahir"),  # day 32
            ("3502177203850001", "Tanggal lahir"),  # day 72-40 = 32
            ("3502171413850001", "Tanggal lahir"),  # month 13
            ("3502172902850001", "Tanggal lahir"),  # 29 Feb 1985
            ("3502171403850000", "0000"),
        ],
    )
    def test_broken_values_explain_the_problem(self, value, fragment):
        with pytest.raises(IdentifierError) as err:
            parse_nik(value, today=TODAY)
        assert fragment in str(err.value.message)

    def test_message_in_english_when_asked(self):
        with translation.override("en"):
            with pytest.raises(IdentifierError) as err:
                parse_nik("123", today=TODAY)
            assert "16 digits" in str(err.value.message)


class TestNip:
    def test_pns(self):
        info = parse_nip("198503142010031002", kind="pns", today=TODAY)
        assert (info.birth_date, info.sex, info.start) == (dt.date(1985, 3, 14), "M", "201003")

    def test_pppk_female(self):
        info = parse_nip("199001012023212005", kind="pppk", today=TODAY)
        assert (info.birth_date, info.sex, info.start) == (dt.date(1990, 1, 1), "F", "2023")

    @pytest.mark.parametrize(
        "value, kind, fragment",
        [
            ("19850314201003100", "pns", "18 digit"),
            ("198513142010031002", "pns", "Tanggal lahir"),
            ("198503142010131002", "pns", "TMT"),  # month 13
            ("198503141990031002", "pns", "TMT"),  # started at 5
            ("198503142010033002", "pns", "jenis kelamin"),
            ("198503142010031000", "pns", "000"),
            ("201503142035031002", "pns", "usia"),  # 11 years old
            ("199001011990212005", "pppk", "pengangkatan"),
        ],
    )
    def test_broken(self, value, kind, fragment):
        with pytest.raises(IdentifierError) as err:
            parse_nip(value, kind=kind, today=TODAY)
        assert fragment in str(err.value.message)

    def test_kind_is_explicit(self):
        with pytest.raises(IdentifierError):
            parse_nip("198503142010031002", kind="honorer", today=TODAY)


class TestPhone:
    @pytest.mark.parametrize(
        "value",
        ["081234567890", "6281234567890", "+6281234567890", "0812-3456-7890", "+62 812 3456 7890", "(0812) 3456.7890"],
    )
    def test_accepted_forms(self, value):
        assert normalize_phone(value) == "+6281234567890"

    @pytest.mark.parametrize(
        "value", ["", "0212345678", "+6581234567", "81234567890", "0812345", "08123456789012", "0812abc4567"]
    )
    def test_rejected(self, value):
        with pytest.raises(IdentifierError):
            normalize_phone(value)


def test_kpj():
    assert normalize_kpj("12345678901") == "12345678901"
    with pytest.raises(IdentifierError):
        normalize_kpj("1234")


def test_masks_keep_only_what_identifies_the_row():
    # The serial only: the region and birth-date digits can be learned elsewhere (issue 14, finding 2).
    assert mask_nik("3502171403850001") == "************0001"
    assert mask_phone("+6281234567890") == "+6281******890"
