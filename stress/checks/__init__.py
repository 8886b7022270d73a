"""Invariants over the whole arena: live scans while workers race, audits while they are parked."""

from stress.checks.audit import AuditResult, audit, final_audit
from stress.checks.scan import live_scan

__all__ = ["AuditResult", "audit", "final_audit", "live_scan"]
