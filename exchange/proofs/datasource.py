"""Where proof data comes from: the departments' systems of record, behind one small port.

The proof service reads a :class:`DataSource`; it never imports ``issuers``. A data source answers "what does
department X's system say about this person, for proof type Y" with display-ready values keyed by the
catalogue's field names (``schemas/data/proof_types/*.json``): scalar fields in ``fields``, table fields as rows
of column values in ``tables``. Laying them out on the page is :mod:`exchange.proofs.builders`' job.

Composition: :func:`install` puts a data source into ``AppContext.proof_source`` (the app factory and the CLI call
:func:`install_default`, which wires the demo adapter when the data directory holds a demo city, i.e.
``<data_dir>/demo.json``). :func:`data_source` is what services call. The demo adapter
(:class:`DemoRecordsSource`) wraps ``issuers.demo.SystemOfRecord`` regenerated from the stored seed; it imports
``issuers`` lazily, only when built, because the demo composition plays the departments too.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..kit.cntime import cn_date
from ..kit.errors import ExchangeError

if TYPE_CHECKING:
    from ..context import AppContext

DEMO_FILE = "demo.json"

__all__ = [
    "CheckResult",
    "DataSource",
    "DataSourceUnavailable",
    "DemoRecordsSource",
    "HolderData",
    "data_source",
    "install",
    "install_default",
]


class DataSourceUnavailable(ExchangeError):
    code = "DATA_SOURCE_UNAVAILABLE"


Row = Mapping[str, str]


@dataclass(frozen=True)
class HolderData:
    """One department's answer for one person and one proof type (display-ready strings).

    ``department_id``: the department whose data this is and whose seal the proof carries.
    ``extracted_by``: the unit that extracted the data (信息提取单位), e.g. a police station.
    ``findings``: facts a reviewer needs but that are not printed (e.g. ``has_record``).
    """

    proof_type: str
    department_id: str
    id_number: str
    name: str
    fields: Mapping[str, str]
    tables: Mapping[str, Sequence[Row]] = field(default_factory=dict)
    extracted_by: str = ""
    findings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    """A department's answer to a data check (部门核验): yes/no and what its system says, in short."""

    check: str
    name: str
    department_id: str
    source: str
    result: bool
    detail: str


@runtime_checkable
class DataSource(Protocol):
    """The departments' systems of record as the proof service sees them."""

    def holder_name(self, id_number: str) -> str | None:
        """The person's name on record (None: unknown person)."""

    def holder_data(self, proof_type: str, id_number: str, *, context: Mapping[str, str]) -> HolderData | None:
        """Data for ``proof_type`` about ``id_number``; None when the department holds nothing to prove.

        ``context`` carries request facts some proofs print (``purpose``, ``matter``, ``details.*``).
        """

    def department_check(self, check_key: str, id_number: str) -> CheckResult | None:
        """The department's yes/no for data check ``check_key`` about ``id_number``; None: unknown check."""


def install(ctx: AppContext, source: DataSource) -> None:
    ctx.proof_source = source


def data_source(ctx: AppContext) -> DataSource:
    source = ctx.proof_source
    if source is None:
        raise DataSourceUnavailable("no department data source is configured for proofs")
    if not isinstance(source, DataSource):
        raise DataSourceUnavailable("the configured proof data source does not implement DataSource")
    return source


_install_lock = threading.Lock()


def install_default(ctx: AppContext) -> None:
    """Composition-root helper: the demo adapter when ``<data_dir>/demo.json`` exists, else nothing."""
    with _install_lock:
        if ctx.proof_source is not None:
            return
        marker = ctx.settings.data_dir / DEMO_FILE
        if marker.exists():
            ctx.proof_source = DemoRecordsSource.from_file(marker, city=ctx.settings.city_name)


# --------------------------------------------------------------------------------------------------
# The demo adapter
# --------------------------------------------------------------------------------------------------


def _d(value: date) -> str:
    return cn_date(value)  # one date format on every proof (exchange.kit.cntime)


def _ym(value: date) -> str:
    return f"{value.year}年{value.month}月"


def _yuan(value: Decimal) -> str:
    return f"{value:,.2f}元"


