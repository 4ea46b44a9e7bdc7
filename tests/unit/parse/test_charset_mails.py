"""Issue 14, garbled text: real-shaped mails in legacy, mislabelled and broken charsets, both backends."""

from __future__ import annotations

import re
from pathlib import Path

import mailparser
import pytest

from daemon.parse.charsets import charset_hints, is_scalar_text
from daemon.parse.headers import limit_headers
from daemon.parse.mailparser_backend import read_layout
from daemon.parse.message import InboundMail
from daemon.parse.parser import parse

DATA = Path(__file__).resolve().parents[2] / "data"
OWN = ("cs@example.co.id",)
BACKENDS = ["mail-parser", "email"]


def _broken_mailparser(raw: bytes) -> object:
    raise AttributeError("'NoneType' object has no attribute 'index'")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "email":
        monkeypatch.setattr(mailparser, "parse_from_bytes", _broken_mailparser)
    return str(request.param)


def _parse(name: str, backend: str) -> InboundMail:
    mail = parse((DATA / f"{name}.eml").read_bytes(), own_addresses=OWN)
    assert mail.parser == backend
    _assert_clean(mail)
    return mail


def _assert_clean(mail: InboundMail) -> None:
    """No replacement character, no lone surrogate, no undecoded encoded-word in any text field."""
    fields = [mail.subject, mail.from_name, mail.text, mail.new_text, mail.html]
    fields += [attachment.filename for attachment in mail.attachments]
    for value in fields:
        assert "\ufffd" not in value
        assert is_scalar_text(value)
        assert not re.search(r"=\?[^?]+\?[QqBb]\?", value)


def test_raw_utf8_subject_and_name(backend: str) -> None:
    mail = _parse("charset_raw8bit_subject_utf8", backend)
    assert mail.subject == "Khiếu nại: hóa đơn tháng 10 bị tính hai lần"
    assert mail.from_name == "Nguyễn Văn Hùng"
    assert mail.from_address == "hung.nguyen@hanoi-logistics.vn"
    assert "tổng cộng 4.800.000 đồng" in mail.text


def test_raw_latin1_subject_and_name_use_the_body_charset(backend: str) -> None:
    mail = _parse("charset_raw8bit_subject_latin", backend)
    assert mail.subject == "Beschwerde über die Rechnung für März"
    assert mail.from_name == "Jürgen Müller"
    assert mail.text.endswith("Mit freundlichen Grüßen\nJürgen Müller\nMüllerbau GmbH")


def test_raw_gbk_name_is_never_lone_surrogates(backend: str) -> None:
    mail = _parse("charset_raw8bit_name_gbk", backend)
    assert mail.from_name == "武晓东"
    assert mail.subject == "钢材交货延误投诉"
    assert (
        mail.text == "您好：\n\n我司订购的钢材（合同号 HB-2026-77）已延误两周交货，请尽快给出答复。\n\n武晓东"
    )


def test_8bit_bytes_inside_encoded_words(backend: str) -> None:
    mail = _parse("charset_encoded_word_8bit", backend)
    assert mail.subject == "Réclamation : facture n° 2026-114 déjà payée"
    assert mail.from_name == "Renée Lefèvre"
    assert "nous avons reçu une relance" in mail.text


def test_encoded_words_with_spaces(backend: str) -> None:
    mail = _parse("charset_encoded_word_spaces", backend)
    assert mail.subject == "Pedido nº 4471 não entregue"
    assert mail.from_name == "João Conceição"


def test_a_character_split_across_encoded_words(backend: str) -> None:
    mail = _parse("charset_split_multibyte", backend)
    assert mail.subject == "关于订单 #20261105 的投诉：货物损坏"
    assert mail.from_name == "欧阳晓明"


def test_gb2312_label_with_gb18030_text(backend: str) -> None:
    mail = _parse("charset_gb2312_superset", backend)
    assert mail.subject == "投诉：货物未到，签收人张堃不明"
    assert mail.from_name == "王喆"
    assert mail.text == (
        "尊敬的客服：\n\n"
        "我是朱镕基路分店的店长王喆。上周订购的二十箱货物至今未到，\n"
        "物流单号 SF1234567890 显示已签收，但签收人“张堃”并非本店员工。\n"
        "另外发票金额为 €1,280，与合同不符。生僻字测试：䶮。\n\n"
        "请尽快回复。\n\n王喆"
    )


def test_big5_label_with_hkscs_text(backend: str) -> None:
    mail = _parse("charset_big5_hkscs", backend)
    assert mail.subject == "訂嘅貨仲未收到"
    assert mail.from_name == "陳大文"
    assert mail.text == (
        "你好，\n\n我哋上個禮拜訂嘅貨仲未嚟，查過物流話已經派咗，但係我哋冇收到。\n"
        "麻煩你哋幫手跟進，唔該晒。\n\n陳大文"
    )


