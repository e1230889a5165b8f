"""Issue 13: on public pages every person on a proof is masked the same way (the applicant, a co-owner, …)."""

from __future__ import annotations

from exchange.proofs.builders import is_person_field, mask_names, masked_record


def test_person_fields_are_recognised() -> None:
    for name in ("name", "applicant_name", "subject_name", "employee_name", "right_holder", "co_owners",
                 "spouse_name", "householder"):
        assert is_person_field(name), name
    for name in ("employer_name", "school_name", "law_firm", "holder_id_number", "type_name", "account_no",
                 "location", "seq"):
        assert not is_person_field(name), name


def test_every_name_in_a_list_is_masked() -> None:
    assert mask_names("李建华、孙涛") == "李**、孙*"
    assert mask_names("欧阳娜娜, 王五") == "欧***, 王*"


def test_masked_record_masks_co_owners_like_the_applicant() -> None:
    record = {
        "holder": {"name": "李建华", "id_number": "430102197805120625"},
        "fields": [{"name": "applicant_name", "title": "查询申请人", "value": "李建华", "sensitive": False},
                   {"name": "employer_name", "title": "单位", "value": "长沙市某某公司", "sensitive": False}],
        "tables": {"records": {"title": "查询结果", "columns": [
            {"name": "right_holder", "title": "权利人", "sensitive": False},
            {"name": "holder_id_number", "title": "证件号", "sensitive": True}],
            "rows": [["李建华、孙涛", "430102197805120625"]]}},
        "result": "以上为申请人名下全部不动产登记记录。",
    }
    public = masked_record(record, mask_all=True)
    assert public["holder"]["name"] == "李**"
    assert public["fields"][0]["value"] == "李**"
    assert public["fields"][1]["value"] == "长沙市某某公司"  # an organisation is not a person
    assert public["tables"]["records"]["rows"][0] == ["李**、孙*", "4301**********0625"]
    entitled = masked_record(record, mask_all=False)  # a department's view keeps names
    assert entitled["tables"]["records"]["rows"][0][0] == "李建华、孙涛"
