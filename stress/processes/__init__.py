"""Worker processes and the supervisor that starts, pauses, audits and stops them."""
