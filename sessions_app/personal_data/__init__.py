"""Personal data of a meeting's people: what is kept, and its erasure (manage.py erase_personal_data)."""
