"""Indonesian number formats: Rp 1.234.567, 1.234, 12,5%."""


def rupiah(value) -> str:
    if value in (None, ""):
        return "–"
    return "Rp " + f"{int(value):,}".replace(",", ".")


def angka(value) -> str:
    if value in (None, ""):
        return "–"
    return f"{int(value):,}".replace(",", ".")


def persen(value) -> str:
    if value in (None, ""):
        return "–"
    return f"{float(value):.1f}".replace(".", ",") + "%"
