"""Which devices are "managed" for licence counting (RULES.md §8, DEV-MANAGED), from an inventory CSV.

A device is managed when the customer directly or indirectly controls an OS environment on it:
domain-joined, must authenticate to use applications, runs a policy-enforced agent, has group
policy applied, or the customer claims data from / configures hardware or software tied to the
OS environment (``os_config_claims``); or it reaches VDI without Windows SA, Intune (device) or
WVDA roaming rights. A device that only reaches VDI under roaming rights, or runs Windows To Go
on a qualifying third-party device outside the organisation, and is managed for nothing else, is
not managed. Every managed device needs a licence.

CSV: a header line with ``device_id`` and every attribute column below (any order, case and
surrounding spaces ignored; ``name`` and ``notes`` may be added and are kept); values
true/false, yes/no, y/n, 1/0, はい/いいえ, or empty for false. One bad line rejects the file:
``InvalidInput`` code ``DEVICES-CSV-INVALID`` names the first bad line and lists up to 50.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInput
from .explain import Explanation, because

MANAGING = ("domain_joined", "auth_required", "policy_agent", "group_policy", "os_config_claims")
ROAMING_RIGHTS = ("windows_sa", "intune_device", "wvda_roaming")
ATTRIBUTES = (*MANAGING, "vdi_access", *ROAMING_RIGHTS, "windows_to_go_third_party")
EXTRA_COLUMNS = ("name", "notes")
ERROR_CODE = "DEVICES-CSV-INVALID"
MAX_ERRORS = 50
_TRUE = frozenset({"true", "yes", "y", "1", "はい", "○"})
_FALSE = frozenset({"false", "no", "n", "0", "いいえ", "", "×"})

_CLAUSE_EN = {
    "domain_joined": "domain-joined", "auth_required": "must authenticate to use applications",
    "policy_agent": "policy-enforced agent installed", "group_policy": "group policy applied",
    "os_config_claims": "claims data from / configures hardware or software tied to the OS environment",
    "vdi_without_roaming_rights": "accesses VDI without Windows SA, Intune (device) or WVDA roaming rights",
    "vdi_roaming_rights_only": "only accesses VDI under roaming rights",
    "windows_to_go_third_party": "runs Windows To Go on a qualifying third-party device outside the organisation",
    "no_control": "no OS environment controlled by the customer",
}
_CLAUSE_JA = {
    "domain_joined": "ドメインに参加", "auth_required": "アプリケーション使用に認証が必要",
    "policy_agent": "ポリシーにより強制されるエージェントをインストール", "group_policy": "グループ ポリシーを適用",
    "os_config_claims": "OS 環境に関連するハードウェア/ソフトウェアのデータ請求・構成・指示",
    "vdi_without_roaming_rights": "ローミング使用権なしで VDI にアクセス",
    "vdi_roaming_rights_only": "ローミング使用権に基づいてのみ VDI にアクセス",
    "windows_to_go_third_party": "社外の対象となる第三者のデバイス上で Windows To Go を利用",
    "no_control": "お客様が制御する OS 環境なし",
}


@dataclass(frozen=True)
class Device:
    device_id: str
    attributes: dict[str, bool]
    name: str = ""
    notes: str = ""
    line: int = 0


@dataclass(frozen=True)
class Classification:
    device: Device
    managed: bool
    reasons: tuple[str, ...]
    why: Explanation

    @property
    def needs_licence(self) -> bool:
        return self.managed


def classify(device: Device) -> Classification:
    """DEV-MANAGED: managed (with every clause that makes it so) or not (with the exception that applies)."""
    a = device.attributes
    reasons = [attr for attr in MANAGING if a.get(attr)]
    has_rights = any(a.get(r) for r in ROAMING_RIGHTS)
    if a.get("vdi_access") and not has_rights:
        reasons.append("vdi_without_roaming_rights")
    managed = bool(reasons)
    if not managed:
        if a.get("vdi_access"):
            reasons.append("vdi_roaming_rights_only")
        if a.get("windows_to_go_third_party"):
            reasons.append("windows_to_go_third_party")
        reasons = reasons or ["no_control"]
    verdict_en, verdict_ja = ("managed", "管理対象") if managed else ("not managed", "管理対象外")
    why = because("DEV-MANAGED", f"{verdict_en}: " + "; ".join(_CLAUSE_EN[r] for r in reasons),
                  f"{verdict_ja}: " + "、".join(_CLAUSE_JA[r] for r in reasons),
                  device_id=device.device_id, **{k: a.get(k, False) for k in ATTRIBUTES})
    return Classification(device, managed, tuple(reasons), why)


def summary(results: list[Classification]) -> dict[str, Any]:
    by_reason: dict[str, int] = {}
    for r in results:
        for reason in r.reasons:
            by_reason[reason] = by_reason.get(reason, 0) + 1
    managed = sum(1 for r in results if r.managed)
    return {"devices": len(results), "managed": managed, "not_managed": len(results) - managed,
            "licences_needed": managed, "by_reason": dict(sorted(by_reason.items())), "rule": "DEV-MANAGED"}


def _bool(value: str) -> bool | None:
    v = value.strip().lower()
    return True if v in _TRUE else False if v in _FALSE else None


def _row(row: list[str], columns: list[str], line: int, errors: list[dict[str, Any]], seen: set[str]
         ) -> Device | None:
    if len(row) != len(columns):
        errors.append({"line": line, "column": "(row)", "reason": f"{len(row)} fields, expected {len(columns)}"})
        return None
    cells = dict(zip(columns, (c.strip() for c in row), strict=True))
    attrs: dict[str, bool] = {}
    for attr in ATTRIBUTES:
        parsed = _bool(cells[attr])
        if parsed is None:
            errors.append({"line": line, "column": attr, "reason": f"not yes/no: {cells[attr]!r}"})
        attrs[attr] = bool(parsed)
    device_id = cells["device_id"]
    if not device_id or device_id in seen:
        errors.append({"line": line, "column": "device_id", "reason": "empty" if not device_id else "duplicate"})
    seen.add(device_id)
    return Device(device_id, attrs, cells.get("name", ""), cells.get("notes", ""), line)


def parse_inventory(text: str) -> list[Device]:
    """Devices from inventory CSV text (the caller reads the file); text the csv module cannot read is refused."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))  # csv reads \r, \n and \r\n itself
    try:
        return _devices(reader)
    except csv.Error as e:
        line = reader.line_num
        raise InvalidInput(f"line {line}: not readable as CSV: {e}", f"{line} 行目: CSV として読めません: {e}",
                           code=ERROR_CODE, errors=[{"line": line, "column": "(file)", "reason": str(e)}]) from None


