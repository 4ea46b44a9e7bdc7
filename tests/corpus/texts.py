"""What the corpus mails say: complaints, robots' phrases and people, in the languages the desk receives.

The newspaper is Harian Nusantara (print, e-paper, app, website, classified
ads), as in the shipped rules.yaml. Indonesian dominates, as at the real desk.
"""

from __future__ import annotations

import random

# (subject, first paragraph) per language.
COMPLAINTS: dict[str, list[tuple[str, str]]] = {
    "id": [
        (
            "Koran tidak diantar sejak hari Senin",
            "Sudah tiga hari koran Harian Nusantara langganan saya tidak diantar. Alamat saya "
            "di Jl. Kenanga No. 12, RT 03/RW 05, Sleman. Langganan sudah saya bayar sampai Desember.",
        ),
        (
            "E-paper tidak bisa diunduh",
            "Sejak pembaruan kemarin saya tidak bisa mengunduh edisi digital. Setiap kali membuka "
            "e-paper muncul pesan sesi berakhir, padahal langganan saya masih aktif sampai Maret.",
        ),
        (
            "Tagihan langganan terpotong dua kali",
            "Kartu debit saya terpotong dua kali untuk perpanjangan langganan bulan Juli, masing-masing "
            "Rp 125.000. Mohon kelebihan pembayaran dikembalikan.",
        ),
        (
            "Aplikasi keluar sendiri saat membuka artikel",
            "Aplikasi Nusantara di ponsel Android saya selalu keluar sendiri setiap kali saya membuka "
            "artikel dengan video. Sudah saya hapus dan pasang ulang, masalahnya tetap sama.",
        ),
        (
            "Iklan baris salah cetak",
            "Iklan baris rumah dijual yang saya pasang untuk edisi Sabtu tercetak dengan nomor telepon "
            "yang salah. Saya sudah membayar Rp 350.000 dan iklan itu sia-sia.",
        ),
        (
            "Loper bersikap tidak sopan",
            "Loper yang mengantar koran di kompleks kami melempar koran ke halaman yang basah dan "
            "bersikap kasar ketika ditegur. Mohon ditindaklanjuti.",
        ),
        (
            "Paywall muncul padahal sudah berlangganan",
            "Di situs berita saya selalu diminta berlangganan lagi walaupun sudah masuk dengan akun "
            "premium. Ini terjadi di Chrome dan juga di Firefox.",
        ),
        (
            "Koran datang terlambat setiap hari",
            "Koran seharusnya tiba sebelum jam 6 pagi, tetapi dua minggu ini selalu datang setelah "
            "jam 9. Saya membaca koran sebelum berangkat kerja.",
        ),
        (
            "Pengembalian dana belum diterima",
            "Pembatalan langganan saya sudah disetujui tanggal 2 Juli, tetapi pengembalian dana "
            "Rp 450.000 belum masuk ke rekening saya.",
        ),
        (
            "Edisi Minggu tidak lengkap",
            "Edisi Minggu yang saya terima tidak ada sisipan majalahnya, dan halaman 17 sampai 20 "
            "hilang. Ini sudah kedua kalinya bulan ini.",
        ),
        (
            "Notifikasi aplikasi muncul tengah malam",
            "Aplikasi mengirim notifikasi berita setiap jam, termasuk tengah malam, padahal "
            "notifikasi sudah saya matikan di pengaturan.",
        ),
        (
            "Koran masih diantar ke alamat lama",
            "Sejak pindah rumah saya sudah dua kali melapor alamat baru, tetapi koran masih diantar "
            "ke alamat lama di Bekasi.",
        ),
    ],
    "en": [
        (
            "Newspaper not delivered for three days",
            "My subscription copy of Harian Nusantara has not been delivered since Monday. "
            "The subscription is paid until December.",
        ),
        (
            "Cannot log in to the e-paper",
            "Since yesterday the digital edition keeps telling me my session expired, although "
            "my subscription runs until March.",
        ),
        (
            "Charged twice for my renewal",
            "My card was charged twice for the July renewal, IDR 125,000 each time. Please refund "
            "the second charge.",
        ),
        (
            "Wrong phone number in my classified ad",
            "The classified ad I placed for Saturday's edition was printed with the wrong phone "
            "number. I paid IDR 350,000 for it.",
        ),
        (
            "App crashes when opening videos",
            "The Nusantara app on my iPhone crashes every time I open an article with a video.",
        ),
        (
            "Refund still not received",
            "My cancellation was approved on 2 July, but the refund has still not reached my account.",
        ),
    ],
    "fr": [
        (
            "Réclamation : journal non livré depuis lundi",
            "Bonjour, mon exemplaire n'est plus livré depuis lundi alors que l'abonnement est réglé.",
        ),
        ("Problème d'accès à l'édition numérique", "Je ne peux plus télécharger l'édition numérique."),
    ],
    "de": [
        (
            "Beschwerde über die Zustellung – Zeitung fehlt",
            "Guten Tag, seit Montag wird meine Zeitung nicht mehr zugestellt, obwohl das Abo bezahlt ist.",
        ),
        ("Doppelte Abbuchung für mein Abonnement", "Mein Konto wurde zweimal belastet. Bitte erstatten."),
    ],
    "es": [
        (
            "Queja: el periódico no llegó esta semana",
            "Buenos días, esta semana no he recibido el periódico aunque la suscripción está pagada.",
        ),
        ("Cobro duplicado de la suscripción", "Me han cobrado dos veces la renovación de julio."),
    ],
    "it": [
        (
            "Reclamo: il giornale non è arrivato",
            "Buongiorno, da lunedì il giornale non viene più consegnato, ma l'abbonamento è pagato.",
        ),
        ("Addebito doppio sull'abbonamento", "Mi è stato addebitato due volte il rinnovo di luglio."),
    ],
    "nl": [
        (
            "Klacht: krant niet bezorgd",
            (
                "Goedemorgen, sinds maandag wordt mijn krant niet meer bezorgd, terwijl het "
                "abonnement betaald is."
            ),
        ),
        ("Dubbele afschrijving abonnement", "Mijn abonnement is twee keer afgeschreven in juli."),
    ],
    "pt": [
        (
            "Reclamação: jornal não entregue",
            "Bom dia, desde segunda-feira o jornal não é entregue, embora a assinatura esteja paga.",
        ),
        ("Cobrança em duplicado da assinatura", "A renovação de julho foi cobrada duas vezes."),
    ],
    "ms": [
        (
            "Aduan: surat khabar tidak dihantar",
            (
                "Salam, surat khabar langganan saya tidak dihantar sejak hari Isnin walaupun "
                "yuran sudah dibayar."
            ),
        ),
        ("Caj berganda untuk langganan", "Kad saya dicaj dua kali untuk pembaharuan bulan Julai."),
    ],
    "ja": [
        (
            "新聞が届きません（７月分）",
            "お世話になっております。月曜日から新聞が配達されておりません。ご確認をお願いいたします。",
        ),
        ("電子版にログインできません", "昨日から電子版にログインできなくなりました。契約は有効です。"),
    ],
    "zh": [
        ("投诉：报纸没有送到", "您好，从星期一开始我订的报纸一直没有送到，订阅费已经付清，请尽快处理。"),
        ("电子版无法下载", "您好，昨天起电子版一直无法下载，请帮忙查看账户状态。"),
    ],
}

