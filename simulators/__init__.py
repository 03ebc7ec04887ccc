"""Local stand-ins for outside services (payment gateway, ...) used by demos and tests."""
