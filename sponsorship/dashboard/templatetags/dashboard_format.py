"""Indonesian number formats for the dashboard: Rp 1.234.567, 12,5%."""
from django import template

from sponsorship.core import formats

register = template.Library()
register.filter("rupiah", formats.rupiah)
register.filter("angka", formats.angka)
register.filter("persen", formats.persen)


@register.filter
def bar_width(value):
    """A percentage clipped to 0–100 for inline progress bars, as CSS text ("18.2"): a float would be localized
    by the template engine to "18,2" under LANGUAGE_CODE=id, an invalid width that draws every bar full."""
    try:
        return f"{max(0.0, min(100.0, float(value))):.1f}"
    except (TypeError, ValueError):
        return "0"
