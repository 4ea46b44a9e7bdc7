"""The words reports use: bilingual labels (Indonesian first, then English) and formatting.

Every output format (csv, xlsx, html, text) takes its column headings and
value names from here, so the three formats of one report say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from types import MappingProxyType

MONTHS_ID = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
MONTH_NAMES_ID = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)

SEVERITIES: Mapping[str, str] = MappingProxyType({"major": "Mayor / major", "minor": "Minor / minor"})
CHANNELS: Mapping[str, str] = MappingProxyType(
    {
        "email": "Email / email",
        "phone": "Telepon / phone",
        "letter": "Surat / letter",
        "in-person": "Langsung / in person",
        "whatsapp": "WhatsApp, SMS / messaging",
        "social-media": "Media sosial / social media",
        "web": "Situs web / web form",
        "other": "Lainnya / other",
    }
)
STATUSES: Mapping[str, str] = MappingProxyType(
    {
        "new": "Baru / new",
        "assigned": "Diteruskan / assigned",
        "in_progress": "Diproses / in progress",
        "resolved": "Selesai / resolved",
        "closed": "Ditutup / closed",
    }
)
TARGET_STATUSES: Mapping[str, str] = MappingProxyType(
    {
        "met": "tepat / on time",
        "met-late": "terlambat / late",
        "overdue": "lewat / overdue",
        "pending": "berjalan / not yet due",
    }
)
EFFECTIVENESS: Mapping[str, str] = MappingProxyType(
    {
        "effective": "Efektif / effective",
        "not-effective": "Tidak efektif / not effective",
        "evaluated": "Dievaluasi (lihat catatan) / evaluated (see note)",
        "not-evaluated": "Belum dievaluasi / not evaluated",
    }
)
RECAP_STATES: Mapping[str, str] = MappingProxyType(
    {
        "imported": "Diterima / received",
        "refused": "Ditolak, perlu dikirim ulang / refused, to be sent again",
        "missing": "Belum dikirim / not sent",
    }
)
HEAD_OFFICE = "Kantor pusat (email) / head office (email)"
NO_PRODUCT = "(tanpa produk / no product)"

# The complaint form's fields (DOMAIN.md §2), in the order of the form and the register.
REGISTER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("reference", "Nomor / No."),
    ("received", "Tanggal diterima / Received"),
    ("customer_name", "Pelanggan / Customer"),
    ("organisation", "Organisasi / Organisation"),
    ("pic_phone", "Telepon PIC / PIC phone"),
    ("pic_email", "Email PIC / PIC email"),
    ("product_name", "Produk / Product"),
    ("channel", "Saluran / Channel"),
    ("branch_name", "Biro / Branch"),
    ("subject", "Perihal / Subject"),
    ("description", "Uraian keluhan / Description"),
    ("category", "Kategori / Category"),
    ("severity", "Tingkat / Severity"),
    ("department_name", "Departemen / Department"),
    ("root_cause", "Akar penyebab / Root cause"),
    ("corrective_action", "Tindakan perbaikan / Corrective action"),
    ("action_target", "Target tindakan / Action target"),
    ("preventive_action", "Tindakan pencegahan / Preventive action"),
    ("completed", "Tanggal selesai / Completed"),
    ("effectiveness", "Evaluasi efektivitas / Effectiveness"),
    ("status", "Status / Status"),
    ("closed_by", "Ditutup oleh / Closed by"),
    ("first_response_due", "Tenggat tanggapan / First response due"),
    ("first_responded_at", "Tanggapan pertama / First response"),
    ("first_response_status", "Tanggapan tepat waktu? / Response on time?"),
    ("resolution_due", "Tenggat penyelesaian / Resolution due"),
    ("resolution_status", "Selesai tepat waktu? / Resolved on time?"),
)


def month_title(year: int, month: int) -> str:
    """`Oktober 2026 / October 2026`."""
    english = date(year, month, 1).strftime("%B")
    indonesian = MONTH_NAMES_ID[month - 1]
    return f"{indonesian} {year}" if indonesian == english else f"{indonesian} {year} / {english} {year}"


def when(value: datetime | date | None, *, with_time: bool = True) -> str:
    """`05-10-2026 14:30` (local time as given), `05-10-2026` for dates, '' for nothing."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d-%m-%Y %H:%M" if with_time else "%d-%m-%Y")
    return value.strftime("%d-%m-%Y")


def share(value: float | None) -> str:
    """`87.5%`, or an en dash when nothing was measured."""
    return "–" if value is None else f"{value * 100:.1f}%".replace(".0%", "%")


def target_status(value: str | None) -> str:
    return TARGET_STATUSES.get(value, "") if value else "–"