GREETING = {
    "id": "Selamat pagi Bapak/Ibu Layanan Pelanggan,",
    "en": "Dear Customer Care,",
    "fr": "Madame, Monsieur,",
    "de": "Sehr geehrte Damen und Herren,",
    "es": "Estimados señores:",
    "it": "Gentile servizio clienti,",
    "nl": "Beste klantenservice,",
    "pt": "Prezados,",
    "ms": "Tuan/Puan,",
    "ja": "カスタマーサービス御中",
    "zh": "客服您好：",
}

CLOSING = {
    "id": "Mohon segera ditindaklanjuti. Terima kasih atas perhatiannya.",
    "en": "Please look into this as soon as possible. Thank you.",
    "fr": "Merci de faire le nécessaire rapidement.",
    "de": "Bitte kümmern Sie sich zeitnah darum.",
    "es": "Quedo a la espera de su respuesta.",
    "it": "Resto in attesa di un vostro riscontro.",
    "nl": "Graag een snelle reactie.",
    "pt": "Aguardo retorno.",
    "ms": "Harap pihak tuan dapat menyelesaikannya segera.",
    "ja": "よろしくお願いいたします。",
    "zh": "谢谢！",
}

SIGN_OFF = {
    "id": "Salam,",
    "en": "Regards,",
    "fr": "Cordialement,",
    "de": "Mit freundlichen Grüßen",
    "es": "Saludos,",
    "it": "Cordiali saluti,",
    "nl": "Met vriendelijke groet,",
    "pt": "Atenciosamente,",
    "ms": "Yang benar,",
    "ja": "",
    "zh": "此致",
}

