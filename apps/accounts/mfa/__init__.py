"""The second factor of civil servants and platform administrators (django-otp).

Every staff role and every platform administrator proves a second factor before the console
opens or a staff/platform token is issued: a TOTP authenticator (``django_otp`` TOTP device,
enrolled on first sign-in to the console) or one of ten single-use recovery codes (stored as
keyed hashes, ``models.RecoveryCodeDevice``). Tokens say so in their ``amr`` claim
(RFC 8176); staff endpoints refuse a token without it. See docs/second-factor.md.
"""
