"""API views, one module per resource (wired in impl_drf.urls)."""
