"""Server-rendered event pages."""
