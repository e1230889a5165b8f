"""Sample proofs (synthetic data) and a small sealing pipeline shared by the proof tests."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime

from exchange.proofs.document import ProofDocument, ProofTable
from exchange.proofs.qr_payload import make_proof_qr
from exchange.proofs.render import render_proof_pdf
from exchange.proofs.sealing import PdfSealer
from testkit.pki import DepartmentPki, TestPki, build_pki

DEPARTMENTS = (
    ("cs-bdc", "长沙市不动产登记中心", "12430100MB1234567X"),
    ("cs-gjj", "长沙市住房公积金管理中心", "12430100MB7654321Y"),
    ("cs-psb-yl", "长沙市公安局岳麓分局", "11430104MB0000001Q"),
)
EXTRACTED_AT = datetime(2024, 11, 21, 10, 30, 5)
ISSUED_ON = date(2024, 11, 21)
ISSUED_AT = datetime(2024, 11, 21, 2, 30, 5, tzinfo=UTC)
RARE_NAME = "王𠇔䶮"  # U+201D4 (CJK Ext B, outside the BMP) and U+4DAE (Ext A)

_COMMON_NOTES = (
    "本证明信息来源于部门业务系统，经电子证照共享平台即时提取生成。",
    "如需核验，请扫描左下角二维码，或将本文件提交至长沙市电子证照共享平台核验。",
)


def real_estate_with_property() -> ProofDocument:
    return ProofDocument(
        title="不动产登记信息查询结果证明",
        number="BDC-2024-1121-000123",
        proof_type="real_estate_record",
        holder_rows=(
            ("查询申请人", RARE_NAME),
            ("身份证号", "430102199003071234"),
            ("查询时点", "2024年11月21日10时30分"),
            ("查询范围", "长沙市内六区及长沙县、望城区、浏阳市、宁乡市"),
        ),
        body=("经查询长沙市不动产登记信息系统，截至查询时点，申请人名下不动产登记信息如下：",),
        table=ProofTable.of(
            ["序号", "权利人", "证件号", "不动产权证号", "坐落", "规划用途", "限制状态"],
            [
                [
                    "1",
                    RARE_NAME,
                    "430102199003071234",
                    "湘(2021)长沙市不动产权第0123456号",
                    "长沙市岳麓区麓谷街道枫林三路1099号麓谷林语小区桂园12栋2单元1803室",
                    "住宅",
                    "抵押",
                ],
                [
                    "2",
                    f"{RARE_NAME}、李𬱖",
                    "430102199003071234",
                    "湘(2019)长沙市不动产权第0098765号",
                    "长沙市天心区芙蓉南路二段88号地下二层B2-117",
                    "车位",
                    "无",
                ],
            ],
            col_widths=[0.5, 1.1, 2.5, 2.0, 2.8, 0.9, 0.9],
        ),
        result_text="以上为申请人名下全部不动产登记记录。",
        notes=(
            "本结果仅反映查询时点长沙市不动产登记信息系统中的登记信息。",
            "商品房预售合同备案信息不在本次查询范围内。",
        ),
        validity_note="本证明自出具之日起30日内有效。",
        extracted_by="长沙市不动产登记中心",
        produced_by="长沙市数据资源管理局",
        extracted_at=EXTRACTED_AT,
        issuer_name="长沙市不动产登记中心",
        issued_on=ISSUED_ON,
    )


def real_estate_none() -> ProofDocument:
    return ProofDocument(
        title="不动产登记信息查询结果证明",
        number="BDC-2024-1121-000124",
        proof_type="real_estate_record",
        holder_rows=(
            ("查询申请人", "张三"),
            ("身份证号", "11010519491231002X"),
            ("查询时点", "2024年11月21日10时30分"),
            ("查询范围", "长沙市全域"),
        ),
        result_text="张三名下无不动产登记记录。",
        notes=("本结果仅反映查询时点长沙市不动产登记信息系统中的登记信息。",),
        validity_note="本证明自出具之日起30日内有效。",
        extracted_by="长沙市不动产登记中心",
        produced_by="长沙市数据资源管理局",
        extracted_at=EXTRACTED_AT,
        issuer_name="长沙市不动产登记中心",
        issued_on=ISSUED_ON,
    )


def housing_fund() -> ProofDocument:
    return ProofDocument(
        title="住房公积金缴存证明",
        number="GJJ-2024-1121-004567",
        proof_type="housing_fund_deposit",
        holder_rows=(
            ("职工姓名", "阿依古丽·买买提"),
            ("身份证号", "440524188001010014"),
            ("公积金账号", "430100123456789"),
            ("单位名称", "长沙市某某软件有限公司"),
            ("开户年月", "2015年07月"),
            ("账户状态", "正常"),
            ("缴存基数", "8,600.00元"),
            ("缴存比例", "单位12% / 个人12%"),
            ("月缴存额", "2,064.00元"),
            ("缴存余额", "86,432.15元"),
            ("缴至年月", "2024年10月"),
            ("连续缴存", "2019年01月至2024年10月"),
        ),
        table=ProofTable.of(
            ["贷款次数", "累计贷款金额", "未结清余额"], [["1", "400,000.00元", "312,804.66元"]]
        ),
        result_text="该职工在本中心缴存住房公积金，情况如上。",
        notes=("本证明所载缴存信息截至提取时间。",),
        validity_note="本证明自出具之日起3个月内有效。",
        extracted_by="长沙住房公积金管理中心信息科",
        produced_by="长沙市数据资源管理局",
        extracted_at=EXTRACTED_AT,
        issuer_name="长沙市住房公积金管理中心",
        issued_on=ISSUED_ON,
    )


def household_registration() -> ProofDocument:
    return ProofDocument(
        title="户籍证明",
        number="HJ-2024-1121-000089",
        proof_type="household_registration",
        holder_rows=(
            ("姓名", "李𬱖"),
            ("性别", "男"),
            ("民族", "汉族"),
            ("出生日期", "1990年03月07日"),
            ("公民身份号码", "430102199003071234"),
            ("户籍地址", "湖南省长沙市岳麓区桐梓坡路168号金星小区7栋302室"),
            ("户口性质", "居民家庭户口"),
            ("与户主关系", "户主"),
            ("登记日期", "2008年09月01日"),
        ),
        body=("兹证明以上人员户籍登记信息属实。",),
        table=ProofTable.of(
            ["变更日期", "变更事项", "变更前", "变更后"],
            [["2016年05月12日", "住址变更", "长沙市开福区湘春路12号", "长沙市岳麓区桐梓坡路168号"]],
            col_widths=[1.2, 1.0, 2.2, 2.2],
        ),
        result_text="特此证明。",
        notes=_COMMON_NOTES,
        validity_note="本证明自出具之日起30日内有效。",
        extracted_by="长沙市公安局岳麓分局人口管理大队",
        produced_by="长沙市数据资源管理局",
        extracted_at=EXTRACTED_AT,
        issuer_name="长沙市公安局岳麓分局",
        issued_on=ISSUED_ON,
        seal_purpose="户籍证明专用章",
    )


SAMPLES = {
    "real_estate_with_property": ("cs-bdc", real_estate_with_property),
    "real_estate_none": ("cs-bdc", real_estate_none),
    "housing_fund": ("cs-gjj", housing_fund),
    "household_registration": ("cs-psb-yl", household_registration),
}


@functools.cache
def proof_pki() -> TestPki:
    return build_pki(departments=DEPARTMENTS, may_issue={d[0]: () for d in DEPARTMENTS})


@dataclass(frozen=True)
class SealedProof:
    doc: ProofDocument
    pdf: bytes
    qr_text: str
    department: DepartmentPki


def with_qr(doc: ProofDocument, dept: DepartmentPki, proof_id: str) -> ProofDocument:
    qr = make_proof_qr(
        proof_id=proof_id,
        proof_type=doc.proof_type,
        department_id=dept.id,
        issued_at=ISSUED_AT,
        canonical_data=doc.canonical_data(),
        key=dept.seal_key,
        cert=dept.seal_cert,
    )
    return doc.with_qr(qr)


@functools.cache
def _sealer(dept_id: str) -> PdfSealer:
    pki = proof_pki()
    dept = pki.departments[dept_id]
    return PdfSealer(dept.seal_key, dept.seal_cert, [pki.root_cert])


@functools.cache
def sealed(name: str) -> SealedProof:
    dept_id, factory = SAMPLES[name]
    dept = proof_pki().departments[dept_id]
    doc = with_qr(factory(), dept, proof_id=factory().number)
    pdf = _sealer(dept_id).seal(render_proof_pdf(doc))
    return SealedProof(doc=doc, pdf=pdf, qr_text=doc.qr_text, department=dept)
