"""What the delegations contribute to one meeting (answers, practices) and the chair's moderation of it."""
