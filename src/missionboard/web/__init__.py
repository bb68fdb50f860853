"""Web: the app factory, sign-in sessions, CSRF, error pages and the base layout."""
