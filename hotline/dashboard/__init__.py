"""The coordinator dashboard (Flask blueprint `dashboard`, under /dashboard).
See docs/dashboard.md."""
from hotline.dashboard.views import bp
from hotline.dashboard import callout as _callout  # noqa: F401 - registers /dashboard/callout

__all__ = ["bp"]
