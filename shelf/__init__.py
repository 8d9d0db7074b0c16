"""Shelf: a self-hosted cloud marketplace for virtual-machine image products."""
