"""The coordinator dashboard (Flask blueprint `dashboard`, under /dashboard).
See docs/dashboard.md."""
from .views import bp

__all__ = ["bp"]
