"""Bytes to an immutable `InboundMail`: prescan limits, parser, sanitising, quoting, contact, language."""
