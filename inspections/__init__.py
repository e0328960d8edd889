"""Spot checks, tablet capture, reconciliation and the monthly report (issue 4+)."""
