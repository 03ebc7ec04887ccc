"""Number formats for the dashboard, from the one formatter (backend.formats) in the page's language:
Rp 1.234.567, 1.234, 12,5% (English: Rp 1,234,567, 1,234, 12.5%)."""

from django import template

from backend import formats

register = template.Library()


@register.filter
def rupiah(value):
    return formats.rupiah(value)


@register.filter
def angka(value):
    return formats.number(value)


@register.filter
def persen(value):
    return formats.percent(value)


@register.filter
def bar_width(value):
    """A percentage clipped to 0–100 for inline progress bars, as CSS text ("18.2"): a float would be localized
    by the template engine to "18,2" under LANGUAGE_CODE=id, an invalid width that draws every bar full."""
    try:
        return f"{max(0.0, min(100.0, float(value))):.1f}"
    except (TypeError, ValueError):
        return "0"
