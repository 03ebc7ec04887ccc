"""Server-rendered HTML: the Snap payment page, the per-transaction pay page and a small dashboard.

No scripts, no external assets. Indonesian first, English underneath in smaller text.
"""

from __future__ import annotations

import hashlib
from html import escape

from . import catalog

CSS = """
body{font-family:system-ui,sans-serif;background:#f3f5f9;margin:0;color:#1d2433}
main{max-width:560px;margin:24px auto;background:#fff;border-radius:12px;padding:24px;box-shadow:0 2px 8px #0002}
h1{font-size:1.3rem;margin:0 0 4px} .en{color:#6b7385;font-size:.85em} .amount{font-size:1.8rem;font-weight:700}
table{width:100%;border-collapse:collapse;margin:12px 0} td{padding:4px 0;border-bottom:1px solid #eee}
td.r{text-align:right} .methods button{display:block;width:100%;text-align:left;margin:6px 0;padding:10px;
border:1px solid #ccd;border-radius:8px;background:#fff;cursor:pointer;font-size:1rem}
.box{background:#eef6ff;border-radius:8px;padding:12px;margin:12px 0} .code{font-family:monospace;font-size:1.4rem}
.btn{padding:10px 16px;border:0;border-radius:8px;font-size:1rem;cursor:pointer;margin-right:8px}
.pay{background:#1a7f37;color:#fff} .fail{background:#cf222e;color:#fff} .muted{color:#6b7385}
.banner{background:#fff3cd;padding:6px 10px;border-radius:6px;font-size:.85em}
"""

STATUS_TEXT = {
    "pending": ("Menunggu pembayaran", "Waiting for payment"),
    "settlement": ("Pembayaran berhasil", "Payment successful"),
    "expire": ("Kedaluwarsa", "Expired"),
    "deny": ("Pembayaran ditolak", "Payment denied"),
    "cancel": ("Dibatalkan", "Cancelled"),
    "refund": ("Dana dikembalikan", "Refunded"),
    "partial_refund": ("Dana dikembalikan sebagian", "Partially refunded"),
}


def rupiah(amount: int) -> str:
    return "Rp " + f"{amount:,}".replace(",", ".")


def bi(id_text: str, en_text: str) -> str:
    """Indonesian text with its English sub-label."""
    return f"{escape(id_text)}<br><span class=en>{escape(en_text)}</span>"


def layout(title: str, body: str) -> str:
    banner = bi(
        "Simulator Midtrans lokal — bukan pembayaran sungguhan", "Local Midtrans simulator — no real money moves"
    )
    return (
        f"<!doctype html><html lang=id><head><meta charset=utf-8><meta name=viewport "
        f"content='width=device-width,initial-scale=1'><title>{escape(title)}</title><style>{CSS}</style>"
        f"</head><body><main><p class=banner>{banner}</p>{body}</main></body></html>"
    )


def qr_svg(seed: str, size: int = 25) -> str:
    """A QR-looking placeholder (not a scannable code), deterministic per transaction."""
    bits = "".join(f"{b:08b}" for b in hashlib.sha512(seed.encode()).digest() * 2)
    cells = []
    corners = ((0, 0), (size - 7, 0), (0, size - 7))
    for y in range(size):
        for x in range(size):
            corner = next(((x - cx, y - cy) for cx, cy in corners if 0 <= x - cx < 7 and 0 <= y - cy < 7), None)
            if corner:  # the three finder squares
                fx, fy = corner
                on = fx in (0, 6) or fy in (0, 6) or (2 <= fx <= 4 and 2 <= fy <= 4)
            else:
                on = bits[(y * size + x) % len(bits)] == "1"
            if on:
                cells.append(f"<rect x='{x}' y='{y}' width='1' height='1'/>")
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='-2 -2 {size + 4} {size + 4}' width='200' "
        f"height='200' shape-rendering='crispEdges'><rect x='-2' y='-2' width='{size + 4}' "
        f"height='{size + 4}' fill='#fff'/>{''.join(cells)}</svg>"
    )


def _summary(order_id: str, amount: int, items: list) -> str:
    rows = "".join(
        f"<tr><td>{escape(str(i.get('name', '')))} × {escape(str(i.get('quantity', 1)))}</td>"
        f"<td class=r>{rupiah(int(i.get('price', 0)) * int(i.get('quantity', 1)))}</td></tr>"
        for i in items
    )
    return (
        f"<h1>{bi('Total pembayaran', 'Total amount')}</h1><div class=amount>{rupiah(amount)}</div>"
        f"<p class=muted>Order ID: <code>{escape(order_id)}</code></p>"
        + (f"<table><caption>{bi('Rincian', 'Items')}</caption>{rows}</table>" if rows else "")
    )


def payment_instructions(view: dict, method_key: str) -> str:
    """What to pay to: VA number, bill key, or a QR placeholder."""
    method = catalog.METHODS[method_key]
    if view.get("va_numbers") or view.get("permata_va_number"):
        assert method.bank is not None  # every bank_transfer method names its bank
        number = view.get("permata_va_number") or view["va_numbers"][0]["va_number"]
        return (
            f"<div class=box>{bi('Nomor Virtual Account ' + method.bank.upper(), 'Virtual account number')}"
            f"<div class=code>{escape(number)}</div></div>"
        )
    if view.get("bill_key"):
        return (
            f"<div class=box>{bi('Kode perusahaan / Biller code', 'Company code')}<div class=code>"
            f"{escape(view['biller_code'])}</div>{bi('Kode bayar / Bill key', 'Bill key')}<div class=code>"
            f"{escape(view['bill_key'])}</div></div>"
        )
    return (
        f"<div class=box>{bi('Pindai kode QR dengan aplikasi ' + method.label_id, 'Scan the QR code')}"
        f"<div>{qr_svg(view['transaction_id'])}</div><span class=en>(placeholder, not a real QR)</span></div>"
    )


