"""The counter (窗口端): scan → consent → pull of exactly what a matter needs. (Clerk sessions:
:mod:`exchange.auth.clerk`; consents: :mod:`exchange.consents`.)"""
