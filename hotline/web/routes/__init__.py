"""HTTP routes, one module per area: public pages, sign-in, catalog editing, JSON API."""
