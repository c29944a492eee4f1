"""GSM8K label audit on hand-written chains."""

from __future__ import annotations

from mathforge.augment.audit import audit_answer


def test_consistent_chain_has_no_findings():
    assert audit_answer("a", "A is 3*4 = <<3*4=12>>12.\nB is 12+1 = <<12+1=13>>13.\n#### 13") == []


def test_wrong_annotation_and_wrong_prose_and_wrong_label():
    f, g = audit_answer("a", "A is 3*4 = <<3*4=13>>13.\n#### 13")
    assert (f["reason"], f["stated"], f["computed"]) == ("annotation_wrong", 13.0, 12)
    assert (g["reason"], g["stated"], g["computed"]) == ("chain_answer_mismatch", 13.0, 12)
    f, g = audit_answer("b", "So $43 - $18 = $26 left.\n#### 26")
    assert (f["reason"], f["stated"], f["computed"]) == ("text_arithmetic_wrong", 26.0, 25)
    assert g["reason"] == "chain_answer_mismatch"
    (f,) = audit_answer("c", "A is 3*4 = <<3*4=12>>12.\n#### 14")
    assert (f["reason"], f["stated"], f["computed"]) == ("chain_answer_mismatch", 14.0, 12)
    (f,) = audit_answer("d", "A is 3*4 = <<3*4=12>>13 apples.\n#### 12")
    assert (f["reason"], f["stated"], f["computed"]) == ("text_value_mismatch", 13.0, 12.0)


def test_percent_final_and_rounding_are_not_errors():
    assert audit_answer("a", "The share is 1/4 = <<1/4=0.25>>0.25, i.e. 25%\n#### 25") == []
    assert (
        audit_answer("b", "Each gets 10/3 = <<10/3=3.33>>3.33\nSo 3.33*3 = <<3.33*3=9.99>>9.99\n#### 9.99")
        == []
    )