def test_ks_c_5601_label_with_cp949_text(backend: str) -> None:
    mail = _parse("charset_ks_c_5601", backend)
    assert mail.subject == "주문 상품 파손 문의 (똠방각하)"
    assert mail.from_name == "박서준"
    assert '포장 상자에 "똠방각하"라는 낙서도 있었습니다.' in mail.text
    assert mail.text.startswith(
        "안녕하세요.\n\n지난주에 주문한 상품(주문번호 KR-8812)이 파손된 채로 도착했습니다."
    )


def test_shift_jis_label_with_cp932_extension_characters(backend: str) -> None:
    mail = _parse("charset_shift_jis_cp932", backend)
    assert mail.subject == "①請求書の金額について（㈱髙橋製作所）"
    assert mail.from_name == "髙橋 一郎"
    assert mail.text == (
        "お世話になっております。㈱髙橋製作所の髙橋です。\n\n下記の件、ご確認をお願いいたします。\n"
        "①請求書 №2026-118 の金額が違います。\n②納品が三日遅れました。\n\n"
        "Ⅲ期の契約にも関わりますので、よろしくお願いいたします。"
    )


def test_iso_2022_jp_as_outlook_writes_it(backend: str) -> None:
    mail = _parse("charset_iso2022jp", backend)
    assert mail.subject == "①請求書の文字化けについて"
    assert mail.from_name == "山田 太郎"
    assert mail.text == (
        "株式会社サンプル\nカスタマーサポート御中\n\nいつもお世話になっております。\n"
        "①ﾊﾝｶｸｶﾀｶﾅの商品名が請求書で文字化けしています。\n②納品書の数量が違います。\n\n山田 太郎"
    )


def test_latin1_label_with_windows_1252_text(backend: str) -> None:
    mail = _parse("charset_latin1_cp1252", backend)
    assert mail.subject == "Invoice overcharged – €1,250 instead of €125"
    assert mail.from_name == "Claire O’Neill"
    assert mail.text.startswith(
        "Hello,\n\nWe were charged € 1,250 instead of € 125 on invoice “INV-2026-0455” – "
        "that’s ten times the agreed price…\n"
    )


def test_latin1_label_on_utf8_text(backend: str) -> None:
    mail = _parse("charset_mislabelled_utf8", backend)
    assert mail.subject == "Beschädigte Lieferung für Auftrag 55-1207"
    assert mail.from_name == "Bärbel Schäfer"
    assert "Der Schaden beträgt 340 €." in mail.text
    assert "charset 'iso-8859-1' did not fit: read as utf-8" in mail.defects


def test_rfc2231_continuations(backend: str) -> None:
    mail = _parse("charset_rfc2231_filename", backend)
    assert [attachment.filename for attachment in mail.attachments] == [
        "Лист рекламации по заказу №4471 (фото повреждений).pdf",
        "Reçu_de_livraison.png",
    ]
    assert mail.subject == "Рекламация по заказу №4471"


def test_rfc2231_continuations_in_shift_jis(backend: str) -> None:
    mail = _parse("charset_rfc2231_filename_sjis", backend)
    assert [attachment.filename for attachment in mail.attachments] == [
        "①見積書_㈱髙橋製作所_2026年11月分.pdf"
    ]
    assert mail.subject == "見積書の金額相違について"
    assert (
        mail.text
        == "お世話になっております。\n見積書の金額が発注書と異なります。添付をご確認ください。\n\n佐藤 健"
    )


def test_raw_8bit_file_names(backend: str) -> None:
    mail = _parse("charset_raw8bit_filename", backend)
    assert [attachment.filename for attachment in mail.attachments] == [
        "Rücksendeschein_März.pdf",
        "报价单_损坏照片.png",
    ]
    assert mail.subject == "Rücksendeschein und Schadensfoto"
    assert mail.from_name == "Spedition König - Scanner 2.OG"
    assert mail.attachments[0].payload.startswith(b"%PDF-1.4")


@pytest.mark.parametrize("path", sorted(DATA.glob("*.eml")), ids=lambda path: path.stem)
def test_the_mail_parser_backend_uses_our_decoding_for_every_part(path: Path) -> None:
    # Our texts and names replace mail-parser's only when its parts match ours one to one.
    try:
        parsed = mailparser.parse_from_bytes(limit_headers(path.read_bytes())[0])
    except AttributeError:
        # mail-parser trips over some truncated bounces; the standard library backend reads those.
        return
    layout = read_layout(parsed.message, charset_hints(parsed.message))
    assert len(layout.plain) == len(parsed.text_plain)
    assert len(layout.html) == len(parsed.text_html)
    assert len(layout.attachment_names) == len(parsed.attachments)
