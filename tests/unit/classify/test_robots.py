"""Robot sender addresses are recognised by their local part; people's addresses are not."""

from __future__ import annotations

import pytest

from daemon.classify.robots import addr_spec, looks_automated_sender


@pytest.mark.parametrize(
    ("address", "label"),
    [
        # mail systems
        ("MAILER-DAEMON@mx.example.net", "mail system"),
        ("mailer_daemon@mx.example.net", "mail system"),
        ("postmaster@example.net", "mail system"),
        ("ndr@mail.hosting-awan.example", "mail system"),
        # list servers
        ("anggota-request@lists.ikatan-penerbit.or.id", "list server"),
        ("mailman-admin@lists.example.org", "list server"),
        ("anggota-bounces@lists.ikatan-penerbit.or.id", "list server"),
        ("pengumuman-bounces+cs=example.co.id@lists.asosiasipenerbit.or.id", "list server"),
        ("git-owner@vger.kernel.org", "list server"),
        ("owner-pengumuman@lists.example.org", "list server"),
        ("anggota-bounce@lists.example.org", "list server"),
        ("LISTSERV@LISTS.UNIV-MITRA.AC.ID", "list server"),
        ("majordomo@vger.kernel.org", "list server"),
        # bounce handlers (VERP)
        ("bounce@esp.example", "bounce handler"),
        ("bounces@esp.example", "bounce handler"),
        ("bounces+12345-abcd-budi=pelanggan.id@em.esp.example", "bounce handler"),
        ("bounce-mc.us5_1234.5678-budi=pelanggan.id@mail123.esp.example", "bounce handler"),
        ("bounce_7781@news.toko.example", "bounce handler"),
        ("bounce1234@news.toko.example", "bounce handler"),
        ("bounce.20261123.9921@news.toko.example", "bounce handler"),
        # no-reply spellings
        ("noreply@shop.example", "no-reply address"),
        ("no-reply@shop.example", "no-reply address"),
        ("no_reply@shop.example", "no-reply address"),
        ("no.reply@shop.example", "no-reply address"),
        ("noreplies@shop.example", "no-reply address"),
        ("donotreply@bank.example", "no-reply address"),
        ("do-not-reply@bank.example", "no-reply address"),
        ("do_not_reply@bank.example", "no-reply address"),
        ("do-not-respond@bank.example", "no-reply address"),
        ("shop-noreply@shop.example", "no-reply address"),
        ("tokonoreply@shop.example", "no-reply address"),
        ("noreply-invoices@shop.example", "no-reply address"),
        ("NoReply+tag@Shop.Example", "no-reply address"),
        # ... and in the languages of the subjects
        ("jangan-dibalas@layanan.go.id", "no-reply address"),
        ("janganbalas@bank.co.id", "no-reply address"),
        ("nepasrepondre@banque.fr", "no-reply address"),
        ("ne-pas-repondre@banque.fr", "no-reply address"),
        ("nicht-antworten@versand.de", "no-reply address"),
        ("no-responder@tienda.es", "no-reply address"),
        ("non-rispondere@poste.it", "no-reply address"),
        ("niet-antwoorden@bezorg.nl", "no-reply address"),
        ("nao-responda@loja.com.br", "no-reply address"),
        # other robots
        ("autoresponder@shop.example", "auto-responder"),
        ("abuse@webmail-nusantara.example", "abuse desk"),
        ("abuse-reports@hosting-awan.example", "abuse desk"),
        ("report_abuse@hosting-awan.example", "abuse desk"),
        ("quarantine@messaging.microsoft.com", "quarantine notifier"),
        ("spamquarantine@gw.example", "quarantine notifier"),
        ("bayu-confirm-1795422300.28011.9f3c2a@toko-kain.example", "TMDA confirmation address"),
        ("notify@boxbe.com", "challenge-response service"),
        ("verify@mail.spamarrest.com", "challenge-response service"),
    ],
)
def test_robot_local_parts_are_recognised(address: str, label: str) -> None:
    assert looks_automated_sender(address) == label


@pytest.mark.parametrize(
    "address",
    [
        "budi.santoso@majujaya.co.id",
        # `bounce` followed by a dot and a word is written like a person's name
        "bounce.fan@gmail.com",
        "bouncer@klub-malam.example",
        "bouncehouse@sewa-mainan.example",
        # "no" written apart may end a name
        "bruno.reply@gmail.com",
        "arno-reply@contoh.id",
        "antonio.responder@contoh.id",
        # the list-server suffixes need their hyphen, the mail systems the whole local part
        "admin@tokobuku-sejahtera.id",
        "sysadmin@pabrikkertas.co.id",
        "owner@warung-kopi.example",
        "request@contoh.id",
        "ndr.susanto@contoh.id",
        "postmaster.budi@contoh.id",
        "kimpostmaster@contoh.id",
        # words that only contain a robot word
        "abusement@contoh.id",
        "autoreply.fan@contoh.id",
        "nobody@server.example",
        # a person recovered from a quoted local part (class 4)
        '"System Administrator"@pabrikkertas.co.id',
        "",
        "<>",
    ],
)
def test_people_addresses_are_not_robots(address: str) -> None:
    assert looks_automated_sender(address) is None


def test_a_header_value_is_read_for_its_address() -> None:
    assert looks_automated_sender("Mail Delivery System <MAILER-DAEMON@mx.example.net>") == "mail system"
    assert looks_automated_sender("Budi <budi@pelanggan.id>") is None


@pytest.mark.parametrize(
    ("address", "label"),
    [
        ("SRS0=HhQ2=TT=shop.example=noreply@forwarder.example", "no-reply address"),
        ("srs0=abcd=x1=lists.example.org=anggota-bounces@fwd.example", "list server"),
        ("SRS1=XkQ3=forwarder.example==HhQ2=TT=shop.example=mailer-daemon@second.example", "mail system"),
    ],
)
def test_an_srs_rewritten_address_is_judged_by_its_original(address: str, label: str) -> None:
    assert looks_automated_sender(address) == label


def test_an_srs_rewritten_person_stays_a_person() -> None:
    assert looks_automated_sender("SRS0=HhQ2=TT=majujaya.co.id=budi.santoso@forwarder.example") is None


def test_addr_spec_takes_the_bracketed_address_in_lower_case() -> None:
    assert addr_spec("Mail Delivery <MAILER-DAEMON@Mx.Example>") == "mailer-daemon@mx.example"
    assert addr_spec("  NoReply@Shop.Example ") == "noreply@shop.example"
