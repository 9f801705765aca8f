from __future__ import annotations

import pytest

from ila.errors import InvalidEnterpriseNumber, InvalidJointCommittee, InvalidNationalNumber
from ila.identity.domain import EnterpriseNumber, JointCommittee, NationalNumber, NumberKind

# synthetic numbers: valid checksums, not real people
VALID_NISS = "85073003328"
VALID_BIS = "85473003317"  # month + 40: a BIS number


def test_niss_is_parsed_from_any_usual_format() -> None:
    nn = NationalNumber.parse("85.07.30-033.28")
    assert nn.value == VALID_NISS
    assert nn.kind is NumberKind.NISS
    assert nn.formatted() == "85.07.30-033.28"
    assert str(nn) == VALID_NISS


def test_bis_number_is_recognised() -> None:
    from stdnum.be import bis

    assert bis.is_valid(VALID_BIS)
    assert NationalNumber.parse(VALID_BIS).kind is NumberKind.BIS


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("85073003329", "checksum"),
        ("8507300332", "11 digits"),
        ("abcdefghijk", "11 digits"),
        ("", "required"),
        (None, "required"),
        (85073003328, "required"),
    ],
)
def test_invalid_national_numbers_raise_typed_error(raw: object, fragment: str) -> None:
    with pytest.raises(InvalidNationalNumber) as info:
        NationalNumber.parse(raw, field="worker")
    assert info.value.code == "invalid_national_number"
    assert info.value.field == "worker"
    assert fragment in info.value.message


def test_enterprise_number() -> None:
    en = EnterpriseNumber.parse("BE 0403.019.261")
    assert en.value == "0403019261"
    assert en.formatted() == "0403.019.261"
    assert str(en) == "0403019261"
    for bad in ("0403019262", "", None, "12"):
        with pytest.raises(InvalidEnterpriseNumber) as info:
            EnterpriseNumber.parse(bad)
        assert info.value.code == "invalid_enterprise_number"


@pytest.mark.parametrize("code", ["200", "124", "225.01", "305.02.09"])
def test_joint_committee_formats(code: str) -> None:
    assert str(JointCommittee.parse(f" {code} ")) == code


@pytest.mark.parametrize("code", ["20", "2000", "225.1", "305.02.09.01", "abc", "", None, 200])
def test_bad_joint_committee_codes(code: object) -> None:
    with pytest.raises(InvalidJointCommittee) as info:
        JointCommittee.parse(code)
    assert info.value.code == "invalid_joint_committee"


def test_joint_committee_parents_most_specific_first() -> None:
    assert JointCommittee.parse("305.02.09").parents() == ("305.02.09", "305.02", "305")
    assert JointCommittee.parse("200").parents() == ("200",)


def test_domain_error_serialisation() -> None:
    err = InvalidNationalNumber("bad", field="x", extra=1)
    assert err.as_dict() == {
        "code": "invalid_national_number",
        "message": "bad",
        "field": "x",
        "details": {"extra": 1},
    }
    assert str(err) == "[invalid_national_number] (x) bad"
    assert InvalidNationalNumber("bad").as_dict() == {
        "code": "invalid_national_number",
        "message": "bad",
    }
