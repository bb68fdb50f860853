"""Numerical engines. Imports only numerical libraries: never the web, ORM or settings layers."""
