"""Employments, work fractions, suspensions, quarterly FTE declarations."""
