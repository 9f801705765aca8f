"""Synthetic demo dataset (obviously fake, checksum-valid identifiers; never real data)."""

from ila.demo.generator import (
    DEMO_EMPLOYER_BAKERY,
    DEMO_EMPLOYER_CONSULTING,
    DEMO_EMPLOYER_PC124,
    DEMO_EMPLOYER_PC200,
    DEMO_ENTERPRISE_NUMBERS,
    DEMO_MULTI_EMPLOYER_NISS,
    DEMO_REHIRED_NISS,
    DEMO_WORKER_NISS,
    PERSONA_NATIONAL_NUMBERS,
    DemoReport,
    build_plan,
    load_demo,
)

__all__ = [
    "DEMO_EMPLOYER_BAKERY",
    "DEMO_EMPLOYER_CONSULTING",
    "DEMO_EMPLOYER_PC124",
    "DEMO_EMPLOYER_PC200",
    "DEMO_ENTERPRISE_NUMBERS",
    "DEMO_MULTI_EMPLOYER_NISS",
    "DEMO_REHIRED_NISS",
    "DEMO_WORKER_NISS",
    "PERSONA_NATIONAL_NUMBERS",
    "DemoReport",
    "build_plan",
    "load_demo",
]
