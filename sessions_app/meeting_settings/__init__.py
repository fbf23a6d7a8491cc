"""The meeting's settings page: what each setting means, its changes in an audit log, and kiosk screen links."""
