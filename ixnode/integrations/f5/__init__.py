"""F5 BIG-IP LTM integration (iControl REST through bigrest)."""
