"""One valid face (field dict) per licence type in the catalogue; usable by other tests as known-good data.

All persons, numbers and addresses are synthetic.
"""

from __future__ import annotations

import base64
from typing import Any

#: A tiny JPEG header + padding: enough for the ``contentMediaType: image/jpeg`` check.
TINY_JPEG_B64 = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x00" * 16 + b"\xff\xd9").decode()

ZHANG = {"name": "张三", "sex": "男", "birth_date": "1990-03-07", "id_number": "430102199003071234"}
LI = {"name": "李𬱖", "sex": "女", "birth_date": "1949-12-31", "id_number": "11010519491231002X"}

SAMPLE_FACES: dict[str, dict[str, Any]] = {
    "resident_id_card": {
        **ZHANG,
        "ethnicity": "汉",
        "address": "湖南省长沙市芙蓉区五一大道1号",
        "issuing_authority": "长沙市公安局芙蓉分局",
        "photo": TINY_JPEG_B64,
    },
    "household_register": {
        **ZHANG,
        "household_type": "家庭户",
        "household_no": "430102001234",
        "household_address": "湖南省长沙市芙蓉区五一大道1号",
        "head_name": "张三",
        "relationship": "户主",
        "birthplace": "湖南省长沙市",
        "ethnicity": "汉",
        "native_place": "湖南省长沙市",
        "registered_on": "2008-05-01",
    },
    "business_licence": {
        "uscc": "91350200776049653A",
        "company_name": "长沙示例科技有限公司",
        "company_type": "有限责任公司（自然人投资或控股）",
        "legal_representative": "张三",
        "business_scope": "软件开发；信息技术咨询服务。",
        "registered_capital": "100万元人民币",
        "established_on": "2015-06-18",
        "operating_until": "长期",
        "domicile": "湖南省长沙市岳麓区麓谷大道1号",
        "registration_authority": "长沙市市场监督管理局",
    },
    "driving_licence": {
        "name": "张三",
        "sex": "男",
        "birth_date": "1990-03-07",
        "nationality": "中国",
        "address": "湖南省长沙市芙蓉区五一大道1号",
        "licence_number": "430102199003071234",
        "first_issued_on": "2012-08-01",
        "vehicle_classes": "C1",
        "expires_on": "2028-08-01",
        "file_number": "430100123456",
    },
    "vehicle_licence": {
        "plate_number": "湘A12345",
        "vehicle_type": "小型轿车",
        "owner": "张三",
        "owner_id_number": "430102199003071234",
        "address": "湖南省长沙市芙蓉区五一大道1号",
        "use_character": "非营运",
        "model": "示例牌SL7000",
        "vin": "LSVAA4182E2123456",
        "engine_number": "E123456",
        "registered_on": "2019-04-01",
        "certificate_issued_on": "2019-04-01",
    },
    "realty_certificate": {
        "certificate_no": "湘（2023）长沙市不动产权第0123456号",
        "right_holder": "张三",
        "right_holder_id_number": "430102199003071234",
        "co_ownership": "单独所有",
        "location": "长沙市芙蓉区示例路8号示例小区3栋1单元1201",
        "unit_number": "430102001001GB00012F00010001",
        "right_type": "国有建设用地使用权/房屋所有权",
        "right_nature": "出让/市场化商品房",
        "usage": "城镇住宅用地/住宅",
        "area": "共有宗地面积：12000.00㎡/房屋建筑面积：89.50㎡",
        "term": "2010年01月01日起2080年12月31日止",
        "registered_on": "2023-02-01",
    },
    "marriage_certificate": {
        **ZHANG,
        "cert_no": "J430102-2020-001234",
        "nationality": "中国",
        "spouse_name": "李𬱖",
        "spouse_sex": "女",
        "spouse_nationality": "中国",
        "spouse_birth_date": "1949-12-31",
        "spouse_id_number": "11010519491231002X",
        "registered_on": "2020-05-20",
        "registration_authority": "长沙市芙蓉区民政局",
    },
    "teacher_qualification": {
        **ZHANG,
        "cert_no": "20184300141012345",
        "qualification_type": "高级中学教师资格",
        "subject": "数学",
        "recognised_on": "2018-06-30",
        "recognising_authority": "长沙市教育局",
    },
    "diploma": {
        **ZHANG,
        "cert_no": "105331201205001234",
        "school": "湖南示例大学",
        "major": "数学与应用数学",
        "education_level": "本科",
        "study_form": "普通全日制",
        "entered_on": "2008-09-01",
        "graduated_on": "2012-06-30",
        "graduation_status": "毕业",
    },
    "blood_donation": {
        "name": "李𬱖",
        "sex": "女",
        "id_number": "11010519491231002X",
        "cert_no": "4301202400012345",
        "blood_type": "O",
        "rh": "阳性",
        "donation_type": "全血",
        "volume_ml": 400,
        "donated_on": "2024-06-14",
        "donation_site": "长沙市五一广场献血屋",
    },
    "social_security_card": {
        "card_no": "A12345678",
        "social_security_number": "430102199003071234",
        "name": "张三",
        "sex": "男",
        "card_issued_on": "2020-01-10",
        "bank": "中国工商银行长沙分行",
    },
    "birth_certificate": {
        "cert_no": "U430012345",
        "newborn_name": "张小𠇔",
        "newborn_sex": "男",
        "birth_date": "2024-03-01",
        "birth_time": "08:30",
        "gestational_weeks": 39,
        "birth_weight_g": 3300,
        "birth_length_cm": 50,
        "birthplace": "湖南省长沙市开福区",
        "delivery_institution": "长沙市示例妇幼保健院",
        "mother_name": "李𬱖",
        "mother_nationality": "中国",
        "mother_ethnicity": "汉",
        "mother_id_number": "11010519491231002X",
        "father_name": "张三",
        "father_id_number": "430102199003071234",
        "issuing_institution": "长沙市示例妇幼保健院",
    },
    "residence_permit": {
        **ZHANG,
        "ethnicity": "汉",
        "residence_address": "湖南省长沙市雨花区示例路2号",
        "permit_no": "430111202400001",
        "issuing_authority": "长沙市公安局雨花分局",
    },
}


def _catalogue_made() -> dict[str, dict[str, Any]]:
    """The types the demo makes from the catalogue's ``examples`` (issuers/demo): one face each, for 张三 or
    a synthetic company."""
    from datetime import date

    from issuers.demo import RECORD_TYPES
    from issuers.demo.catalogue_licences import face_fields, org_identity, person_identity
    from schemas.catalogue import load_catalogue

    out: dict[str, dict[str, Any]] = {}
    for key, lt in load_catalogue().licence_types.items():
        if key in RECORD_TYPES:
            continue
        if lt.holder_kind == "person":
            ident = person_identity(lt, id_number=ZHANG["id_number"], name=ZHANG["name"], sex=ZHANG["sex"],
                                    birth=date(1990, 3, 7), ethnicity="汉族")
        else:
            ident = org_identity(lt, uscc="91350200776049653A", name="示例科技有限公司", legal_representative="张三",
                                 legal_representative_id=ZHANG["id_number"])
        out[key] = face_fields(lt, ident)
    return out


SAMPLE_FACES.update(_catalogue_made())
