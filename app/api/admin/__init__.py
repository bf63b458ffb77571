"""`/v1/admin`: operator views of the running service (admin scope)."""
