"""The counter (窗口端): clerk accounts and sessions, scan → consent → pull of exactly what a matter needs."""
