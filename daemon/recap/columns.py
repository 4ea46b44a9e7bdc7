"""The recap's vocabulary: its columns, their header aliases, and the words its cells may hold.

The template writes these headers and drop-down lists; the reader finds columns
by them; validation maps cell words to the values a ticket stores. Keeping the
three in one table means a column added here appears in all of them.

Header matching compares *header keys*: the folded words of a header (case,
accents, spacing and punctuation ignored), so `Tgl. Diterima`, `TGL DITERIMA`
and `tgl_diterima` are one key. A header cell is also tried piece by piece
(before and inside brackets, either side of `/`), so the template's own
`Tanggal Diterima (Date received)` and a branch's `Tanggal / Date` both match.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from daemon.route.words import word_tokens


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    """The field name in `RecapRow`."""
    indonesian: str
    english: str
    aliases: tuple[str, ...] = ()
    width: int = 16
    explanation: str = ""
    """What to enter, Indonesian / English, for the instructions sheet."""

    @property
    def header(self) -> str:
        """The template's header: `Tanggal Diterima (Date received)`."""
        return f"{self.indonesian} ({self.english})"


COLUMNS: tuple[Column, ...] = (
    Column(
        "row_ref",
        "No.",
        "Ref. no.",
        ("no", "nomor", "no urut", "nomor urut", "no keluhan", "nomor keluhan", "ref", "reference", "id"),
        8,
        "Nomor keluhan biro; jangan diubah setelah dikirim / the branch's own complaint number; "
        "never change it once sent",
    ),
    Column(
        "received",
        "Tanggal Diterima",
        "Date received",
        (
            "tgl",
            "tanggal",
            "tgl diterima",
            "tanggal terima",
            "tgl terima",
            "tanggal keluhan",
            "tgl keluhan",
            "date",
            "received",
            "received date",
            "date received",
            "complaint date",
        ),
        14,
        "Tanggal keluhan diterima, di dalam bulan rekap / the date the complaint was received, "
        "within the recap month",
    ),
    Column(
        "customer",
        "Nama Pelanggan",
        "Customer name",
        ("pelanggan", "nama", "nama pelapor", "pelapor", "customer", "name", "customer name"),
        22,
        "Nama orang yang mengeluh / the person who complained",
    ),
    Column(
        "organisation",
        "Organisasi",
        "Organisation",
        ("organisasi", "perusahaan", "instansi", "organization", "organisation", "company", "org"),
        22,
        "Perusahaan atau instansi pelanggan / the customer's company or institution",
    ),
    Column(
        "pic",
        "PIC / Kontak",
        "Contact: phone or email",
        (
            "pic",
            "kontak",
            "kontak pic",
            "contact",
            "contact person",
            "telepon",
            "telp",
            "no hp",
            "nomor hp",
            "hp",
            "no telepon",
            "no telp",
            "nomor telepon",
            "phone",
            "email",
            "e mail",
        ),
        24,
        "Nomor telepon atau email orang yang bisa dihubungi / a phone number or email address",
    ),
    Column(
        "product",
        "Produk",
        "Product",
        ("produk", "produk layanan", "layanan", "product", "service", "product service"),
        24,
        "Pilih dari daftar / choose from the list",
    ),
    Column(
        "channel",
        "Saluran",
        "Channel",
        ("saluran", "media", "via", "sumber", "channel", "source"),
        14,
        "Cara keluhan diterima / how the complaint came in",
    ),
    Column(
        "description",
        "Uraian Keluhan",
        "Description",
        (
            "uraian",
            "keluhan",
            "isi keluhan",
            "deskripsi",
            "deskripsi keluhan",
            "description",
            "complaint",
            "details",
            "complaint description",
        ),
        48,
        "Isi keluhan; wajib diisi / what the complaint is about; required",
    ),
    Column(
        "category",
        "Kategori",
        "Category",
        ("kategori", "jenis", "jenis keluhan", "category", "type"),
        16,
        "Pilih dari daftar kategori; boleh kosong / choose from the list of categories; may be empty",
    ),
    Column(
        "severity",
        "Tingkat",
        "Severity: major/minor",
        ("tingkat", "tingkat keluhan", "mayor minor", "major minor", "severity", "level", "klasifikasi"),
        12,
        "mayor atau minor; kosong berarti minor / major or minor; empty means minor",
    ),
    Column(
        "root_cause",
        "Akar Penyebab",
        "Root cause",
        ("akar penyebab", "penyebab", "analisa penyebab", "root cause", "cause"),
        30,
        "Hasil analisa penyebab / what caused it",
    ),
    Column(
        "action",
        "Tindakan Perbaikan",
        "Corrective action",
        (
            "tindakan",
            "tindakan perbaikan",
            "tindak lanjut",
            "perbaikan",
            "penyelesaian",
            "solusi",
            "action",
            "corrective action",
            "solution",
        ),
        30,
        "Apa yang dilakukan / what was done about it",
    ),
    Column(
        "completed",
        "Tanggal Selesai",
        "Date completed",
        (
            "tgl selesai",
            "tanggal selesai",
            "selesai",
            "completed",
            "date completed",
            "completion date",
            "closed",
        ),
        14,
        "Tanggal keluhan selesai ditangani / the date it was resolved",
    ),
    Column(
        "status",
        "Status",
        "Status: new/in progress/done",
        ("status", "keadaan", "status keluhan"),
        12,
        "baru, proses atau selesai / new, in progress or done",
    ),
    Column(
        "handled_by",
        "Ditangani Oleh",
        "Handled by: branch/head office",
        ("ditangani oleh", "ditangani", "penanganan", "handled by", "handler"),
        16,
        "biro (diselesaikan sendiri) atau kantor pusat (diteruskan ke Customer Care) / "
        "branch (resolved locally) or head office (forwarded to Customer Care)",
    ),
)
COLUMN_BY_KEY: Mapping[str, Column] = MappingProxyType({column.key: column for column in COLUMNS})
REQUIRED_COLUMNS = ("received", "description")
"""A row of headers must name these to be the header row."""

