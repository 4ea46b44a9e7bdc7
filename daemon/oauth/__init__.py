"""OAuth2 for IMAP and SMTP: the encrypted refresh token (`vault`), access tokens (`tokens`),
the SASL strings (`sasl`), and the one-time logins of `caredesk auth login`: the device
authorization grant (`device`, RFC 8628) and the loopback redirect with PKCE (`loopback`).

The token flows are authlib's (`authlib.integrations.requests_client.OAuth2Session`):
one library that speaks to Microsoft's and Google's endpoints alike, and to any
standard token endpoint, so the tests can run it against a loopback server.
"""
