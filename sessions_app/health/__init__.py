"""The health endpoint for the proxy or orchestrator: the database and the channel layer reachable."""