FIRST_NAMES = [
    "Rina", "Budi", "Siti", "Agus", "Dewi", "Hendra", "Wulan", "Yusuf", "Fitri", "Andi",
    "Ratna", "Bambang", "Sri", "Joko", "Nur", "Eko", "Lestari", "Fajar", "Indah", "Rizky",
    "Putu", "Made", "Ketut", "Ayu", "Teguh", "Yohana", "Hasan", "Mega", "Arif", "Dian",
]  # fmt: skip
LAST_NAMES = [
    "Wulandari", "Santoso", "Rahmawati", "Setiawan", "Lestari", "Gunawan", "Kusuma", "Hidayat",
    "Saputra", "Nasution", "Siregar", "Pratama", "Handayani", "Purnomo", "Sihombing", "Harahap",
    "Susanti", "Wijaya", "Utami", "Halim", "Tanjung", "Simanjuntak", "Permana", "Mahendra",
]  # fmt: skip
FOREIGN_NAMES = {
    "fr": ["Élodie Marchand", "François Lefèvre"],
    "de": ["Jürgen Weiß", "Käthe Müller"],
    "es": ["José Núñez", "María Peña"],
    "it": ["Niccolò Rossi", "Lucia Bianchi"],
    "nl": ["Joost van Dijk", "Maaike de Vries"],
    "pt": ["João Gonçalves", "Conceição Araújo"],
    "ms": ["Nurul Aisyah binti Ahmad", "Mohd Faizal bin Ismail"],
    "ja": ["山田 花子", "佐藤 健"],
    "zh": ["王喆", "李娜"],
}
DOMAINS = {
    "gmail": ["gmail.com"],
    "outlook": ["outlook.com", "hotmail.com", "ptsinarabadi-contoh.co.id", "kantorhukum-contoh.id"],
    "apple": ["icloud.com", "me.com"],
    "yahoo": ["yahoo.co.id", "yahoo.com", "ymail.com"],
    "isp": ["telkom.net", "indosat-contoh.net.id", "plasa-contoh.com", "cbn-contoh.net.id"],
    "gov": ["dinkes.sleman-contoh.go.id", "bappeda.jatim-contoh.go.id", "mail.ugm-contoh.ac.id"],
    "corp": ["astra-contoh.co.id", "kalbe-contoh.co.id", "unilever-contoh.co.id", "bca-contoh.co.id"],
}


class People:
    """Hands out people with addresses that no other mail of the corpus uses."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.counter = 0

    def person(self, rng: random.Random, kind: str, domain: str | None = None) -> tuple[str, str]:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        return f"{first} {last}", self.address(rng, f"{first}.{last}", domain or rng.choice(DOMAINS[kind]))

    def address(self, rng: random.Random, local: str, domain: str) -> str:
        self.counter += 1
        style = rng.randrange(3)
        local = local.lower().replace(" ", ".")
        if style == 1:
            local = local.replace(".", "")
        address = f"{local}{self.counter}@{domain}".lower()
        assert address not in self.used
        self.used.add(address)
        return address


def letter(language: str, paragraph: str, name: str, *, phone: bool = True) -> str:
    """A complaint's plain text: greeting, the complaint, closing, signature."""
    sign = SIGN_OFF[language]
    lines = [GREETING[language], "", paragraph, "", CLOSING[language], ""]
    if sign:
        lines.append(sign)
    lines.append(name)
    if phone:
        lines.append("HP/WA: 0812-3456-7890")
    return "\n".join(lines) + "\n"


def html_of(text: str, style: str = "gmail") -> str:
    """The HTML alternative a client would send with `text`."""
    paragraphs = [p for p in text.split("\n\n") if p]
    if style == "outlook":
        body = "".join(
            f'<p class="MsoNormal">{p.replace(chr(10), "<br>")}<o:p></o:p></p>' for p in paragraphs
        )
        return (
            '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>'
            '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
            "<style><!-- p.MsoNormal {margin:0cm; font-size:11.0pt; "
            'font-family:"Calibri",sans-serif;} --></style>'
            f'</head><body lang="EN-ID" link="#0563C1"><div class="WordSection1">{body}</div></body></html>\n'
        )
    body = "".join(f"<div>{p.replace(chr(10), '<br>')}</div><div><br></div>" for p in paragraphs)
    return f'<div dir="ltr">{body}</div>\n'
