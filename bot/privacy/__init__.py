"""Anonymity: redaction of what is stored, pseudonymous ids, retention and deletion."""
