"""OAuth2 for IMAP and SMTP: the encrypted refresh token (`vault`), access tokens (`tokens`),
and the one-time login of `caredesk auth login` (`device`).

The token flow is authlib's (`authlib.integrations.requests_client.OAuth2Session`):
one library that speaks to Microsoft's and Google's endpoints alike, and to any
standard token endpoint, so the tests can run it against a loopback server.
"""