def _devices(reader: Any) -> list[Device]:  # a csv.reader (its line_num names the lines)
    header = next(reader, None)
    if header is None:
        raise InvalidInput("the device inventory is empty", "デバイス一覧が空です", code=ERROR_CODE, errors=[])
    columns = [h.strip().lower() for h in header]
    missing = [c for c in ("device_id", *ATTRIBUTES) if c not in columns]
    unknown = [c for c in columns if c not in ("device_id", *ATTRIBUTES, *EXTRA_COLUMNS)]
    if missing or unknown:
        raise InvalidInput(f"line 1: missing columns {missing}, unknown columns {unknown}",
                           f"1 行目: 不足している列 {missing}、不明な列 {unknown}", code=ERROR_CODE,
                           errors=[{"line": 1, "column": c, "reason": "missing" if c in missing else "unknown"}
                                   for c in missing + unknown])
    devices: list[Device] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in reader:
        if any(cell.strip() for cell in row):
            device = _row(row, columns, reader.line_num, errors, seen)
            if device is not None:
                devices.append(device)
    if errors:
        first = errors[0]
        raise InvalidInput(f"line {first['line']} [{first['column']}]: {first['reason']}",
                           f"{first['line']} 行目 [{first['column']}]: {first['reason']}", code=ERROR_CODE,
                           errors=errors[:MAX_ERRORS])
    return devices