# The words each drop-down cell may hold, in the template's order: the first
# word of each entry is what the drop-down offers, the rest are accepted too.
SEVERITY_WORDS: Mapping[str, tuple[str, ...]] = {
    "major": ("mayor", "major", "berat", "tinggi", "high"),
    "minor": ("minor", "ringan", "rendah", "low"),
}
STATUS_WORDS: Mapping[str, tuple[str, ...]] = {
    "new": ("baru", "new", "open", "belum", "belum ditangani", "terbuka"),
    "in_progress": (
        "proses",
        "diproses",
        "dalam proses",
        "sedang diproses",
        "in progress",
        "progress",
        "ongoing",
        "pending",
    ),
    "resolved": ("selesai", "sudah selesai", "tuntas", "done", "resolved", "closed", "complete", "completed"),
}
CHANNEL_WORDS: Mapping[str, tuple[str, ...]] = {
    "email": ("email", "e mail", "surel", "surat elektronik"),
    "phone": ("telepon", "telp", "tlp", "phone", "telephone", "call", "call center"),
    "letter": ("surat", "letter", "pos", "post"),
    "in-person": ("langsung", "datang langsung", "tatap muka", "walk in", "in person", "loket"),
    "whatsapp": ("whatsapp", "wa", "pesan singkat", "sms", "chat"),
    "social-media": ("media sosial", "medsos", "social media", "instagram", "facebook", "twitter", "x"),
    "web": ("situs web", "website", "web", "formulir web", "web form"),
    "other": ("lainnya", "lain lain", "other", "others"),
}
HANDLED_BY_WORDS: Mapping[str, tuple[str, ...]] = {
    "branch": ("biro", "branch", "cabang", "biro sendiri", "kantor biro"),
    "head-office": ("kantor pusat", "pusat", "head office", "ho", "customer care", "cc"),
}
BRANCH_LABELS = ("biro", "branch", "cabang", "nama biro", "kantor biro", "kode biro", "branch id")
MONTH_LABELS = ("bulan", "month", "periode", "period", "bulan laporan", "reporting month", "bulan tahun")


def key_of(text: str) -> str:
    """The header key of `text`: its folded words joined by single spaces."""
    return " ".join(word_tokens(text))


_PIECE_SPLIT = re.compile(r"[/\n|:;]| - ")
_BRACKETS = re.compile(r"[(\[]([^)\]]*)[)\]]")


def header_keys(text: str) -> Iterator[str]:
    """The keys a header cell is tried as: the whole text first, then its pieces."""
    yield key_of(text)
    outside = _BRACKETS.sub(" ", text)
    inside = _BRACKETS.findall(text)
    for part in (outside, *inside):
        yield key_of(part)
        for piece in _PIECE_SPLIT.split(part):
            yield key_of(piece)


def _alias_table() -> Mapping[str, str]:
    table: dict[str, str] = {}
    for column in COLUMNS:
        names = (column.header, column.indonesian, column.english, *column.aliases)
        for name in names:
            table.setdefault(key_of(name), column.key)
    table.pop("", None)
    return MappingProxyType(table)


HEADER_KEYS = _alias_table()


def column_for(text: str) -> str | None:
    """The column a header cell names, or None when it names none of ours."""
    for key in header_keys(text):
        found = HEADER_KEYS.get(key)
        if found is not None:
            return found
    return None


def is_label(text: str, labels: tuple[str, ...]) -> bool:
    """Whether a cell is a label such as `Biro / Branch` or `Bulan (Month)`."""
    wanted = {key_of(label) for label in labels}
    return any(key in wanted for key in header_keys(text))


def word_table(words: Mapping[str, tuple[str, ...]]) -> Mapping[str, str]:
    """Word key -> the value it stands for, e.g. `dalam proses` -> `in_progress`."""
    return MappingProxyType({key_of(word): value for value, aliases in words.items() for word in aliases})