def _pay_buttons(action_base: str) -> str:
    return (
        f"<form method=post action='{escape(action_base)}/pay' style='display:inline'>"
        f"<button class='btn pay'>Bayar (simulasi)<br><span style='font-size:.7em'>Pay (simulated)</span>"
        f"</button></form><form method=post action='{escape(action_base)}/fail' style='display:inline'>"
        f"<select name=outcome><option value=deny>ditolak / deny</option>"
        f"<option value=expire>kedaluwarsa / expire</option></select> "
        f"<button class='btn fail'>Gagalkan<br><span style='font-size:.7em'>Fail</span></button></form>"
    )


def status_block(view: dict) -> str:
    id_text, en_text = STATUS_TEXT.get(view["transaction_status"], (view["transaction_status"],) * 2)
    return f"<h2>{bi(id_text, en_text)}</h2>"


def snap_page(session: dict, problem: str | None, attempt_view: dict | None, attempt_method: str | None) -> str:
    token = session["token"]
    base = f"/snap/v4/redirection/{token}"
    parts = [_summary(session["order_id"], session["gross_amount"], session["items"])]
    finish = session.get("finish_url")
    if problem:
        parts.append(
            f"<h2>{bi('Sesi pembayaran tidak berlaku', 'Payment session is no longer valid')}</h2>"
            f"<p class=muted>{escape(problem)}</p>"
        )
    elif attempt_view and attempt_view["transaction_status"] != "deny":
        assert attempt_method is not None  # the server passes both or neither
        parts.append(status_block(attempt_view))
        parts.append(f"<p>{bi('Metode: ' + catalog.METHODS[attempt_method].label_id, 'Method')}</p>")
        if attempt_view["transaction_status"] == "pending":
            parts.append(payment_instructions(attempt_view, attempt_method))
            parts.append(f"<p>{bi('Bayar sebelum', 'Pay before')}: {escape(attempt_view['expiry_time'])} WIB</p>")
            parts.append(_pay_buttons(base))
    else:
        if attempt_view:
            denied = bi(
                "Pembayaran sebelumnya ditolak, silakan coba metode lain.",
                "The previous attempt was denied; choose a method again.",
            )
            parts.append(f"<p class=banner>{denied}</p>")
        buttons = "".join(
            f"<button name=method value='{m}'>{bi(catalog.METHODS[m].label_id, catalog.METHODS[m].label_en)}</button>"
            for m in session["enabled"]
        )
        parts.append(
            f"<h2>{bi('Pilih metode pembayaran', 'Choose a payment method')}</h2>"
            f"<form method=post action='{base}/choose' class=methods>{buttons or '—'}</form>"
        )
    if finish:
        parts.append(
            f"<p><a href='{escape(finish_link(session, attempt_view))}'>"
            f"{bi('Kembali ke merchant', 'Back to the merchant')}</a></p>"
        )
    return layout("Pembayaran", "".join(parts))


def finish_link(session: dict, view: dict | None) -> str:
    """callbacks.finish with the query Midtrans appends (a browser hint, not proof of payment)."""
    from urllib.parse import urlencode

    query = {
        "merchant_id": view["merchant_id"] if view else "",
        "order_id": session["order_id"],
        "status_code": view["status_code"] if view else "",
        "transaction_status": view["transaction_status"] if view else "",
    }
    sep = "&" if "?" in session["finish_url"] else "?"
    return session["finish_url"] + sep + urlencode(query)


def tx_page(view: dict, method_key: str) -> str:
    """Pay page for a Core charge (the gopay/shopeepay deeplink target; the VA simulator equivalent)."""
    parts = [_summary(view["order_id"], int(float(view["gross_amount"])), []), status_block(view)]
    if view["transaction_status"] == "pending":
        parts += [payment_instructions(view, method_key), _pay_buttons(f"/_sim/ui/tx/{view['transaction_id']}")]
    return layout("Pembayaran", "".join(parts))


def dashboard(views: list[dict]) -> str:
    rows = "".join(
        f"<tr><td><a href='/_sim/ui/tx/{escape(v['transaction_id'])}'>{escape(v['order_id'])}</a></td>"
        f"<td>{escape(v['payment_type'])}</td><td>{escape(v['transaction_status'])}</td>"
        f"<td class=r>{escape(v['gross_amount'])}</td><td>{escape(v['transaction_time'])}</td></tr>"
        for v in reversed(views)
    )
    pay_code = bi("Bayar dengan nomor VA / kode bayar", "Pay a VA number or bill key")
    form = (
        f"<form method=post action='/_sim/ui/pay-code'>{pay_code}"
        f"<br><input name=code required> <button class='btn pay'>Bayar / Pay</button></form>"
    )
    table = (
        (f"<table><tr><th>Order</th><th>Tipe</th><th>Status</th><th>Jumlah</th><th>Waktu (WIB)</th></tr>{rows}</table>")
        if rows
        else f"<p class=muted>{bi('Belum ada transaksi', 'No transactions yet')}</p>"
    )
    return layout("Simulator Midtrans", f"<h1>{bi('Simulator Midtrans', 'Midtrans simulator')}</h1>{form}{table}")


def message_page(id_text: str, en_text: str, status: int = 404) -> str:
    return layout("Simulator Midtrans", f"<h2>{bi(id_text, en_text)}</h2><p class=muted>HTTP {status}</p>")
