"""Shared pytest set-up: a non-interactive matplotlib backend, so tests draw figures headless."""
import matplotlib

matplotlib.use("Agg")
