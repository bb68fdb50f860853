"""Database: engine and session factories, migrations."""
