"""Password sign-in limits (django-axes): who is locked out now, and lifting a lock-out early."""
