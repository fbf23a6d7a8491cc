"""Backups of the whole instance or of one meeting, and their restore (manage.py backup / restore)."""
