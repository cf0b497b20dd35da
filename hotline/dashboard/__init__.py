"""The coordinator dashboard (Flask blueprint `dashboard`, under /dashboard).
See docs/dashboard.md."""
from hotline.dashboard.views import bp

__all__ = ["bp"]
