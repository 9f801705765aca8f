"""The two seed flows (issue 6, rules.md §4): the FPIE training allowance Bruxelles Formation's
pedagogical advisers compute (deliberation 22/086; ``fpie.py`` pure rule, result kept 10 years)
and the career-break / time-credit possibilities shown to the logged-in person (deliberation
24/012; ``career_break.py`` pure rule, never stored). Rule constants: ``rules/*.toml``."""