class DemoRecordsSource:
    """Adapter over ``issuers.demo.SystemOfRecord`` (the synthetic departments of the demo city)."""

    def __init__(self, records: Any, *, city: str = "长沙市") -> None:
        self.records = records
        self.city = city

    @classmethod
    def from_file(cls, path: Path, *, city: str = "长沙市") -> DemoRecordsSource:
        from issuers.demo import SystemOfRecord  # the demo plays the departments: see module docstring

        spec = json.loads(path.read_text(encoding="utf-8"))
        records = SystemOfRecord.generate(seed=int(spec["seed"]), citizens=int(spec["citizens"]))
        return cls(records, city=city)

    def holder_name(self, id_number: str) -> str | None:
        c = self.records.citizen(id_number)
        return None if c is None else str(c.name)

    def holder_data(self, proof_type: str, id_number: str, *, context: Mapping[str, str]) -> HolderData | None:
        c = self.records.citizen(id_number)
        if c is None:
            return None
        handler = getattr(self, f"_{proof_type}", None)
        if handler is None:
            return self._from_register(proof_type, c)
        result: HolderData | None = handler(c, context)
        return result

    def _persona(self, c: Any) -> int | None:
        from issuers.demo import PERSONAS

        return c.index if c.index < len(PERSONAS) and PERSONAS[c.index].id_number == c.id_number else None

    def _from_register(self, proof_type: str, c: Any) -> HolderData | None:
        from issuers.demo import registers

        e = registers.proof_entry(proof_type, self._persona(c))
        if e is None:
            return None
        identity = {"name": c.name, "sex": c.sex, "id_number": c.id_number, "birth_date": _d(c.birth_date),
                    "ethnicity": c.ethnicity}
        return HolderData(proof_type=proof_type, department_id=e.department_id, id_number=c.id_number,
                          name=c.name, fields={**identity, **e.fields}, tables=e.tables,
                          extracted_by=e.extracted_by)

    def department_check(self, check_key: str, id_number: str) -> CheckResult | None:
        """部门核验: the department's yes/no for ``check_key`` about this person (None: no such check)."""
        from issuers.demo import registers

        c = self.records.citizen(id_number)
        answer = registers.check(check_key, None if c is None else self._persona(c))
        if answer is None:
            return None
        if c is None:
            return CheckResult(check_key, answer.name, answer.department_id, answer.source, False, "未查询到该人员")
        return CheckResult(check_key, answer.name, answer.department_id, answer.source, answer.result,
                           answer.detail)

    # -- one method per proof type -----------------------------------------------------------------
    def _realty_query(self, c: Any, context: Mapping[str, str]) -> HolderData:
        rows = []
        for i, p in enumerate(self.records.properties_of(c.id_number), start=1):
            holders = "、".join(name for name, _ in p.owners)
            mine = next((num for _, num in p.owners if num == c.id_number), p.holder_id_number)
            rows.append({
                "seq": str(i), "right_holder": holders, "holder_id_number": mine,
                "certificate_no": p.certificate_no, "location": p.location, "usage": p.usage,
                "restriction": "、".join(p.restrictions) or "无",
            })
        return HolderData(
            proof_type="realty_query", department_id="housing", id_number=c.id_number, name=c.name,
            fields={"applicant_name": c.name, "id_number": c.id_number},
            tables={"records": rows}, extracted_by="长沙市不动产登记中心信息科",
            findings={"count": len(rows)},
        )

    def _hpf_deposit(self, c: Any, context: Mapping[str, str]) -> HolderData | None:
        a = self.records.hpf_account_of(c.id_number)
        if a is None:
            return None
        return HolderData(
            proof_type="hpf_deposit", department_id="hpf", id_number=c.id_number, name=c.name,
            fields={
                "employee_name": a.name, "id_number": a.id_number, "account_no": a.account_no,
                "employer_name": a.employer_name, "opened_on": _ym(a.opened), "account_status": a.status,
                "base_amount": _yuan(a.base), "employer_rate": f"{a.employer_rate}%",
                "employee_rate": f"{a.personal_rate}%", "monthly_amount": _yuan(a.monthly_amount),
                "balance": _yuan(a.balance), "paid_until": _ym(a.paid_until),
                "continuous_period": f"{_ym(a.continuous_from)}至{_ym(a.continuous_to)}",
                "loan_count": f"{a.loan_count}次", "loan_total": _yuan(a.loan_total),
                "loan_outstanding": _yuan(a.loan_outstanding),
            },
            extracted_by="长沙住房公积金管理中心归集管理部",
        )

    def _household_registration(self, c: Any, context: Mapping[str, str]) -> HolderData | None:
        r = self.records.household_registration_of(c.id_number)
        if r is None:
            return None
        changes = []
        for ch in r.changes:
            before, sep, after = ch.detail.partition(" → ")
            changes.append({"changed_on": _d(ch.on), "item": ch.item,
                            "before": before if sep else "—", "after": after if sep else ch.detail})
        return HolderData(
            proof_type="household_registration", department_id="psb", id_number=r.id_number, name=r.name,
            fields={
                "name": r.name, "sex": r.sex, "ethnicity": r.ethnicity, "birth_date": _d(r.birth_date),
                "id_number": r.id_number, "household_address": r.address,
                "household_nature": r.household_nature, "relationship": r.relationship,
                "registered_on": _d(r.registered_on),
            },
            tables={"changes": changes}, extracted_by=r.police_station,
        )

    def _blood_donation_proof(self, c: Any, context: Mapping[str, str]) -> HolderData | None:
        donations = sorted(self.records.blood_donations_of(c.id_number), key=lambda d: d.donated_on)
        if not donations:
            return None
        rows = [{"donated_on": _d(d.donated_on), "donation_type": d.donation_type,
                 "volume_ml": str(d.volume_ml), "cert_no": d.cert_no} for d in donations]
        return HolderData(
            proof_type="blood_donation_proof", department_id="blood", id_number=c.id_number, name=c.name,
            fields={"name": c.name, "id_number": c.id_number,
                    "total_volume_ml": str(sum(d.volume_ml for d in donations))},
            tables={"donations": rows}, extracted_by="湖南省血液中心献血服务科",
        )

    def _gov_data_query_sheet(self, c: Any, context: Mapping[str, str]) -> HolderData:
        rec = self.records
        results: list[dict[str, str]] = []
        reg = rec.household_registration_of(c.id_number)
        results.append({"source_department": "长沙市公安局", "item": "户籍登记",
                        "result": f"户籍地址：{reg.address}（{reg.household_nature}）" if reg else "无户籍登记记录"})
        props = rec.properties_of(c.id_number)
        results.append({"source_department": "长沙市不动产登记中心", "item": "不动产登记",
                        "result": f"名下不动产{len(props)}处" if props else "名下无不动产登记记录"})
        acc = rec.hpf_account_of(c.id_number)
        results.append({"source_department": "长沙住房公积金管理中心", "item": "住房公积金缴存",
                        "result": f"账户{acc.status}，缴至{_ym(acc.paid_until)}" if acc else "无缴存记录"})
        orgs = [o for o in rec.organisations if o.legal_representative_id == c.id_number]
        results.append({"source_department": "长沙市市场监督管理局", "item": "企业法定代表人任职",
                        "result": "、".join(o.name for o in orgs) if orgs else "无任职记录"})
        marriages = rec.marriages_of(c.id_number)
        results.append({"source_department": "长沙市民政局", "item": "婚姻登记",
                        "result": f"结婚登记（{_d(marriages[-1].registered_on)}）" if marriages
                        else "无婚姻登记记录"})
        return HolderData(
            proof_type="gov_data_query_sheet", department_id="psb", id_number=c.id_number, name=c.name,
            fields={"subject_name": c.name, "id_number": c.id_number,
                    "matter": context.get("matter_name") or context.get("purpose") or "部门核验",
                    "requesting_department": context.get("requesting_department") or "—"},
            tables={"results": results}, extracted_by=f"{self.city}政务数据共享平台",
        )

    def _no_criminal_record(self, c: Any, context: Mapping[str, str]) -> HolderData | None:
        check = self.records.criminal_record_of(c.id_number)
        if check is None:
            return None
        return HolderData(
            proof_type="no_criminal_record", department_id="psb", id_number=c.id_number, name=c.name,
            fields={"name": c.name, "sex": c.sex, "id_number": c.id_number,
                    "purpose": context.get("purpose") or "—",
                    "query_result": "有犯罪记录" if check.has_record else "未发现犯罪记录"},
            extracted_by="长沙市公安局刑事侦查支队",
            findings={"has_record": check.has_record, "entries": len(check.entries)},
        )

    def _lawyer_no_penalty(self, c: Any, context: Mapping[str, str]) -> HolderData:
        # The demo justice bureau has no lawyer register: the applicant states the practice details and the
        # reviewer checks them against the bureau's own files before approving.
        cert_no = context.get("details.practice_cert_no", "")
        firm = context.get("details.law_firm", "")
        return HolderData(
            proof_type="lawyer_no_penalty", department_id="justice", id_number=c.id_number, name=c.name,
            fields={"name": c.name, "id_number": c.id_number, "practice_cert_no": cert_no or "—",
                    "law_firm": firm or "—", "query_period": "自执业之日起至出具之日",
                    "query_result": "未受到行政处罚和行业处分"},
            extracted_by="长沙市司法局律师工作处",
            findings={"stated_by_applicant": ["practice_cert_no", "law_firm"]},
        )
