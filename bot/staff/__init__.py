"""The staff dashboard: escalations, review, audit log and (later) live handoff."""
