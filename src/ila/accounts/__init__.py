"""Read models over rights, employments and trainings: an employer's workers and dashboard,
and a person's learning account across employers."""
